"""Adding a folder in Settings and syncing it with "Sync now"."""

import pytest

from ui import UP_TO_DATE


def make_files(root, n):
    (root / "sub").mkdir(parents=True)
    names = []
    for i in range(n):
        rel = f"sub/file-{i}.txt" if i % 2 else f"file-{i}.txt"
        (root / rel).write_text(f"content of file {i}\n" * (i + 1))
        names.append(rel)
    return names


def test_add_folder_then_sync_now_uploads_every_file(app, sandbox):
    folder = sandbox.root / "photos"
    files = make_files(folder, 7)

    app.add_folder("photos", folder, cloud_name="photos")
    app.screenshot("settings")

    app.open_tab("Overview")
    app.wait(lambda: app.card("photos"), 10, "no card for the new folder")
    assert app.card_fact("photos", "Path") == str(folder)
    assert app.card_fact("photos", "Last sync") == "Never"

    samples = app.sync_now("photos")
    # The card showed the upload going all the way: every file, a full bar.
    n = len(files)
    assert any(s["value"] == 100 and f"Uploading {n} of {n} items" in s["line"] for s in samples), samples
    assert app.card_state("photos") == UP_TO_DATE
    assert app.card_fact("photos", "Last sync") == "Just now"
    app.screenshot("overview")

    app.open_tab("History")
    job = app.newest_job("photos")
    app.screenshot("history")
    assert job["Type"] == "Sync"
    assert job["Trigger"] == "Manual"
    assert job["Uploaded"] == str(len(files))
    assert job["Downloaded"] == "0"
    assert job["Deleted"] == "0"
    assert job["Conflicts"] == "0"


def test_a_second_folder_on_the_default_repository_needs_no_setup(app, sandbox):
    folder = sandbox.root / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")
    # "Default local repository (no setup needed)" and no cloud name: what the form suggests.
    app.add_folder("docs", folder, expect_added=False)
    form = app.region("Add a folder", app.view("Settings"))
    app.wait(lambda: app.find_all(".//*[@role='status' or @role='alert']", form), 15, "no answer")
    app.screenshot("settings-default-repository")
    assert not app.find_all(".//*[@role='alert']", form), app.text(app.find(".//*[@role='alert']", form))
    app.open_tab("Overview")
    app.sync_now("docs")


def test_a_new_folder_shows_up_in_views_opened_before(app, sandbox):
    """Views stay mounted once opened: they must learn about a folder added afterwards."""
    for tab in ("History", "Danger zone", "Snapshots & trash"):
        app.open_tab(tab)
    folder = sandbox.root / "later"
    folder.mkdir()
    app.add_folder("later", folder, cloud_name="later")

    missing = {}
    for tab, label in (("History", "Folder"), ("Danger zone", "Folder"), ("Snapshots & trash", "Folder")):
        app.open_tab(tab)
        select = app.field(label, app.view(tab))
        options = [app.text(o) for o in app.find_all("./option", select)]
        if "later" not in options:
            missing[tab] = options
    assert not missing, f"the new folder is missing from the folder choice of: {missing}"
