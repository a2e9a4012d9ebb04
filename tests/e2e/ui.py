"""What a user sees and does in the app, in terms of the UI's accessible names and roles:
tabs by their label, buttons by their text or aria-label, fields by their <label>, cards by
their heading, tables by their caption. Waits are WebDriverWait on conditions."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

from selenium.common.exceptions import (
    JavascriptException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

T = TypeVar("T")

# Figures measured by the tests, printed at the end of the run (conftest) and saved.
FIGURES: dict[str, str] = {}

# Labels of the English UI (ui/src/lib/i18n/en.ts).
UP_TO_DATE = "Up to date"
SYNCING = "Syncing"


def xq(text: str) -> str:
    """An XPath string literal for any text (quotes included)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in parts) + ")"


class App:
    def __init__(self, driver: WebDriver, sandbox, name: str, artifacts: Path) -> None:
        self.d = driver
        self.sandbox = sandbox
        self.name = name
        self.artifacts = artifacts

    # --- waiting ---------------------------------------------------------------------------

    def wait(self, cond: Callable[[], T], timeout: float = 30, message: str = "") -> T:
        """Polls cond() until it returns something truthy (DOM lookups that fail or go stale
        in the meantime count as "not yet")."""
        return WebDriverWait(
            self.d, timeout, poll_frequency=0.1,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        ).until(lambda _d: cond(), message)

    # --- finding things --------------------------------------------------------------------

    def find(self, xpath: str, within: WebElement | None = None) -> WebElement:
        return (within or self.d).find_element(By.XPATH, xpath)

    def find_all(self, xpath: str, within: WebElement | None = None) -> list[WebElement]:
        return (within or self.d).find_elements(By.XPATH, xpath)

    def view(self, title: str) -> WebElement:
        """The view (a section of <main>) whose heading is `title`."""
        return self.find(f"//main//section[@aria-labelledby][header/h2[normalize-space()={xq(title)}]]")

    def button(self, name: str, within: WebElement | None = None) -> WebElement:
        """A button by its accessible name: aria-label, else its text."""
        return self.find(
            f".//button[@aria-label={xq(name)} or (not(@aria-label) and normalize-space()={xq(name)})]",
            within)

    def field(self, label: str, within: WebElement | None = None) -> WebElement:
        """The form control labelled `label` (<label for=…>)."""
        lab = self.find(f".//label[normalize-space()={xq(label)}]", within)
        return self.d.find_element(By.ID, lab.get_attribute("for"))

    def region(self, heading: str, within: WebElement | None = None) -> WebElement:
        """A section/article/li labelled by a heading with this text."""
        return self.find(
            f".//*[@aria-labelledby][./*[self::h2 or self::h3 or self::h4][normalize-space()={xq(heading)}]"
            f" or ./div/*[self::h3 or self::h4][normalize-space()={xq(heading)}]]",
            within)

    def table(self, caption: str, within: WebElement | None = None) -> WebElement:
        return self.find(f".//table[caption[normalize-space()={xq(caption)}]]", within)

    def rows(self, table: WebElement) -> list[dict[str, str]]:
        """The body rows of a table as {column header: cell text}."""
        heads = [h.get_attribute("textContent").strip() for h in self.find_all("./thead/tr/th", table)]
        out = []
        for tr in self.find_all("./tbody/tr", table):
            cells = [c.get_attribute("textContent").strip() for c in self.find_all("./td", tr)]
            row = dict(zip(heads, cells))
            row["_testid"] = tr.get_attribute("data-testid") or ""
            out.append(row)
        return out

    def text(self, el: WebElement) -> str:
        return (el.get_attribute("textContent") or "").strip()

    # --- navigation ------------------------------------------------------------------------

    def open_tab(self, label: str) -> None:
        tab = self.find(f"//nav[@aria-label='Sections']//button[normalize-space()={xq(label)}]")
        tab.click()
        self.wait(lambda: tab.get_attribute("aria-current") == "page", 10, f"tab {label} not current")

    def screenshot(self, what: str) -> Path:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{self.name}--{what}.png"
        self.d.get_screenshot_as_file(str(path))
        return path

    # --- the Overview ----------------------------------------------------------------------

    def card(self, folder: str) -> WebElement:
        return self.find(f"//ul[@aria-label='Folders']/li[.//h3[normalize-space()={xq(folder)}]]")

    def card_state(self, folder: str) -> str:
        return self.text(self.find(".//*[@data-testid=" + xq(f"state-{folder}") + "]", self.card(folder)))

    def card_fact(self, folder: str, term: str) -> str:
        return self.text(self.find(f".//dl/div[dt[normalize-space()={xq(term)}]]/dd", self.card(folder)))

    def wait_up_to_date(self, folder: str, timeout: float = 60) -> None:
        """The card says Up to date, has synced at least once, and shows no progress."""
        def ok() -> bool:
            card = self.card(folder)
            return (self.card_state(folder) == UP_TO_DATE
                    and self.card_fact(folder, "Last sync") != "Never"
                    and not self.find_all(".//progress", card))
        self.wait(ok, timeout, f"folder {folder} did not become up to date")

    def wait_first_run(self) -> None:
        """The UI is up and the start-up sync of the sample folder is done."""
        self.wait(lambda: self.find("//h1[normalize-space()='Syncdesk']"), 30, "UI did not load")
        self.wait_up_to_date("Syncdesk", 60)

    def sync_now(self, folder: str, timeout: float = 60) -> list[dict]:
        """Clicks the card's "Sync now" and waits until the card showed the sync's progress
        and is back to Up to date. Returns what the progress block showed, in order."""
        btn = self.button(f"Sync now: {folder}", self.card(folder))
        self.wait(lambda: btn.is_enabled(), 30, f"Sync now of {folder} stays disabled")
        record_progress(self, folder)
        btn.click()
        self.wait(lambda: recorded_progress(self, folder), timeout, f"{folder}: no progress shown")
        self.wait_up_to_date(folder, timeout)
        return recorded_progress(self, folder)

    # --- Settings --------------------------------------------------------------------------

    def add_folder(self, name: str, path: Path, remote: Path | None = None,
                   cloud_name: str | None = None, expect_added: bool = True) -> None:
        self.open_tab("Settings")
        view = self.view("Settings")
        form = self.region("Add a folder", view)
        self.field("Name", form).send_keys(name)
        self.field("Local folder", form).send_keys(str(path))
        if remote is not None:
            self.find(".//label[normalize-space()='Local directory or network drive']", form).click()
            self.wait(lambda: self.field("Repository directory", form), 5)
            self.field("Repository directory", form).send_keys(str(remote))
            if cloud_name is not None:
                self.field("Cloud name (optional)", form).send_keys(cloud_name)
        else:
            # On the default repository every folder is stored under its own name.
            assert cloud_name in (None, name), "the default repository names repositories after folders"
        self.button("Add folder", form).click()
        if not expect_added:
            return
        self.wait(lambda: self.find(f".//*[@role='status'][normalize-space()={xq(f'Folder “{name}” was added.')}]", form),
                  30, f"folder {name} was not added")

    def set_sync_mode(self, folder: str, mode_label: str) -> None:
        """In Settings: the folder's Sync mode, then Save (waits for "Saved.")."""
        self.open_tab("Settings")
        card = self.find(f"//article[.//h4[normalize-space()={xq(folder)}]]", self.view("Settings"))
        Select(self.field("Sync mode", card)).select_by_visible_text(mode_label)
        self.button("Save", card).click()
        self.wait(lambda: self.find(".//*[@role='status'][normalize-space()='Saved.']", card), 15,
                  f"settings of {folder} were not saved")

    # --- History ---------------------------------------------------------------------------

    def jobs(self) -> list[dict[str, str]]:
        """The History table's rows, newest first, as {column: text}."""
        view = self.view("History")
        return self.rows(self.table("Sync jobs, newest first", view))

    def newest_job(self, folder: str, status: str = "Succeeded", job_type: str | None = None,
                   trigger: str = "Manual", timeout: float = 15) -> dict[str, str]:
        """Waits until the newest job of the folder in History started this way (by default:
        by the user) has this status (and type); returns its row."""
        def found():
            rows = [r for r in self.jobs() if r["Folder"] == folder and r["Trigger"] == trigger]
            if rows and rows[0]["Status"] == status and job_type in (None, rows[0]["Type"]):
                return rows[0]
            return None
        return self.wait(found, timeout,
                         f"newest {trigger} job of {folder} is not {job_type or ''} {status}")

    def open_job(self, row: dict[str, str]) -> WebElement:
        """Opens the detail of a History row; returns the detail section once loaded."""
        view = self.view("History")
        job_id = row["_testid"].removeprefix("job-")
        self.button(f"Details of job {job_id}", view).click()
        detail = self.region(f"Job {job_id}", view)
        self.wait(lambda: not self.find_all(".//*[@role='status'][normalize-space()='Loading…']", detail),
                  15, "job detail did not load")
        return detail

    def log_lines(self, detail: WebElement) -> list[str]:
        return [self.text(li) for li in self.find_all(".//ol[@aria-label='Log']/li", detail)]

    # --- the page itself -------------------------------------------------------------------

    def js(self, script: str, *args):
        try:
            return self.d.execute_script(script, *args)
        except JavascriptException as e:  # keep the script's message, not just selenium's
            raise AssertionError(f"script failed: {e.msg}") from e

    def js_async(self, script: str, *args):
        return self.d.execute_async_script(script, *args)


# Records what the progress block of a folder card shows, on every DOM change of the card,
# from before "Sync now" until the test reads it back: the user-visible course of a sync.
_RECORD_PROGRESS = r"""
const [card, key] = arguments;
const seen = [];
window.__progress = window.__progress || {};
window.__progress[key] = seen;
const read = () => {
  const block = card.querySelector('[data-testid^="progress-"]');
  if (!block) return;
  const bar = block.querySelector('progress');
  const line = block.querySelector('.progress-line');
  const sample = { value: bar ? Number(bar.value) : null, line: line ? line.textContent.trim() : '' };
  const last = seen[seen.length - 1];
  if (!last || last.value !== sample.value || last.line !== sample.line) seen.push(sample);
};
new MutationObserver(read).observe(card, { subtree: true, childList: true, attributes: true, characterData: true });
"""


def record_progress(app: App, folder: str) -> None:
    app.js(_RECORD_PROGRESS, app.card(folder), folder)


def recorded_progress(app: App, folder: str) -> list[dict]:
    return app.js("return (window.__progress || {})[arguments[0]] || [];", folder)
