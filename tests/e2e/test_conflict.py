"""Two devices edit the same file: the app keeps both versions and says so."""

import re

from ui import UP_TO_DATE


def test_both_devices_edit_the_same_file(app, sandbox):
    repo = sandbox.root / "repo"
    here = sandbox.root / "shared-app"
    here.mkdir()
    (here / "doc.txt").write_text("first version\n")
    (here / "other.txt").write_text("untouched\n")

    app.add_folder("shared", here, remote=repo)
    # Manual: the test decides when the app syncs (no sync on file change in between).
    app.set_sync_mode("shared", "Manual")
    app.open_tab("Overview")
    app.sync_now("shared")

    # The second device: the CLI with state of its own, on the same repository.
    other_state = sandbox.root / "other-device-state"
    there = sandbox.root / "shared-cli"
    sandbox.cli("folder", "add", "shared", str(there), "--remote", str(repo), state_dir=other_state)
    sandbox.cli("sync", "--folder", "shared", state_dir=other_state)
    assert (there / "doc.txt").read_text() == "first version\n"

    (here / "doc.txt").write_text("edited in the app\n")
    (there / "doc.txt").write_text("edited on the other device\n")
    sandbox.cli("sync", "--folder", "shared", state_dir=other_state)

    app.sync_now("shared")
    assert app.card_state("shared") == UP_TO_DATE

    copies = sorted(p.name for p in here.glob("doc.sync-conflict-*.txt"))
    assert len(copies) == 1, f"expected one conflict copy, found {sorted(p.name for p in here.iterdir())}"
    assert re.fullmatch(r"doc\.sync-conflict-\d{8}-\d{6}-[0-9a-z]+\.txt", copies[0])
    versions = {(here / "doc.txt").read_text(), (here / copies[0]).read_text()}
    assert versions == {"edited in the app\n", "edited on the other device\n"}, "a version was lost"
    assert (here / "other.txt").read_text() == "untouched\n"

    app.open_tab("History")
    job = app.newest_job("shared")
    assert job["Conflicts"] == "1"
    detail = app.open_job(job)
    app.screenshot("history-conflict")
    log = app.log_lines(detail)
    assert any("conflict on doc.txt" in line and copies[0] in line for line in log), log
