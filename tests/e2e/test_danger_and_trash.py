"""Force pull in the Danger zone, then getting the replaced file back from the trash.

The two tests share one app, in this order: the trash test restores what the force pull
replaced."""

import pytest
from selenium.webdriver.support.ui import Select

from ui import xq

LOCAL = "my unsynced local edit\n"
REMOTE = "the version on the remote\n"


@pytest.fixture(scope="class")
def notes(class_app):
    """A folder "notes" whose notes.txt differs here (a local edit) and on the remote (where
    another device put a newer version)."""
    app, sb = class_app, class_app.sandbox
    repo = sb.root / "repo"
    here = sb.root / "notes"
    here.mkdir()
    (here / "notes.txt").write_text("first version\n")
    (here / "keep.txt").write_text("same on both sides\n")
    app.add_folder("notes", here, remote=repo)
    app.set_sync_mode("notes", "Manual")
    app.open_tab("Overview")
    app.sync_now("notes")

    other_state, there = sb.root / "other-device-state", sb.root / "notes-cli"
    sb.cli("folder", "add", "notes", str(there), "--remote", str(repo), state_dir=other_state)
    sb.cli("sync", "--folder", "notes", state_dir=other_state)
    (there / "notes.txt").write_text(REMOTE)
    sb.cli("sync", "--folder", "notes", state_dir=other_state)

    (here / "notes.txt").write_text(LOCAL)
    return here


class TestForcePullThenTrash:
    pulled = False

    def test_force_pull_previews_then_replaces_the_local_file(self, class_app, notes):
        app = class_app
        app.open_tab("Danger zone")
        view = app.view("Danger zone")
        Select(app.field("Folder", view)).select_by_visible_text("notes")
        app.find(".//label[normalize-space()='Force pull']", view).click()
        app.button("Preview changes", view).click()

        preview = app.wait(lambda: app.region("Force pull of notes: what would change", view), 30,
                           "no preview")
        replaced = [app.text(li) for li in app.find_all(".//ul[@aria-label='Replace locally']/li", preview)]
        assert replaced == ["notes.txt"]
        def count(key):
            return app.text(app.find(f".//*[@data-testid='count-{key}']", preview))
        assert count("replace") == "Replace locally 1"
        assert count("deleteLocal") == "Delete locally 0"
        assert count("upload") == "Upload 0"
        app.screenshot("danger-preview")

        # Nothing happens before confirming.
        assert (notes / "notes.txt").read_text() == LOCAL
        assert not list((notes / ".syncdesk").glob("trash/*/**/notes.txt"))
        run = app.button("Force pull now", preview)
        assert not run.is_enabled(), "the force pull must wait for the typed confirmation"
        app.field("To confirm, type the folder name “notes”", preview).send_keys("notes")
        app.wait(lambda: run.is_enabled(), 5, "typing the name did not enable the button")
        assert (notes / "notes.txt").read_text() == LOCAL
        run.click()

        app.wait(lambda: app.find(".//*[@role='status'][starts-with(normalize-space(), 'Force pull of notes started')]", view),
                 30, "no confirmation that the force pull started")
        app.wait(lambda: (notes / "notes.txt").read_text() == REMOTE, 60,
                 "the local file did not become the remote's version")
        app.open_tab("Overview")
        app.wait_up_to_date("notes")
        app.open_tab("History")
        job = app.newest_job("notes", job_type="Force pull")
        assert job["Downloaded"] == "1"
        assert (notes / "keep.txt").read_text() == "same on both sides\n"
        type(self).pulled = True

    def test_restore_the_replaced_file_from_the_trash(self, class_app, notes):
        if not self.pulled:
            pytest.skip("needs the force pull of the previous test")
        app = class_app
        app.open_tab("Snapshots & trash")
        view = app.view("Snapshots & trash")
        Select(app.field("Folder", view)).select_by_visible_text("notes")
        trash = app.wait(lambda: app.table("Trash", view), 15, "no trash table")
        rows = app.rows(trash)
        assert [r["File"] for r in rows] == ["notes.txt"]
        app.screenshot("trash")
        current = notes / "notes.txt"

        # Restoring never overwrites: while the pulled version is in place, the app says so
        # and leaves both files alone.
        app.button("Restore notes.txt", trash).click()
        alert = app.wait(lambda: app.find(".//*[@role='alert']", view), 15, "no answer to Restore")
        assert "already exists; move it away first" in app.text(alert)
        assert current.read_text() == REMOTE
        assert [r["File"] for r in app.rows(app.table("Trash", view))] == ["notes.txt"]

        # The user moves the pulled version aside, then restores the replaced one.
        current.rename(notes / "notes (from the remote).txt")
        app.button("Restore notes.txt", app.table("Trash", view)).click()
        app.wait(lambda: app.find(f".//*[@role='status'][normalize-space()={xq(f'Restored to {current}.')}]", view),
                 15, "no confirmation of the restore")
        assert current.read_text() == LOCAL
        assert (notes / "notes (from the remote).txt").read_text() == REMOTE
        app.wait(lambda: app.find(".//p[normalize-space()='The trash is empty.']", app.region("Trash", view)), 5,
                 "the restored file is still listed in the trash")
        app.screenshot("trash-restored")
