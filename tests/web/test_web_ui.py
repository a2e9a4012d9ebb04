"""The web UI in a browser, against a real `syncdesk-cli serve`: signing in with the token of
the address or the sign-in form, a sync started from the Overview with its live progress coming
over the WebSocket, and the job it leaves in History."""

from __future__ import annotations

import json
import os

FILES = int(os.environ.get("SYNCDESK_WEB_FILES", "2000"))
SYNC_TIMEOUT = 180

BRAND = "//h1[normalize-space()='Syncdesk']"
SIGN_IN = "//main[contains(@class,'signin')]//h1[normalize-space()='Sign in to Syncdesk']"


def test_sync_from_the_browser_with_live_progress(serve, browser):
    server = serve(files=FILES)
    b = browser

    # The address `serve` prints: the token travels in the fragment, never to the server.
    b.open(f"{server.url}#token={server.token}")
    b.wait(lambda: b.find(BRAND), 30, "the UI did not load")
    # It is taken out of the address bar (and history) at once, and kept in local storage.
    b.wait(lambda: "token" not in b.url(), 10, f"the token stays in the address: {b.url()}")
    assert server.token not in b.url()
    assert b.url() == server.url
    assert b.stored_token() == server.token

    # The Overview lists the folder, never synced.
    b.wait(lambda: b.card("docs"), 30, "the Overview does not list docs")
    assert b.card_fact("docs", "Last sync") == "Never"
    assert b.card_fact("docs", "Path") == str(server.sandbox.root / "docs")
    b.screenshot("overview")

    # Events reach the page over /ws: wait until it is connected, so none of the sync's is lost.
    b.wait(b.events_socket_open, 30, "the page did not connect to /ws")
    ws_url = next(u for r, u in b.sockets.items() if r in b.open_sockets and "/ws" in u)
    assert ws_url.startswith(server.url.replace("http://", "ws://").rstrip("/") + "/ws")

    # Sync now: the card shows the sync's progress as it goes and ends up to date.
    samples = b.sync_now("docs", timeout=SYNC_TIMEOUT)
    b.screenshot("overview-synced")
    frames = [f["data"] for f in b.websocket_frames() if "/ws" in f["url"]]

    # What came over the WebSocket: the sync's begin, its progress and its end.
    sync_events = [f["payload"] for f in frames
                   if f.get("event", "").startswith("sync") and f["payload"].get("folder") == "docs"]
    names = [e["name"] for e in sync_events]
    assert "syncBegin" in names, f"no syncBegin over /ws: {names}"
    job_id = sync_events[names.index("syncBegin")]["jobId"]
    mine = [e for e in sync_events if e["jobId"] == job_id]
    progress = [e for e in mine if e["name"] == "syncProgress"]
    assert progress, f"no syncProgress of job {job_id} over /ws: {names}"
    assert len({(e["phase"], e["current"], e["total"]) for e in progress}) >= 2, \
        f"the progress over /ws never changed: {progress}"
    ends = [e for e in mine if e["name"] == "syncEnd"]
    assert [e["status"] for e in ends] == ["succeeded"], f"job {job_id} ended: {ends}"
    assert any(f.get("event") == "jobChanged" and f["payload"]["id"] == job_id
               and f["payload"]["status"] == "succeeded" for f in frames), \
        "no jobChanged of the finished job over /ws"

    # Kept for the reader: what the card showed, and the progress events, in order.
    (b.artifacts / f"{b.name}--progress.json").write_text(json.dumps(
        {"card": samples, "events": [[e["name"], e["phase"], e["current"], e["total"]] for e in mine]},
        indent=1))

    # What the card showed while it ran: its phase and counts changed as the events came in.
    lines = [s["line"] for s in samples]
    assert len(set(lines)) >= 2, f"the progress shown never changed: {samples}"
    assert any(not line.startswith("Preparing") for line in lines), \
        f"the card never showed a phase past Preparing: {samples}"
    assert any(s["value"] and s["value"] > 0 for s in samples), \
        f"the progress bar never moved: {samples}"
    # Back to idle, with a last sync time.
    assert b.card_state("docs") == "Up to date"
    assert b.card_fact("docs", "Last sync") != "Never"

    # History lists the job: started through the HTTP API (performSync), so its trigger is API.
    b.open_tab("History")
    row = b.newest_job("docs", status="Succeeded", trigger="API", timeout=30)
    assert row["_testid"] == f"job-{job_id}"
    assert row["Folder"] == "docs"
    assert row["Type"] == "Sync"
    assert row["Uploaded"].replace(",", "") == str(FILES)
    b.screenshot("history")

    # The same job, as the API has it.
    job = server.api("GET", f"/api/sync/jobs/{job_id}")
    assert (job["trigger_type"], job["status"], job["folder"]) == ("api", "succeeded", "docs")
    assert job["stats"]["files_uploaded"] == FILES
    assert job["metadata"]["app"] == "syncdesk-desktop"


def test_a_wrong_token_leads_to_sign_in(serve, browser):
    server = serve(files=5)
    b = browser
    wrong = "sdt_" + "0" * 64

    # A token the server does not know, in the address: the sign-in view, saying so.
    b.open(f"{server.url}#token={wrong}")
    b.wait(lambda: b.find(SIGN_IN), 30, "a wrong token did not lead to the sign-in view")
    b.wait(lambda: b.find("//*[@role='status'][normalize-space()="
                          "'Your token is no longer accepted. Sign in again.']"), 10,
           "the sign-in view does not say the token was refused")
    assert "token" not in b.url()
    assert b.stored_token() is None, "a refused token must not be kept"
    assert not b.find_all(BRAND)
    b.screenshot("sign-in-refused")

    # Signing in with another wrong token: refused, and still the sign-in view.
    form = b.find("//form[@aria-labelledby='signin-title']")
    b.field("API token", form).send_keys("sdt_" + "1" * 64)
    b.button("Sign in", form).click()
    alert = b.wait(lambda: b.find(".//*[@role='alert'][@data-code='unauthorized']", form), 15,
                   "a wrong token in the form was not refused")
    assert alert.is_displayed()
    assert b.stored_token() is None
    b.screenshot("sign-in-wrong-token")

    # The right one: signed in, the Overview with the folder, and the token kept.
    token_field = b.field("API token", form)
    token_field.clear()
    token_field.send_keys(server.token)
    b.button("Sign in", form).click()
    b.wait(lambda: b.find(BRAND), 15, "signing in with the right token failed")
    b.wait(lambda: b.card("docs"), 15, "the Overview does not list docs after sign-in")
    assert not b.find_all(SIGN_IN)
    assert b.stored_token() == server.token
    b.wait(b.events_socket_open, 30, "the page did not connect to /ws after sign-in")
    b.screenshot("signed-in")

    # A reload keeps the session: the token comes from local storage.
    b.d.refresh()
    b.wait(lambda: b.card("docs"), 30, "signed out by a reload")
    assert not b.find_all(SIGN_IN)
