"""First run: the sample folder the app creates and syncs on its own."""

from ui import UP_TO_DATE


def test_first_run_shows_the_sample_folder_up_to_date(app, sandbox):
    app.open_tab("Overview")
    assert app.card_state("Syncdesk") == UP_TO_DATE
    assert app.card_fact("Syncdesk", "Path") == str(sandbox.sample_folder)
    assert app.card_fact("Syncdesk", "Last sync") == "Just now"
    app.screenshot("overview")

    welcome = sandbox.sample_folder / "Welcome.txt"
    assert welcome.is_file()
    assert welcome.read_text().startswith("Welcome to Syncdesk!")
    # Synced for real: the repository holds a snapshot of it.
    assert (sandbox.default_remote / "main" / "snapshots").is_dir()
