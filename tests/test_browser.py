"""The main flow in a real headless Chromium against `streamlit run app.py`: the app opens,
a message typed into the chat streams a reply from the scripted model, and the reply is
persisted. Skipped where Chromium and chromedriver are not installed (scripts/install.sh
installs them on Debian)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.scripted_openai import text, usage

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium/chromedriver not installed")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def app_server(scripted, data_dir):
    """`streamlit run app.py` on loopback, on the same data dir as the test's services."""
    port = _free_port()
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(data_dir), "WORKBENCH_RETRY_BACKOFF_S": "0.01"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + proc.stdout.read().decode()[-2000:])
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (seconds to start); each test opens its own app
    server, so no page or session carries over."""
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--window-size=1400,1000", f"--user-data-dir={tempfile.mkdtemp()}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def _wait_for(driver, predicate, timeout=45, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - the page is still rendering
            pass
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}; page text: {driver.find_element('tag name', 'body').text[-1500:]}")


def test_chat_in_a_real_browser(scripted, app_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from workbench import list_threads, get_thread_messages

    scripted.make_agent(name="A browser agent")  # sorts first, so the chat page picks it
    scripted.server.script(text("Hello from the scripted model, streamed to a browser.",
                                usage=usage(20, 12), delay=0.01))
    browser.get(app_server + "/chat")
    _wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']"),
              what="the chat input")
    box = browser.find_element(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']")
    box.send_keys("Hello from a real browser")
    box.send_keys(Keys.ENTER)
    _wait_for(browser, lambda: "streamed to a browser" in browser.find_element(By.TAG_NAME, "body").text,
              what="the streamed reply")
    threads = list_threads(scripted.person_id, scripted.group_id)
    assert threads and threads[0].title == "Hello from a real browser"
    page = get_thread_messages(threads[0].id, actor_id=scripted.person_id)
    assert [m.content for m in page.messages] == ["Hello from a real browser",
                                                  "Hello from the scripted model, streamed to a browser."]
    browser.save_screenshot(str(Path(tempfile.gettempdir()) / "workbench-chat.png"))


def test_upload_files_in_a_real_browser(scripted, app_server, browser, tmp_path):
    """AppTest cannot drive st.file_uploader: upload a good and a bad file for real."""
    from selenium.webdriver.common.by import By

    from workbench import knowledge

    good = tmp_path / "returns.md"
    good.write_text("# Returns\n\nItems can be returned within 30 days of delivery for a full refund.\n")
    bad = tmp_path / "empty.txt"
    bad.write_text("")
    browser.get(app_server + "/Knowledge")
    _wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "input[type='file']"),
              what="the file uploader")
    browser.find_element(By.CSS_SELECTOR, "input[type='file']").send_keys(f"{good}\n{bad}")
    _wait_for(browser, lambda: "returns.md" in browser.find_element(By.TAG_NAME, "body").text,
              what="the uploaded file names")

    def click_add():
        for button in browser.find_elements(By.TAG_NAME, "button"):
            if button.text.strip() == "Add to knowledge base" and button.is_enabled():
                button.click()
                return True
        return False

    _wait_for(browser, click_add, what="an enabled 'Add to knowledge base' button")
    _wait_for(browser, lambda: "empty.txt" in browser.find_element(By.TAG_NAME, "body").text
              and "added" in browser.find_element(By.TAG_NAME, "body").text, what="the batch result")
    docs = knowledge.list_documents(scripted.person_id, scripted.group_id)
    assert [d.name for d in docs] == ["returns.md"]
    hits = knowledge.search(scripted.person_id, scripted.group_id, "how long can I return something", k=1)
    assert hits and hits[0].title == "returns.md"
    browser.save_screenshot(str(Path(tempfile.gettempdir()) / "workbench-knowledge.png"))


def test_playground_streams_columns_side_by_side_and_stops_one(scripted, app_server, browser):
    """Two variants stream at the same time in a real browser; one column's Stop stops
    only that column."""
    from selenium.webdriver.common.by import By

    from workbench.playground import get_comparison, list_comparisons

    scripted.make_agent(name="A first variant", model="model-a")
    scripted.make_agent(name="B second variant", model="model-b")  # the two sort first
    first = "Alpha streams slowly. " * 120  # stopped long before its end, however busy the machine
    second = "Beta answers in a while. " * 12
    scripted.server.script_for("model-a", text(first, delay=0.1))
    scripted.server.script_for("model-b", text(second, delay=0.1))
    browser.get(app_server + "/playground")
    def message_box():
        return [t for t in browser.find_elements(By.CSS_SELECTOR, "textarea")
                if t.get_attribute("placeholder") == "Write a message…"]

    _wait_for(browser, message_box, what="the message box")
    box = message_box()[0]
    box.send_keys("Compare yourselves")

    def click(label):  # a button's text starts with its icon's name ("send\nSend to all")
        for button in browser.find_elements(By.TAG_NAME, "button"):
            if button.text.strip().splitlines()[-1:] == [label] and button.is_enabled():
                button.click()
                return True
        return False

    _wait_for(browser, lambda: click("Send to all"), what="the Send button")
    body = lambda: browser.find_element(By.TAG_NAME, "body").text  # noqa: E731
    # both columns show text while the first has not finished: they stream at the same time
    _wait_for(browser, lambda: "Alpha streams" in body() and "Beta answers" in body(), what="both columns")
    assert first.strip() not in body()
    browser.save_screenshot(str(Path(tempfile.gettempdir()) / "workbench-playground-live.png"))
    _wait_for(browser, lambda: click("Stop"), what="the first column's Stop")
    comparison_id = list_comparisons(scripted.person_id, scripted.group_id)[0][0]
    _wait_for(browser, lambda: [c.result.status for c in get_comparison(
        scripted.person_id, comparison_id).columns] == ["cancelled", "complete"], timeout=60,
        what="column 1 stopped and column 2 complete")
    _wait_for(browser, lambda: "total **" not in body() and body().count("First token") == 2,
              what="both columns' figures")
    view = get_comparison(scripted.person_id, comparison_id)
    assert view.columns[1].result.reply == second
    assert 0 < len(view.columns[0].result.reply) < len(first)
    browser.save_screenshot(str(Path(tempfile.gettempdir()) / "workbench-playground.png"))


def test_deploy_page_shows_a_new_api_key_once(scripted, app_server, browser):
    """The Deploy page for real: a key made in the browser is shown once, in a code block to
    copy, works, and is gone from the page once dismissed."""
    from selenium.webdriver.common.by import By

    from workbench.serve import keys

    browser.get(app_server + "/deploy")
    body = lambda: browser.find_element(By.TAG_NAME, "body").text  # noqa: E731
    _wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "input[aria-label='Name']"),
              what="the new key's name field")
    browser.find_element(By.CSS_SELECTOR, "input[aria-label='Name']").send_keys("browser key")

    def click(label):
        for button in browser.find_elements(By.TAG_NAME, "button"):
            if button.text.strip().splitlines()[-1:] == [label] and button.is_enabled():
                button.click()
                return True
        return False

    _wait_for(browser, lambda: click("Create key"), what="the Create key button")
    _wait_for(browser, lambda: "shown only this once" in body(), what="the new key")
    [made] = keys.list_keys(scripted.person_id, scripted.group_id)
    secret = next(c.text.strip() for c in browser.find_elements(By.CSS_SELECTOR, "code")
                  if c.text.strip().startswith(made.prefix + "_"))
    assert keys.authenticate(secret).key_id == made.id
    browser.save_screenshot(str(Path(tempfile.gettempdir()) / "workbench-deploy.png"))
    _wait_for(browser, lambda: click("I have copied it"), what="the dismiss button")
    _wait_for(browser, lambda: "shown only this once" not in body(), what="the key to go")
    assert secret not in browser.page_source  # the list (a canvas grid) shows only the prefix
