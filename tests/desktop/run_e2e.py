#!/usr/bin/env python3
"""End-to-end tests of the real Slipway window (WebKitGTK) through
tauri-driver and WebKitWebDriver. Run by scripts/test-desktop inside Xvfb
and a private D-Bus session with a notification server.

Screenshots of the window go to $SLIPWAY_SCREENSHOTS (default
target/screenshots)."""
import faulthandler
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
APP = os.path.join(TARGET, "debug", "slipway-desktop")
SHOTS = os.environ.get("SLIPWAY_SCREENSHOTS", os.path.join(TARGET, "screenshots"))


def wait_for(what, check, timeout=120.0):
    deadline = time.monotonic() + timeout
    pause = 0.05
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception:  # element not there yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def containers(project):
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=dev.slipway.project={project}"],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.split()


H = None


class Harness:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="slipway-e2e-")
        self.project = os.path.join(self.work, "hello-desktop")
        shutil.copytree(os.path.join(ROOT, "examples", "hello"), self.project,
                        ignore=shutil.ignore_patterns("busybox"))
        shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(self.project, "busybox"))
        self.name = "hello-desktop"
        self.config = os.path.join(self.work, "config")
        os.makedirs(self.config)
        with open(os.path.join(self.config, "projects.json"), "w") as f:
            json.dump({"paths": [self.project]}, f)
        os.environ["SLIPWAY_CONFIG_DIR"] = self.config
        os.environ["SLIPWAY_DATA_DIR"] = os.path.join(self.work, "data")
        # A real, unlocked Secret Service, before anything asks the bus for one.
        subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"], input=b"test",
                       stdout=subprocess.DEVNULL, check=True, timeout=30)
        # The fake GitHub and CircleCI, with the tokens the accounts test uses.
        self.fake = subprocess.Popen(
            [os.path.join(TARGET, "debug", "fake-services"),
             "--github", f"{GITHUB_TOKEN}=octocat:read:user", "--circleci", f"{CIRCLECI_TOKEN}=circle-dev"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        fake_url = self.fake.stdout.readline().strip()
        assert fake_url.startswith("http://127.0.0.1:"), fake_url
        os.environ["SLIPWAY_GITHUB_API_URL"] = f"{fake_url}/github"
        os.environ["SLIPWAY_CIRCLECI_API_URL"] = f"{fake_url}/circleci/api/v2"
        # The app's log, at debug level, for the secrets leak check.
        os.environ["SLIPWAY_LOG"] = "debug"
        self.app_log = os.path.join(self.work, "app.log")
        os.makedirs(SHOTS, exist_ok=True)
        # The notification server (started by the bus on the first Notify)
        # keeps notifications until they are clicked or closed.
        dunstrc = os.path.expanduser("~/.config/dunst/dunstrc")
        os.makedirs(os.path.dirname(dunstrc), exist_ok=True)
        with open(dunstrc, "w") as f:
            f.write("[urgency_low]\ntimeout = 0\n[urgency_normal]\ntimeout = 0\n[urgency_critical]\ntimeout = 0\n")
        self.notifications = os.path.join(self.work, "notifications.log")
        self.notified_from = 0
        self.monitor = subprocess.Popen(
            ["dbus-monitor", "--session", "interface='org.freedesktop.Notifications',member='Notify'"],
            stdout=open(self.notifications, "w"), stderr=subprocess.DEVNULL,
        )
        # A tray host on the bus, so the app's tray icon registers.
        self.tray_file = os.path.join(self.work, "tray.jsonl")
        open(self.tray_file, "w").close()
        self.tray_host = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "tests", "desktop", "tray_host.py"),
                                           self.tray_file], stdout=subprocess.PIPE, text=True)
        assert self.tray_host.stdout.readline().strip() == "ready"
        self.driver_proc = subprocess.Popen(["tauri-driver"], stdout=subprocess.DEVNULL,
                                            stderr=open(self.app_log, "w"))
        self.driver = self.launch()

    def launch(self):
        """Starts the app in a new WebDriver session."""
        options = ArgOptions()
        options.set_capability("tauri:options", {"application": APP})
        options.set_capability("browserName", "wry")
        return wait_for("tauri-driver to accept a session", lambda: webdriver.Remote(
            command_executor="http://127.0.0.1:4444", options=options), timeout=30)

    def close(self):
        try:
            self.driver.quit()
        finally:
            self.driver_proc.terminate()
            self.monitor.terminate()
            self.tray_host.terminate()
            self.fake.stdin.close()
            self.fake.wait(timeout=30)
            assert self.fake.returncode == 0, f"the fake services: {self.fake.stderr.read()}"

    def shot(self, name):
        path = os.path.join(SHOTS, f"{name}.png")
        self.driver.save_screenshot(path)
        print(f"  screenshot: {path}")

    def css(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def text(self, selector):
        """textContent of the first match (WebKit's rendered .text can lag)."""
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;", selector)

    def steps(self):
        return [e.get_attribute("data-state") for e in self.driver.find_elements(By.CSS_SELECTOR, ".timeline > li")]

    def write_toml(self, extra):
        path = os.path.join(self.project, "slipway.toml")
        with open(os.path.join(ROOT, "examples", "hello", "slipway.toml")) as f:
            base = f.read()
        with open(path, "w") as f:
            f.write(base + "\n" + extra)

    def fresh(self):
        """Each test's fixture: whatever ran before, it starts with the hello
        project's own pipeline on screen, no notification shown, and only the
        notifications sent from now on counted."""
        wait_for("the window", lambda: self.driver.find_elements(By.CSS_SELECTOR, ".sidebar"), 30)
        wait_for("no run going", lambda: self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.__TAURI_INTERNALS__.invoke('runs_active').then((r) => done(r.length === 0), () => done(false));"), 120)
        self.write_toml("")
        subprocess.run(["dunstctl", "close-all"], capture_output=True, timeout=10)
        with open(self.notifications) as f:
            self.notified_from = len(f.read())

        wait_for("the hello project in the sidebar", lambda: self.driver.execute_script(
            "const b = [...document.querySelectorAll('.sidebar .project')]"
            ".find((b) => b.querySelector('.name')?.textContent.trim() === arguments[0]);"
            "if (b) b.click(); return !!b;", self.name))
        wait_for("the project drawn", lambda: self.css("main h1").text == self.name)
        # The project's page follows the first frame: its Pipeline tab, shown.
        wait_for("the Pipeline tab", lambda: self.driver.execute_script(
            "const t = document.querySelector('[role=tab]:nth-child(1)'); if (t) t.click();"
            "return !!t && !!document.querySelector('[data-testid=flow-bar], .timeline, .pipeline');"))

    def newest_run(self):
        """The newest recorded run as `slipway history --json` lists it (the
        product's own reader, with the app's SQLite), or None."""
        out = subprocess.run([os.path.join(TARGET, "debug", "slipway"), "history", "--json", "-n", "1"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr[-2000:]
        runs = json.loads(out.stdout or "[]")
        return runs[0] if runs else None

    def history_count(self):
        """The newest run's number (0 before any)."""
        run = self.newest_run()
        return run["seq"] if run else 0

    def last_run(self):
        """The newest recorded run: (number, result), or (0, None)."""
        run = self.newest_run()
        return (run["seq"], run["result"]) if run else (0, None)

    def run_and_wait(self, result, timeout=120):
        """Clicks Run and waits for that run (not an earlier one) to end with `result`."""
        before = self.history_count()
        wait_for("the Run button to take the click", lambda: self.css("[data-testid=run]").click() or True, 10)
        return self.wait_for_new_run(before, result, timeout)

    def wait_for_new_run(self, before, result, timeout=120):
        """Waits for a run recorded after run number `before` to end with
        `result`, and for the window to show it."""
        wait_for(f"the new run to end {result}", lambda: self.last_run()[0] > before and self.last_run()[1] == result,
                 timeout)
        # The verdict comes before cleanup: wait for the run to be over.
        wait_for("the run's cleanup", lambda: self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.__TAURI_INTERNALS__.invoke('runs_active').then((r) => done(r.length === 0), () => done(false));"), 60)
        return wait_for(f"the window to show it {result}",
                        lambda: self.css(f"[data-testid=outcome][data-result={result}]"), 10)

    def notified(self, text):
        """Whether a notification with `text` was sent since the test began."""
        with open(self.notifications) as f:
            return text in f.read()[self.notified_from:]


# Uncaught errors in the page (Svelte reports an effect that keeps
# re-running itself this way, 1,000 runs later).
RECORD_ERRORS = """
if (!window.__errors) {
  window.__errors = [];
  window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
  window.addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));
}
"""


def test_run_passes(h):
    # Generic font families only on Linux: each named family WebKitGTK cannot
    # find costs fontconfig lookups at the first layout.
    fonts = h.driver.execute_script(
        "return [document.documentElement.dataset.desktop, getComputedStyle(document.body).fontFamily,"
        " getComputedStyle(document.querySelector('main .mono')).fontFamily]")
    assert fonts == ["linux", "sans-serif", "monospace"], fonts
    wait_for("the project drawn", lambda: h.css("main h1").text == h.name)
    h.shot("01-project")
    h.driver.execute_script(RECORD_ERRORS)
    h.run_and_wait("passed")
    errors = h.driver.execute_script("return window.__errors")
    assert errors == [], errors
    states = h.steps()
    assert states and all(s == "passed" for s in states), states
    assert "lists Seattle" in h.css(".timeline").text
    assert containers(h.name) == []
    h.shot("02-passed")
    wait_for("the passed notification on the bus", lambda: h.notified(f"{h.name}: passed"), 10)
    # Searching the log marks the matching line and counts the matches.
    h.css("input[aria-label='Search log']").send_keys("READY after")
    wait_for("one search hit", lambda: h.text(".log .bar .muted") == "1 of 1")
    assert "ready after" in h.text(".viewport .row.hit"), h.text(".viewport .row.hit")
    h.css("input[aria-label='Search log']").send_keys("\ue00c")  # Escape clears it
    wait_for("the search cleared", lambda: not h.driver.find_elements(By.CSS_SELECTOR, ".viewport .row.hit"))


def test_broken_test_step_fails_with_output(h):
    h.write_toml('[[test]]\nname = "wants Paris"\nrun = "echo looking for Paris; wget -qO- http://127.0.0.1/cities.json | grep Paris"\n')
    h.run_and_wait("failed")
    failed = h.css(".timeline > li[data-state=failed]")
    assert "wants Paris" in failed.text, failed.text
    assert "looking for Paris" in failed.text, failed.text
    assert "looking for Paris" in h.css(".viewport").text
    h.shot("03-failed")
    wait_for("the failed notification", lambda: h.notified(f"{h.name}: failed at wants Paris"), 10)


def test_cancel_leaves_no_container(h):
    h.write_toml('[[test]]\nname = "slow"\nrun = "sleep 120"\n')
    h.css("[data-testid=run]").click()
    wait_for("the slow step to run", lambda: h.css(".timeline > li[data-state=running]").text.startswith("◌ slow")
             or "slow" in h.css(".timeline > li[data-state=running]").text)
    wait_for("the run's container", lambda: len(containers(h.name)) == 1, 10)
    h.shot("04-running")
    h.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    wait_for("the run to be cancelled", lambda: h.css("[data-testid=outcome][data-result=cancelled]"), 60)
    assert containers(h.name) == []
    h.shot("05-cancelled")
    wait_for("the cancelled notification", lambda: h.notified(f"{h.name}: cancelled"), 10)


def test_clicking_a_notification_opens_its_run(h):
    # Its own run, whose notification is the only one on screen (fresh()).
    h.run_and_wait("passed")
    seq = h.history_count()
    wait_for("the passed notification", lambda: h.notified(f"{h.name}: passed"), 10)
    # Leave the project view, then click the notification through the
    # notification server.
    h.driver.find_element(By.CSS_SELECTOR, ".settings-link").click()
    wait_for("the settings view", lambda: h.text("h2") == "Settings")
    # dunst lists what it shows oldest first: ours, the newest, is last.
    shown = int(subprocess.run(["dunstctl", "count", "displayed"], capture_output=True, text=True,
                               check=True).stdout.strip())
    subprocess.run(["dunstctl", "action", str(shown - 1)], check=True)
    wait_for("the history of the notified run",
             lambda: (h.text(".detail .head strong") or "").startswith(f"Run #{seq}"), 15)
    assert h.text(".detail .run-result") == "passed"
    h.shot("07-from-notification")


def gdbus(bus, path, method, *args):
    out = subprocess.run(["gdbus", "call", "--session", "--dest", bus, "--object-path", path, "--method", method, *args],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, f"gdbus {method} {args}: {out.stderr}"
    return out.stdout


def tray_item():
    with open(H.tray_file) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    return lines[-1] if lines else None


def tray_icon_matches(item, state):
    """Whether the tray shows icons/tray-STATE.png (compared pixel by pixel)."""
    prop = lambda name: gdbus(item["bus"], item["path"], "org.freedesktop.DBus.Properties.Get",
                              "org.kde.StatusNotifierItem", name)
    theme = re.search(r"'([^']*)'", prop("IconThemePath")).group(1)
    name = re.search(r"'([^']*)'", prop("IconName")).group(1)
    shown = os.path.join(theme, name if name.endswith(".png") else name + ".png")
    diff = subprocess.run(["compare", "-metric", "AE", shown, os.path.join(ROOT, "icons", f"tray-{state}.png"), "null:"],
                          capture_output=True, text=True)
    return diff.stderr.strip().split()[0] == "0"


def tray_menu(item):
    """The tray menu's object path and its items as (id, label)."""
    menu = re.search(r"'(/[^']*)'", gdbus(item["bus"], item["path"], "org.freedesktop.DBus.Properties.Get",
                                          "org.kde.StatusNotifierItem", "Menu")).group(1)
    layout = gdbus(item["bus"], menu, "com.canonical.dbusmenu.GetLayout", "int32 0", "int32 -1", "@as []")
    return menu, re.findall(r"\((\d+), \{[^}]*?'label': <'([^']*)'>", layout)


def click_tray(item, menu, item_id):
    gdbus(item["bus"], menu, "com.canonical.dbusmenu.Event", f"int32 {item_id}", "clicked", "<int32 0>", "uint32 0")


def test_tray_menu_runs_a_project(h):
    item = wait_for("the tray icon to register", tray_item, 20)
    menu, labels = tray_menu(item)
    names = [label for _, label in labels]
    assert h.name in names and "Run pipeline" in names and "Open Slipway" in names and "Quit" in names, names
    # The project's own item: its submenu's label comes before its entries.
    mine = names.index(h.name)
    run_id = next(i for i, label in labels[mine:] if label == "Run pipeline")
    # A failing run from the tray shows a failure, then a passing one the pass.
    for toml, result in [('[[test]]\nname = "fails"\nrun = "false"\n', "failed"), ("", "passed")]:
        h.write_toml(toml)
        before = h.history_count()
        click_tray(item, menu, run_id)
        h.wait_for_new_run(before, result)
        wait_for(f"the tray icon to show {result}", lambda: tray_icon_matches(tray_item(), result), 10)
    h.shot("08-tray-run")


def test_adding_a_project_and_rejecting_a_bad_one(h):
    # The native folder dialog is outside the web view; call the same command
    # the dialog's answer goes to, then reload as a restart would.
    other = os.path.join(h.work, "examples-hello")
    shutil.copytree(os.path.join(ROOT, "examples", "hello"), other, ignore=shutil.ignore_patterns("busybox"))
    added = h.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.__TAURI_INTERNALS__.invoke('project_add', { path: arguments[0] })"
        ".then((p) => done({ ok: p.name }), (e) => done({ err: e }));", other)
    assert added == {"ok": "examples-hello"}, added
    bad = h.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.__TAURI_INTERNALS__.invoke('run_start', { path: '/etc' })"
        ".then((p) => done({ ok: p }), (e) => done({ err: e }));")
    assert bad["err"]["code"] == "bad_config" and "not one of your projects" in bad["err"]["message"], bad
    h.driver.refresh()
    wait_for("both projects in the sidebar", lambda: h.driver.execute_script(
        "return [...document.querySelectorAll('.sidebar .project .name')].map(e => e.textContent.trim())")
        == ["examples-hello", h.name])


GITHUB_TOKEN = "ghp_desktopLeakCheck000000000000000000001"
GITHUB_WRONG = "ghp_desktopLeakCheckWrong0000000000000002"
CIRCLECI_TOKEN = "circle_desktopLeakCheck00000000003"

# Tauri's invoke() cannot be replaced, but its IPC goes through fetch() on
# the ipc:// protocol: record every answer Rust sends.
RECORD_IPC = """
if (!window.__ipcLog) {
  window.__ipcLog = [];
  const fetch = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const response = await fetch(...args);
    response.clone().text().then((t) => window.__ipcLog.push(t));
    return response;
  };
}
"""


def sign_in(h, button, fields):
    h.driver.find_element(By.XPATH, f"//button[normalize-space()='{button}']").click()
    form = wait_for("the sign-in form", lambda: h.css("form.signin"))
    for name, value in fields.items():
        field = form.find_element(By.CSS_SELECTOR, f"input[name={name}]")
        field.clear()
        field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "input[name=secret]").send_keys(Keys.ENTER)


def keychain_entries():
    out = subprocess.run(["secret-tool", "search", "--all", "service", "slipway"],
                         capture_output=True, text=True, timeout=30)
    return sorted(l.split(" = ", 1)[1] for l in out.stderr.splitlines() if l.startswith("attribute.username = "))


def test_accounts_in_settings(h):
    def open_settings():
        h.css(".settings-link").click()
        return "Not signed in anywhere" in (h.text("fieldset.accounts") or "")
    wait_for("the accounts panel", open_settings)
    h.driver.execute_script(RECORD_IPC)
    h.shot("09-accounts-empty")

    # A wrong token: GitHub's answer, in words, and nothing stored.
    sign_in(h, "Sign in to GitHub…", {"secret": GITHUB_WRONG})
    wait_for("the rejection", lambda: "GitHub rejected the credentials for github.com: Bad credentials"
             in (h.text("form.signin [role=alert]") or ""), 30)
    h.shot("10-accounts-rejected")
    assert keychain_entries() == [], keychain_entries()

    # The right one: signed in, with the scopes it lacks called out.
    field = h.css("form.signin input[name=secret]")
    field.clear()
    field.send_keys(GITHUB_TOKEN, Keys.ENTER)
    wait_for("the GitHub account", lambda: h.text("li.account[data-kind=github] .user") == "octocat (octocat (test))", 30)
    notice = h.text("fieldset.accounts .notice")
    assert notice == "Signed in to github.com as octocat (octocat (test)). git pushes over https with it.", notice
    # Ticked by default: git asks the slipway command for github.com's token.
    helper = git(h.work, "config", "--global", "--get-all", "credential.https://github.com.helper")
    assert helper.endswith(f"'{SLIPWAY}' git-credential"), helper
    row = h.text("li.account[data-kind=github]")
    assert "missing scope `repo`" in row and "missing scope `workflow`" in row and "read:user" in row, row

    sign_in(h, "Sign in to CircleCI…", {"secret": CIRCLECI_TOKEN})
    wait_for("the CircleCI account", lambda: h.text("li.account[data-kind=circleci] .user") == "circle-dev (circle-dev (test))", 30)
    assert keychain_entries() == ["circleci-token/127.0.0.1", "github-token/github.com"], keychain_entries()
    h.shot("11-accounts-signed-in")

    # Remove GitHub: gone from the list and from the keychain.
    h.driver.find_element(By.CSS_SELECTOR, "li.account[data-kind=github] button.danger").click()
    wait_for("GitHub removed", lambda: not h.driver.find_elements(By.CSS_SELECTOR, "li.account[data-kind=github]"))
    assert keychain_entries() == ["circleci-token/127.0.0.1"], keychain_entries()

    # No secret in what Rust sent the web view, in the page, in files or the log.
    ipc = h.driver.execute_script("return window.__ipcLog.join('\\n')")
    assert "octocat" in ipc and "circle-dev" in ipc, "the IPC recorder saw the answers"
    page = h.driver.execute_script(
        "return document.documentElement.outerHTML + [...document.querySelectorAll('input')].map(i => i.value).join('|')")
    files = ""
    for root, _, names in os.walk(h.work):
        for name in names:
            path = os.path.join(root, name)
            if path != h.app_log:
                with open(path, "rb") as f:
                    files += f.read().decode("utf-8", "replace")
    with open(h.app_log) as f:
        log = f.read()
    assert "signed in" in log and "octocat" in log, "the app log is captured"
    for secret in [GITHUB_TOKEN, GITHUB_WRONG, CIRCLECI_TOKEN]:
        for where, text in [("IPC payloads", ipc), ("the page", page), ("files", files), ("the app log", log)]:
            assert secret not in text, f"a secret leaked into {where}"


def invoke(h, command, args=None):
    """Calls a command as the page does; {"ok": value} or {"err": problem}."""
    return h.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1] || {})"
        ".then((v) => done({ ok: v }), (e) => done({ err: e }));", command, args)


def fake(h, *words):
    """A command to the fake services (see tests/src/bin/fake-services.rs)."""
    h.fake.stdin.write(" ".join(words) + "\n")
    h.fake.stdin.flush()
    return h.fake.stdout.readline().strip()


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def relaunch(h):
    """Ends the app and starts it again, as a user quitting and reopening it."""
    try:
        h.driver.quit()
    except Exception:  # the app is gone already
        pass
    wait_for("the app to quit", lambda: not app_running(), 20)
    h.driver = h.launch()
    wait_for("the window", lambda: h.css(".sidebar"), 30)


def figure(name, value):
    """Keeps a measured figure for BENCHMARKS.md (scripts/bench-desktop-pr reads it)."""
    path = os.path.join(SHOTS, "figures.json")
    figures = {}
    if os.path.exists(path):
        with open(path) as f:
            figures = json.load(f)
    figures[name] = value
    with open(path, "w") as f:
        json.dump(figures, f, indent=1)
    print(f"  {name}: {value}")


def github_project(h, name, *options, toml="", feature=True):
    """A project `name` whose origin is a new repository on the fake GitHub
    (reached through a url.insteadOf rewrite), with the hello pipeline (and
    `toml` appended to it) on master and, with `feature`, one commit on
    feature/cities; the user is signed in and the project added and shown.
    Returns (folder, bare repository, head)."""
    bare = fake(h, "repo", "octocat", name, "master", *options)
    project = os.path.join(tempfile.mkdtemp(dir=h.work), name)
    shutil.copytree(os.path.join(ROOT, "examples", "hello"), project, ignore=shutil.ignore_patterns("busybox"))
    shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(project, "busybox"))
    url = f"https://github.com/octocat/{name}.git"
    git(project, "init", "-q", "-b", "master")
    git(project, "config", "user.email", "dev@example.com")
    git(project, "config", "user.name", "Dev")
    git(project, "remote", "add", "origin", url)
    git(project, "config", f"url.{bare}.insteadOf", url)
    if toml:
        with open(os.path.join(project, "slipway.toml"), "a") as f:
            f.write("\n" + toml)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "Hello")
    git(project, "push", "-q", "origin", "master")
    if feature:
        git(project, "switch", "-qc", "feature/cities")
        with open(os.path.join(project, "CITIES"), "w") as f:
            f.write("Seattle\n")
        git(project, "add", "CITIES")
        git(project, "commit", "-qm", "List cities")
    head = git(project, "rev-parse", "HEAD")
    assert "ok" in invoke(h, "account_login_github", {"host": None, "token": GITHUB_TOKEN})
    added = invoke(h, "project_add", {"path": project})
    assert "ok" in added, added
    h.driver.refresh()
    show_project(h, name)
    return project, bare, head


def show_project(h, name):
    wait_for(f"the {name} project", lambda: h.driver.execute_script(
        "const b = [...document.querySelectorAll('.sidebar .project')]"
        ".find((b) => b.querySelector('.name')?.textContent.trim() === arguments[0]);"
        "if (b) b.click(); return !!b;", name))


def forget_project(h, project, secrets=()):
    """Removes what a GitHub test added: the project, the sign-in, and the
    project secrets it set (the accounts test expects an empty keychain)."""
    for reference in secrets:
        subprocess.run([SLIPWAY, "secret", "rm", "deploy-trigger", reference], capture_output=True, timeout=30)
    invoke(h, "project_remove", {"path": project})
    invoke(h, "account_logout", {"kind": "github", "host": None})
    h.driver.refresh()


def test_a_push_git_has_no_credentials_for_uses_the_sign_in(h):
    """An https origin and a git with no credential helper: Push and open PR
    fails, and the banner offers to let git use the GitHub sign-in; one
    click sets it up and the push and pull request go through."""
    fake_url = os.environ["SLIPWAY_GITHUB_API_URL"].removesuffix("/github")
    for url in ["https://github.com", fake_url]:
        subprocess.run(["git", "config", "--global", "--unset-all", f"credential.{url}.helper"], capture_output=True)
    bare = fake(h, "repo", "octocat", "creds", "master")
    project = os.path.join(tempfile.mkdtemp(dir=h.work), "creds")
    shutil.copytree(os.path.join(ROOT, "examples", "hello"), project, ignore=shutil.ignore_patterns("busybox"))
    shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(project, "busybox"))
    git(project, "init", "-q", "-b", "master")
    git(project, "config", "user.email", "dev@example.com")
    git(project, "config", "user.name", "Dev")
    git(project, "remote", "add", "origin", "https://github.com/octocat/creds.git")
    # git reaches the fake GitHub's git over HTTP, which wants a token.
    git(project, "config", f"url.{fake_url}/git/.insteadOf", "https://github.com/")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "Hello")
    git(project, "push", "-q", bare, "master")
    git(project, "switch", "-qc", "feature/creds")
    git(project, "commit", "-q", "--allow-empty", "-m", "A change")
    head = git(project, "rev-parse", "HEAD")
    try:
        assert "ok" in invoke(h, "account_login_github", {"host": None, "token": GITHUB_TOKEN})
        assert "ok" in invoke(h, "project_add", {"path": project})
        h.driver.refresh()
        show_project(h, "creds")
        wait_for("Push and open PR", lambda: primary_kind(h) == "push_open", 30)
        h.css("[data-testid=primary-action]").click()
        offer = wait_for("the offer to use the sign-in", lambda: h.driver.find_elements(
            By.CSS_SELECTOR, "[data-testid=serve-git]"), 180)
        banner = h.text("[role=alert]")
        assert "git has no credentials for github.com" in banner, banner
        h.shot("26-push-offers-the-sign-in")
        offer[0].click()
        wait_for("the pull request", lambda: pr_chip(h).startswith("#1"), 180)
        assert git(bare, "rev-parse", "refs/heads/feature/creds") == head
        helper = git(project, "config", "--global", "--get-all", f"credential.{fake_url}.helper")
        assert helper.endswith("git-credential"), helper
        assert GITHUB_TOKEN not in open(os.path.join(os.environ["HOME"], ".gitconfig")).read()
    finally:
        forget_project(h, project)


def primary_kind(h):
    found = h.driver.find_elements(By.CSS_SELECTOR, "[data-testid=primary-action]")
    return found[0].get_attribute("data-kind") if found else "run"


def pr_chip(h):
    return h.text("[data-testid=pr-chip]") or ""


def test_pull_request_flow(h):
    """From commits on a feature branch to merged when green, in the window:
    one click opens the pull request (after a preflight run) and watches it,
    a second arms merge when green, which survives a restart and merges when
    the head's checks pass."""
    project, bare, head = github_project(
        h, "cities", toml='[deploy.hub]\nkind = "dockerhub"\nbranch = "master"\nafter-merge = true\n')
    try:
        token = "citiesaftermerge0000000001"
        url = fake(h, "hub-url", token)
        subprocess.run([SLIPWAY, "secret", "set", "deploy-trigger", "cities/hub"], input=url, text=True,
                       check=True, capture_output=True, timeout=30)
        def primary():
            return h.css("[data-testid=primary-action]")

        def kind():
            return primary_kind(h)

        wait_for("Push and open PR", lambda: kind() == "push_open", 30)
        chip = h.text("[data-testid=branch-chip]")
        assert chip == "⎇ feature/cities (not pushed)", chip
        h.shot("13-pr-ready-to-push")

        clicks = 0
        before = h.history_count()
        primary().click()
        clicks += 1
        # The preflight run passes, the branch is pushed, the PR is opened and watched.
        h.wait_for_new_run(before, "passed", 180)
        wait_for("the pull request", lambda: (h.text("[data-testid=pr-chip]") or "").startswith("#1"), 60)
        wait_for("Merge when green", lambda: kind() == "arm", 10)
        figure("clicks_to_pr_watched", clicks)
        assert git(bare, "rev-parse", "refs/heads/feature/cities") == head
        # A status CircleCI posts shows within seconds.
        posted = time.monotonic()
        assert fake(h, "status", "octocat/cities", head, "ci/circleci:build", "pending") == "ok"
        wait_for("the pending check", lambda: "0/1 checks" in (h.text("[data-testid=pr-chip]") or ""), 30)
        figure("pr_status_to_window_s", round(time.monotonic() - posted, 2))
        # master's required checks, from protection and a ruleset, read (from the relaunch
        # below on) with a token that is not an admin's.
        assert fake(h, "protect", "octocat/cities", "master", "ci/circleci:build") == "ok"
        assert fake(h, "ruleset", "octocat/cities", "master", "test") == "ok"

        primary().click()
        clicks += 1
        wait_for("armed", lambda: kind() == "disarm" and "armed" in h.text("[data-testid=pr-chip]"), 10)
        h.css("[data-testid=pr-chip]").click()
        wait_for("the checks", lambda: "ci/circleci:build" in h.text("[data-testid=pull-panel]"), 10)
        h.shot("14-pr-armed")
        # The pull request's head, run here in a temporary worktree: recorded, and the worktree gone after.
        before_local = h.history_count()
        h.css("[data-testid=run-at-head]").click()
        h.wait_for_new_run(before_local, "passed", 120)
        wait_for("the temporary worktree removed",
                 lambda: len(git(project, "worktree", "list").splitlines()) == 1, 30)
        # The open pull requests across projects list it.
        h.css("[data-testid=pulls-link]").click()
        wait_for("the open pull requests", lambda: "#1" in (h.text("[data-testid=pulls-view]") or "")
                 and "List cities" in h.text("[data-testid=pulls-view]"), 30)
        h.shot("15-pull-requests")
        figure("clicks_to_merged_when_green", clicks)

        # Armed survives a restart: the relaunched app merges when it goes green.
        relaunch(h)
        show_project(h, "cities")
        wait_for("still armed", lambda: "armed" in (h.text("[data-testid=pr-chip]") or ""), 30)
        # Green CircleCI alone is not enough: the ruleset's check has not reported.
        master_before = git(bare, "rev-parse", "refs/heads/master")
        assert fake(h, "status", "octocat/cities", head, "ci/circleci:build", "success") == "ok"
        wait_for("CircleCI's check seen green", lambda: pr_chip(h).startswith("#1") and "1/" in pr_chip(h), 30)
        assert git(bare, "rev-parse", "refs/heads/master") == master_before, \
            f"merged before the ruleset's check ({pr_chip(h)})"
        assert "1/2 checks" in pr_chip(h), pr_chip(h)
        assert fake(h, "check", "octocat/cities", head, "test", "completed", "success").isdigit()
        wait_for("merged", lambda: "merged" in (h.text("[data-testid=pr-chip]") or ""), 30)
        git(bare, "merge-base", "--is-ancestor", head, "refs/heads/master")
        wait_for("the notifications", lambda: h.notified("cities #1: checks passed, merging")
                 and h.notified("cities #1 merged into master"), 10)
        # Deploy after merge: once the merge commit is green on master.
        merge = git(bare, "rev-parse", "refs/heads/master")
        assert fake(h, "hub-count", token) == "0"
        assert fake(h, "status", "octocat/cities", merge, "ci/circleci:build", "success") == "ok"
        assert fake(h, "check", "octocat/cities", merge, "test", "completed", "success").isdigit()
        wait_for("the deploy after merge", lambda: fake(h, "hub-count", token) == "1", 30)
        wait_for("its notification", lambda: h.notified(f"cities: deployed {merge[:7]} via hub"), 10)
        # The header says what happened and offers the default branch, with the deploy beside it.
        wait_for("what was deployed", lambda: primary_kind(h) == "switch_default"
                 and f"deployed {merge[:7]} via hub" in (h.text("[data-testid=flow-note]") or ""), 15)
        assert h.text("[data-testid=secondary-deploy]") == "Deploy again…"
        h.shot("16-pr-merged")
        assert clicks == 2, clicks
        h.css("[data-testid=primary-action]").click()
        wait_for("the default branch", lambda: (h.text("[data-testid=branch-chip]") or "").startswith("⎇ master"), 30)
        assert git(project, "branch", "--list", "feature/cities") == "", "the merged branch is deleted"
        assert git(project, "rev-parse", "HEAD") == merge
        # A branch switched in a terminal shows when the window is back in focus.
        git(project, "switch", "-qc", "feature/next")
        h.driver.execute_script("window.dispatchEvent(new Event('focus'))")
        wait_for("the switched branch", lambda: "feature/next" in (h.text("[data-testid=branch-chip]") or ""), 15)
        wait_for("the project list's branch", lambda: h.driver.execute_script(
            "return [...document.querySelectorAll('.sidebar .project .branch')].some((b) => b.textContent.trim() === 'feature/next');"), 15)
    finally:
        forget_project(h, project, secrets=["cities/hub"])


def test_a_red_pull_request_says_why_and_runs_again(h):
    """The default branch turning red shows in the project list and is told;
    a pull request's reviews show in its chip and panel (with a notification
    when approved); a failed Actions job's row expands to its failing step, that
    step's last log lines and its annotation; Re-run failed asks Actions to run
    the failed job again and the pull request goes back to pending."""
    project, bare, head = github_project(h, "rivers")
    try:
        wait_for("Push and open PR", lambda: primary_kind(h) == "push_open", 30)
        before = h.history_count()
        h.css("[data-testid=primary-action]").click()
        h.wait_for_new_run(before, "passed", 180)
        wait_for("the pull request", lambda: pr_chip(h).startswith("#1"), 60)
        # The branch radar: master turning red shows in the project list, and is told.
        master = git(bare, "rev-parse", "refs/heads/master")
        assert fake(h, "status", "octocat/rivers", master, "ci/circleci:build", "failure") == "ok"
        radar = ".sidebar .project.active [data-testid=radar]"
        wait_for("master red in the list", lambda: h.driver.execute_script(
            "return document.querySelector(arguments[0])?.classList.contains('failure');", radar), 30)
        assert h.driver.execute_script("return document.querySelector(arguments[0]).title;", radar) \
            == "master: checks failed (ci/circleci:build)"
        wait_for("its notification", lambda: h.notified("rivers: master is red"), 10)
        assert fake(h, "require-approvals", "octocat/rivers", "master", "1") == "ok"
        # CircleCI still runs: the window looks every few seconds.
        assert fake(h, "status", "octocat/rivers", head, "ci/circleci:build", "pending") == "ok"
        assert fake(h, "review", "octocat/rivers", "1", "carol", "APPROVED") == "ok"
        wait_for("approved", lambda: "approved" in pr_chip(h), 30)
        wait_for("its notification", lambda: h.notified("rivers #1 approved by carol"), 10)

        failed_at = time.monotonic()
        job = fake(h, "actions-fail", "octocat/rivers", head, "lint", "flake8 .")
        assert job.isdigit(), job
        wait_for("red", lambda: "failure" in (h.css("[data-testid=pr-chip]").get_attribute("class") or ""), 30)
        wait_for("Re-run failed", lambda: h.text("[data-testid=rerun-failed]") is not None, 10)
        h.css("[data-testid=pr-chip]").click()
        wait_for("the reviews", lambda: "approved" in (h.text("[data-testid=pull-reviews]") or ""), 10)
        # Each reviewer once: in their own mark, not again in the line.
        reviews = h.text("[data-testid=pull-reviews]")
        assert reviews.count("carol") == 1, reviews
        assert h.text("[data-testid=pull-reviews] .reviewer.approved") == "carol", reviews
        wait_for("the failed check", lambda: h.text("[data-testid=check-expand]") is not None, 10)
        h.css("[data-testid=check-expand]").click()
        wait_for("its failing lines", lambda: "E501 line too long" in (h.text("[data-testid=check-why]") or ""), 15)
        figure("failed_check_to_lines_s", round(time.monotonic() - failed_at, 2))
        why = h.text("[data-testid=check-why]")
        assert "Failed at flake8 ." in why, why
        assert "Process completed with exit code 1." in why, why
        assert "app.py:12" in why, why
        assert "Fetching the repository" not in why, why
        h.shot("27-why-a-check-failed")

        h.css("[data-testid=rerun-failed]").click()
        wait_for("the re-run", lambda: fake(h, "actions-reruns", "octocat/rivers") != "", 15)
        wait_for("pending again", lambda: "pending" in (h.css("[data-testid=pr-chip]").get_attribute("class") or ""), 30)
        assert fake(h, "actions-reruns", "octocat/rivers") == f"{7000 + int(job)}/rerun-failed-jobs"
    finally:
        forget_project(h, project)


def test_merge_when_green_uses_githubs_auto_merge(h):
    """Where the repository allows it, arming (here from the CLI, which the
    window shows armed) turns GitHub's auto-merge on for the head seen;
    GitHub merges when it goes green, the window follows, and the
    after-merge deploy fires once the merge commit is green."""
    project, bare, head = github_project(
        h, "towns", "auto-merge",
        toml='[deploy.hub]\nkind = "dockerhub"\nbranch = "master"\nafter-merge = true\n')
    try:
        token = "townsaftermerge0000000001"
        url = fake(h, "hub-url", token)
        subprocess.run([SLIPWAY, "secret", "set", "deploy-trigger", "towns/hub"], input=url, text=True,
                       check=True, capture_output=True, timeout=30)
        assert fake(h, "status", "octocat/towns", head, "ci/circleci:build", "pending") == "ok"
        wait_for("Push and open PR", lambda: primary_kind(h) == "push_open", 30)
        before = h.history_count()
        h.css("[data-testid=primary-action]").click()
        h.wait_for_new_run(before, "passed", 180)
        wait_for("Merge when green", lambda: primary_kind(h) == "arm" and "0/1 checks" in pr_chip(h), 60)
        armed = subprocess.run([SLIPWAY, "pr", "merge", "--when-green", "--detach"], cwd=project,
                               capture_output=True, text=True, timeout=60)
        assert armed.returncode == 8, armed.stdout + armed.stderr
        wait_for("armed by the CLI", lambda: primary_kind(h) == "disarm", 15)
        assert fake(h, "auto-merge", "octocat/towns", "1") == "MERGE"
        assert fake(h, "status", "octocat/towns", head, "ci/circleci:build", "success") == "ok"
        wait_for("merged by GitHub", lambda: "merged" in pr_chip(h), 30)
        git(bare, "merge-base", "--is-ancestor", head, "refs/heads/master")
        wait_for("the notification", lambda: h.notified("towns #1 merged into master"), 10)
        # GitHub merged, not Slipway: the deploy after merge still follows.
        merge = git(bare, "rev-parse", "refs/heads/master")
        assert fake(h, "hub-count", token) == "0"
        assert fake(h, "status", "octocat/towns", merge, "ci/circleci:build", "success") == "ok"
        wait_for("the deploy after merge", lambda: fake(h, "hub-count", token) == "1", 30)
        wait_for("its notification", lambda: h.notified(f"towns: deployed {merge[:7]} via hub"), 10)
    finally:
        forget_project(h, project, secrets=["towns/hub"])


SLIPWAY = os.path.join(TARGET, "debug", "slipway")


def test_deploy_fires_once_for_a_green_default_branch(h):
    """The Deploy button follows the gate (no checks yet: refused, with
    why); green, a double click sends one request, and the CLI and the
    window together send one for the next commit."""
    token = "deskhubtoken000000000000001"
    project, bare, head = github_project(
        h, "depot", toml='[deploy.hub]\nkind = "dockerhub"\nbranch = "master"\n', feature=False)
    try:
        url = fake(h, "hub-url", token)
        subprocess.run([SLIPWAY, "secret", "set", "deploy-trigger", "depot/hub"], input=url, text=True,
                       check=True, capture_output=True, timeout=30)
        wait_for("the gate's refusal", lambda: primary_kind(h) == "deploy_blocked", 30)
        assert "has no checks reported yet" in h.text("[data-testid=flow-note]")
        assert h.css("[data-testid=deploy-anyway]").is_displayed()
        h.shot("18-deploy-blocked")

        assert fake(h, "status", "octocat/depot", head, "ci/circleci:build", "success") == "ok"
        h.driver.refresh()
        show_project(h, "depot")
        wait_for("Deploy to hub", lambda: primary_kind(h) == "deploy", 30)
        button = h.css("[data-testid=primary-action]")
        # When the window gets the click (the same clock as the fake's).
        h.driver.execute_script(
            "arguments[0].addEventListener('click', () => { window.__clickedAt ??= Date.now(); }, { capture: true });",
            button)
        ActionChains(h.driver).double_click(button).perform()
        wait_for("deployed", lambda: "deployed " + head[:7] in (h.text("[data-testid=flow-note]") or ""), 30)
        # From the click to the request at the trigger, the gate's check included.
        clicked_ms = h.driver.execute_script("return window.__clickedAt;")
        figure("deploy_click_to_request_ms", int(fake(h, "hub-last-ms", token)) - int(clicked_ms))
        assert fake(h, "hub-count", token) == "1", "a double click sends one request"
        wait_for("Deploy again", lambda: primary_kind(h) == "deploy_again", 10)
        wait_for("the notification", lambda: h.notified(f"depot: deployed {head[:7]} via hub"), 10)
        h.shot("19-deployed")

        # The CLI and the window at once, for the next green commit: one request.
        git(project, "commit", "-q", "--allow-empty", "-m", "Next")
        git(project, "push", "-q", "origin", "master")
        nxt = git(project, "rev-parse", "HEAD")
        assert fake(h, "status", "octocat/depot", nxt, "ci/circleci:build", "success") == "ok"
        h.driver.refresh()
        show_project(h, "depot")
        wait_for("Deploy to hub", lambda: primary_kind(h) == "deploy"
                 and nxt[:7] in (h.text("[data-testid=flow-note]") or ""), 30)
        cli = subprocess.Popen([SLIPWAY, "deploy", project], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        h.css("[data-testid=primary-action]").click()
        code = cli.wait(timeout=60)
        wait_for("the window's answer", lambda: primary_kind(h) == "deploy_again", 30)
        assert code in (0, 4), (code, cli.stderr.read())
        assert fake(h, "hub-count", token) == "2", "the CLI and the window together send one request"
        history = json.loads(subprocess.run([SLIPWAY, "deploys", "--json", "--project", "depot"], capture_output=True,
                                            text=True, check=True, timeout=30).stdout)
        assert [d["sha"] for d in history] == [nxt, head], history
        # The window's deploy history shows both, the first one from the window.
        h.css("[data-testid=deploys-tab]").click()
        rows = wait_for("the deploy history", lambda: len(h.driver.find_elements(
            By.CSS_SELECTOR, "[data-testid=deploys] tbody tr")) == 2 and h.driver.find_elements(
            By.CSS_SELECTOR, "[data-testid=deploys] tbody tr"), 10)
        assert head[:7] in rows[1].text and "window" in rows[1].text and "succeeded" in rows[1].text, rows[1].text
        h.shot("20-deploy-history")
        # The trigger URL is a secret: not in the page, the app's log or any file.
        with open(h.app_log) as f:
            assert token not in f.read(), "the trigger URL leaked into the app log"
        assert token not in h.driver.execute_script("return document.documentElement.outerHTML")
        for root, _, names in os.walk(h.work):
            for name in names:
                with open(os.path.join(root, name), "rb") as f:
                    assert token.encode() not in f.read(), f"the trigger URL leaked into {name}"
    finally:
        forget_project(h, project, secrets=["depot/hub"])


def start_registry(h, users):
    """Debian's docker-registry on a free loopback port with htpasswd users;
    (process, host)."""
    folder = tempfile.mkdtemp(dir=h.work)
    with open(os.path.join(folder, "htpasswd"), "w") as f:
        for user, password in users.items():
            f.write(subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True, text=True,
                                   check=True, timeout=30).stdout.strip() + "\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(os.path.join(folder, "config.yml"), "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {folder}/data\n"
                f"http:\n  addr: 127.0.0.1:{port}\n  secret: desk\n"
                f"auth:\n  htpasswd:\n    realm: Registry Realm\n    path: {folder}/htpasswd\n")
    registry = subprocess.Popen(["docker-registry", "serve", os.path.join(folder, "config.yml")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0
    wait_for("the registry", listening, 30)
    return registry, f"127.0.0.1:{port}"


def test_push_shows_each_layer(h):
    """The Delivery tab says what to do before there is an image; after a
    run, Push sends it under the branch, the short SHA and latest, a row
    per layer, and the registry has those tags."""
    password = "desk-registry-pass-5a5a"
    registry, host = start_registry(h, {"alice": password})
    project = os.path.join(tempfile.mkdtemp(dir=h.work), "dockside")
    try:
        shutil.copytree(os.path.join(ROOT, "examples", "hello"), project, ignore=shutil.ignore_patterns("busybox"))
        shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(project, "busybox"))
        with open(os.path.join(project, "slipway.toml"), "a") as f:
            f.write(f'\n[push]\nrepository = "{host}/shop/dockside"\n')
        subprocess.run(["docker", "rmi", "-f", "slipway-example/hello"], capture_output=True, timeout=60)
        origin = os.path.join(h.work, "dockside.git")
        git(h.work, "init", "-q", "--bare", "-b", "master", origin)
        git(project, "init", "-q", "-b", "master")
        git(project, "config", "user.email", "dev@example.com")
        git(project, "config", "user.name", "Dev")
        git(project, "add", "-A")
        git(project, "commit", "-qm", "Hello")
        git(project, "remote", "add", "origin", origin)
        git(project, "push", "-q", "-u", "origin", "master")
        git(project, "remote", "set-head", "origin", "master")
        head = git(project, "rev-parse", "HEAD")
        login = invoke(h, "account_login_registry", {"host": host, "username": "alice", "password": password})
        assert "ok" in login, login
        assert "ok" in invoke(h, "project_add", {"path": project})
        h.driver.refresh()
        h.driver.execute_script(RECORD_IPC)
        show_project(h, "dockside")
        wait_for("the project drawn", lambda: h.css("main h1").text == "dockside")

        h.css("[data-testid=deploys-tab]").click()
        blocked = wait_for("what to do first", lambda: h.text("[data-testid=push-blocked]"), 30)
        assert "there is no image slipway-example/hello:latest to push" in blocked, blocked
        assert "Run the pipeline first" in blocked, blocked

        h.driver.find_element(By.CSS_SELECTOR, "[role=tab]:nth-child(1)").click()
        h.run_and_wait("passed")
        h.css("[data-testid=deploys-tab]").click()
        target = wait_for("the push plan", lambda: h.text("[data-testid=push-target]"), 30)
        assert target == f"slipway-example/hello:latest → {host}/shop/dockside", target
        tags = [e.text for e in h.driver.find_elements(By.CSS_SELECTOR, "[data-testid=push-panel] .tag")]
        assert tags == ["master", head[:7], "latest"], tags
        assert "as alice" in h.text("[data-testid=push-panel] header")
        h.shot("21-push-ready")

        h.css("[data-testid=push-button]").click()
        done = wait_for("the pushed tags", lambda: h.text("[data-testid=push-done]"), 60)
        for tag in ["master", head[:7], "latest"]:
            assert f"{host}/shop/dockside:{tag}" in done, done
        layers = h.driver.find_elements(By.CSS_SELECTOR, "[data-testid=push-layer]")
        assert layers and all(l.get_attribute("data-state") in ("pushed", "exists") for l in layers), \
            [l.get_attribute("data-state") for l in layers]
        assert all(len(l.find_element(By.CSS_SELECTOR, "td").text) == 12 for l in layers)
        wait_for("the notification", lambda: h.notified("dockside: image pushed"), 10)
        h.shot("22-pushed")
        listed = subprocess.run(["curl", "-sf", "-u", f"alice:{password}", f"http://{host}/v2/shop/dockside/tags/list"],
                                capture_output=True, text=True, timeout=30).stdout
        assert sorted(json.loads(listed)["tags"]) == sorted(["master", head[:7], "latest"]), listed
        ipc = h.driver.execute_script("return window.__ipcLog.join('\\n')")
        assert "alice" in ipc, "the IPC recorder saw the answers"
        with open(h.app_log) as f:
            log = f.read()
        for where, text in [("IPC payloads", ipc), ("the page", h.driver.execute_script(
                "return document.documentElement.outerHTML")), ("the app log", log)]:
            assert password not in text, f"the registry password leaked into {where}"
    finally:
        invoke(h, "project_remove", {"path": project})
        invoke(h, "account_logout", {"kind": "registry", "host": host})
        registry.terminate()
        h.driver.refresh()


def test_a_circleci_project_runs_as_imported_and_saves(h):
    """A project with a circle.yml and no slipway.toml runs the imported
    pipeline from the window, which says so, and saves it as slipway.toml
    after showing it."""
    project = os.path.join(tempfile.mkdtemp(dir=h.work), "circle-hello")
    shutil.copytree(os.path.join(ROOT, "examples", "hello"), project, ignore=shutil.ignore_patterns("busybox", "slipway.toml"))
    shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(project, "busybox"))
    with open(os.path.join(project, "circle.yml"), "w") as f:
        f.write("machine:\n  services:\n    - docker\n"
                "dependencies:\n  override:\n    - docker build -t slipway-test/circle-hello .\n"
                "test:\n  override:\n    - docker run -d -p 80:80 slipway-test/circle-hello; sleep 10\n"
                "    - curl --retry 10 --retry-delay 5 -v http://localhost:80/cities.json\n"
                "    - busybox wget -qO- http://localhost:80/cities.json | grep -q Seattle\n"
                "    - docker run --privileged slipway-test/circle-hello true\n")
    added = invoke(h, "project_add", {"path": project})
    assert "ok" in added, added
    h.driver.refresh()
    try:
        show_project(h, "circle-hello")
        notice = wait_for("the imported notice", lambda: h.text("[data-testid=imported]"), 30)
        assert "Pipeline imported from circle.yml" in notice, notice
        h.run_and_wait("passed")
        names = [e.text for e in h.driver.find_elements(By.CSS_SELECTOR, ".timeline > li .name")]
        assert "busybox wget -qO- http://localhost:80/cities.json | grep -q Seattle" in names, names
        h.css("[data-testid=import-preview]").click()
        panel = wait_for("the preview", lambda: h.text("[data-testid=import-panel]"), 30)
        assert 'name = "slipway-test/circle-hello"' in panel and "Not imported (1)" in panel, panel
        assert "circle.yml:12" in panel and "--privileged" in panel, panel
        wait_for("the preview drawn", lambda: h.css("[data-testid=import-panel] pre").is_displayed(), 10)
        h.shot("17-import-preview")
        h.css("[data-testid=import-save]").click()
        wait_for("saved", lambda: not h.driver.find_elements(By.CSS_SELECTOR, "[data-testid=imported]"), 30)
        with open(os.path.join(project, "slipway.toml")) as f:
            assert "# Slipway pipeline imported from circle.yml" in f.read()
        wait_for("the slipway.toml fact", lambda: "slipway.toml" in h.text("header .facts"), 10)
    finally:
        invoke(h, "project_remove", {"path": project})
        h.driver.refresh()


WORKFLOW = """version: 2.1
executors:
  box:
    docker:
      - image: slipway-test/wfbox:1
jobs:
  build:
    executor: box
    steps:
      - checkout
      - run: mkdir -p dist && echo built > dist/app.txt
      - persist_to_workspace: { root: ., paths: [dist] }
  test:
    executor: box
    steps:
      - attach_workspace: { at: ~/project }
      - run:
          name: unit tests
          command: |
            mkdir -p reports
            echo '<testsuite name="app"><testcase classname="tests" name="test_home"/><testcase classname="tests" name="test_sum"><failure message="assert 3 == 4">AssertionError</failure></testcase></testsuite>' > reports/junit.xml
            exit 1
      - store_test_results: { path: reports }
  lint:
    docker:
      - image: slipway-test/wfbox:1
      - image: slipway-test/wfbox:1
        name: db
        command: ["sh", "-c", "echo db is up; sleep 300"]
    steps:
      - run: echo lint ok
  deploy:
    executor: box
    steps:
      - run: echo deployed
workflows:
  main:
    jobs:
      - build
      - test: { requires: [build] }
      - lint: { requires: [build] }
      - hold: { type: approval, requires: [lint] }
      - deploy: { requires: [hold] }
"""


def test_a_circleci_workflow_shows_its_jobs_and_failing_cases(h):
    """A project with .circleci/config.yml and no slipway.toml runs its
    workflow from the window: the job graph with each job's state, an
    approval answered with its button, the failing test case first."""
    image = tempfile.mkdtemp(dir=h.work)
    shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(image, "busybox"))
    with open(os.path.join(image, "Dockerfile"), "w") as f:
        f.write('FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
    subprocess.run(["docker", "build", "-q", "-t", "slipway-test/wfbox:1", image], check=True,
                   stdout=subprocess.DEVNULL, timeout=120)
    project = os.path.join(tempfile.mkdtemp(dir=h.work), "wf-desktop")
    os.makedirs(os.path.join(project, ".circleci"))
    with open(os.path.join(project, ".circleci", "config.yml"), "w") as f:
        f.write(WORKFLOW)
    added = invoke(h, "project_add", {"path": project})
    assert "ok" in added, added
    h.driver.refresh()
    try:
        show_project(h, "wf-desktop")
        jobs = lambda: {e.get_attribute("data-job"): e.get_attribute("data-state")
                        for e in h.driver.find_elements(By.CSS_SELECTOR, "[data-testid=job]")}
        wait_for("the planned jobs", lambda: jobs() == {j: "pending" for j in ["build", "test", "lint", "hold", "deploy"]}, 30)
        assert "Run workflow" in h.text("[data-testid=run]"), h.text("[data-testid=run]")
        before = h.history_count()
        h.css("[data-testid=run]").click()
        wait_for("the approval waiting", lambda: jobs().get("hold") == "waiting", 120)
        assert jobs()["build"] == "passed" and jobs()["lint"] == "passed", jobs()
        h.shot("26-workflow-waits-for-approval")
        h.css("[data-job=hold] [data-testid=approve]").click()
        h.wait_for_new_run(before, "failed", 120)
        final = jobs()
        assert final == {"build": "passed", "test": "failed", "lint": "passed", "hold": "passed", "deploy": "passed"}, final
        cases = [(e.get_attribute("data-result"), e.text) for e in h.driver.find_elements(By.CSS_SELECTOR, "[data-testid=test-case]")]
        assert cases[0][0] == "failed" and "tests.test_sum" in cases[0][1] and "assert 3 == 4" in cases[0][1], cases
        assert "2 tests, 1 failed" in h.text("[data-testid=test-results]")
        # Picking a job shows its steps only.
        h.css("[data-job=test] .pick").click()
        names = [e.text for e in h.driver.find_elements(By.CSS_SELECTOR, ".timeline > li .name")]
        assert "unit tests" in names and "echo lint ok" not in names, names
        h.shot("27-workflow-failing-case")
        # A service's output on its own: the log filtered to its step.
        Select(h.css("[data-testid=log-filter]")).select_by_visible_text("lint › service db")
        # (Rendered text: the log's pooled rows keep hidden text.)
        wait_for("the service's log alone", lambda: "db is up" in h.css(".viewport").text
                 and "lint ok" not in h.css(".viewport").text, 10)
        h.shot("28-workflow-service-log")
        Select(h.css("[data-testid=log-filter]")).select_by_visible_text("all steps")
        wait_for("the whole log again", lambda: "lint ok" in h.css(".viewport").text, 10)
        assert containers("wf-desktop") == []
    finally:
        invoke(h, "project_remove", {"path": project})
        h.driver.refresh()


def app_running():
    return subprocess.run(["pgrep", "-f", f"^{APP}$"], capture_output=True).returncode == 0


def window_map_state():
    """The main window's map state on the X server (IsViewable when shown)."""
    out = subprocess.run(["xwininfo", "-name", "Slipway"], capture_output=True, text=True, timeout=10).stdout
    found = re.search(r"Map State: (\w+)", out)
    return found.group(1) if found else None


def test_window_size_and_position_are_remembered(h):
    h.driver.set_window_rect(x=120, y=80, width=1040, height=690)
    def resized():
        rect = h.driver.get_window_rect()
        return rect if (rect["width"], rect["height"]) == (1040, 690) else None
    placed = wait_for("the window to take its new size", resized, 10)
    assert window_map_state() == "IsViewable"
    # Close the window to the tray, then quit from the tray, as a user
    # would: the next launch opens where it was, and shown, though the
    # window was hidden when the app quit.
    ActionChains(h.driver).key_down(Keys.CONTROL).send_keys("w").key_up(Keys.CONTROL).perform()
    wait_for("the window to hide in the tray", lambda: window_map_state() != "IsViewable", 10)
    item = wait_for("the tray icon", tray_item, 20)
    menu, labels = tray_menu(item)
    click_tray(item, menu, next(i for i, label in labels if label == "Quit"))
    wait_for("the app to quit", lambda: not app_running(), 20)
    try:
        h.driver.quit()
    except Exception:  # the session's app is gone already
        pass
    h.driver = h.launch()
    wait_for("the window", lambda: h.css(".sidebar"), 30)
    wait_for("the window to show", lambda: window_map_state() == "IsViewable", 10)
    again = h.driver.get_window_rect()
    assert (again["width"], again["height"]) == (1040, 690), again
    assert (again["x"], again["y"]) == (placed["x"], placed["y"]), (placed, again)
    h.shot("12-window-restored")


def test_a_relaunched_window_shows_the_last_results(h):
    """After a restart, the project list, the project's page and the tray
    show the last run's result, steps and log, from the history."""
    h.run_and_wait("passed")
    relaunch(h)
    show_project(h, h.name)
    outcome = wait_for("the last result", lambda: h.css("[data-testid=outcome][data-result=passed]"), 30)
    assert "Passed" in outcome.text, outcome.text
    assert set(h.steps()) == {"passed"}, h.steps()
    dot = h.driver.execute_script(
        "const b = [...document.querySelectorAll('.sidebar .project')]"
        ".find((b) => b.querySelector('.name')?.textContent.trim() === arguments[0]);"
        "return b.querySelector('.dot').className;", h.name)
    assert "passed" in dot, dot
    wait_for("the log", lambda: "ready after" in (h.text(".log .viewport") or ""), 10)
    item = wait_for("the tray icon", tray_item, 20)
    wait_for("the tray's passed icon", lambda: tray_icon_matches(item, "passed"), 20)
    h.shot("23-remembered")


def test_settings_checks_the_setup_and_starts_at_login(h):
    """Settings shows `slipway doctor`'s checks and About; the start at
    login setting writes and removes the autostart entry."""
    autostart = os.path.expanduser("~/.config/autostart")
    def entries():
        if not os.path.isdir(autostart):
            return []
        found = []
        for name in os.listdir(autostart):
            with open(os.path.join(autostart, name)) as f:
                text = f.read()
            if "--in-tray" in text:
                found.append((name, text))
        return found
    assert entries() == [], entries()
    h.css(".settings-link").click()
    health = wait_for("the checks", lambda: h.driver.find_elements(
        By.CSS_SELECTOR, "[data-testid=health] li[data-verdict]"), 60)
    names = [e.find_element(By.TAG_NAME, "strong").text for e in health]
    assert names[:2] == ["Docker engine", "git"] and "History" in names and "Pipeline" in names, names
    engine = next(e for e in health if e.find_element(By.TAG_NAME, "strong").text == "Docker engine")
    assert engine.get_attribute("data-verdict") == "pass", engine.text
    about = wait_for("About", lambda: "commit" in (h.text("[data-testid=about]") or "") and h.text("[data-testid=about]"), 20)
    assert "Docker API 1." in about, about
    box = h.css("[data-testid=start-at-login]")
    assert not box.is_selected()
    box.click()
    found = wait_for("the autostart entry", entries, 10)
    name, text = found[0]
    assert "Exec=" in text and "slipway-desktop" in text, text
    h.shot("24-settings-health")
    h.css("[data-testid=start-at-login]").click()
    wait_for("the autostart entry removed", lambda: entries() == [], 10)
    with open(os.path.join(h.config, "settings.json")) as f:
        assert json.load(f)["start_at_login"] is False


def test_the_page_cannot_reach_beyond_its_folders(h):
    """From the page: a command on a folder that was not added, an unknown
    command, a plugin command Slipway does not grant, and remote content are
    all refused."""
    for command, args in [("run_start", {"path": "/etc"}), ("project_inspect", {"path": "/root"}),
                          ("push_plan", {"path": "/tmp", "tag": None}),
                          ("doctor_checks", {"path": "/usr"}), ("containers_list", {"path": "/"})]:
        answer = invoke(h, command, args)
        assert "err" in answer and "is not one of your projects" in str(answer["err"]), (command, answer)
    unknown = invoke(h, "no_such_command")
    assert "err" in unknown, unknown
    for plugin in ["plugin:autostart|enable", "plugin:fs|read_text_file"]:
        refused = invoke(h, plugin, {"path": "/etc/passwd"})
        assert "err" in refused, (plugin, refused)

    # A local server stands in for any remote host: nothing may reach it.
    hits = []

    class Counter(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        outcome = h.driver.execute_async_script(
            "const done = arguments[arguments.length - 1]; const url = arguments[0];"
            "const img = new Promise((ok) => { const i = new Image(); i.onload = () => ok('loaded');"
            "  i.onerror = () => ok('refused'); i.src = url + '/img'; });"
            "const got = fetch(url + '/fetch').then(() => 'fetched', () => 'refused');"
            "Promise.all([img, got]).then(done);", url)
        assert outcome == ["refused", "refused"], outcome
        assert hits == [], hits
    finally:
        server.shutdown()


def test_a_second_launch_focuses_the_first(h):
    second = subprocess.run([APP], capture_output=True, timeout=30)
    assert second.returncode == 0, second
    running = subprocess.run(["pgrep", "-fc", f"^{APP}$"], capture_output=True, text=True).stdout.strip()
    assert running == "1", f"{running} instances running"


def test_a_run_the_history_cannot_keep_says_why(h):
    # The history's folder turns read-only: the run still runs, and the window
    # and the notification say it was not kept, and why.
    data = os.environ["SLIPWAY_DATA_DIR"]
    # Counted while it can be opened: SQLite cannot open a WAL file in a read-only folder.
    before = h.history_count()
    subprocess.run(["mount", "--bind", data, data], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", data], check=True)
        h.css("[data-testid=run]").click()
        banner = wait_for("the not-kept banner", lambda: [
            e for e in h.driver.find_elements(By.CSS_SELECTOR, "main .problem")
            if "not kept in the history" in e.text], 120)[0]
        assert "read-only file system" in banner.text, banner.text
        assert "Check that the folder is writable" in banner.text, banner.text
        wait_for("the notification", lambda: h.notified("Not kept in the history"), 30)
        assert h.notified(f"{h.name}: passed")
        h.shot("25-history-not-kept")
    finally:
        # Lazily: the app keeps its log open in that folder.
        subprocess.run(["umount", "--lazy", data], check=True)
    assert h.history_count() == before
    banner.find_element(By.CSS_SELECTOR, "[aria-label=Dismiss]").click()
    wait_for("the banner dismissed", lambda: not h.driver.find_elements(By.CSS_SELECTOR, "main .problem"), 10)


def test_history_lists_the_runs(h):
    # Its own runs: one passes, the next fails.
    h.run_and_wait("passed")
    h.write_toml('[[test]]\nname = "wants Paris"\nrun = "echo looking for Paris; false"\n')
    h.run_and_wait("failed")
    h.driver.find_element(By.CSS_SELECTOR, "[role=tab]:nth-child(2)").click()
    rows = wait_for("both runs in history", lambda: len(h.driver.find_elements(By.CSS_SELECTOR, ".history .run")) >= 2
                    and h.driver.find_elements(By.CSS_SELECTOR, ".history .run"))
    results = [r.find_element(By.CSS_SELECTOR, ".result").text for r in rows]
    assert results[:2] == ["failed", "passed"], results
    rows[1].click()
    wait_for("the passed run's log", lambda: "lists Seattle" in h.css(".detail").text)
    h.shot("06-history")


def main():
    # A stuck WebDriver call must fail the suite, not hang it.
    faulthandler.dump_traceback_later(900, exit=True)
    if not os.path.exists(APP):
        sys.exit(f"{APP} is missing: scripts/test-desktop builds it")
    global H
    h = H = Harness()
    failures = 0
    try:
        tests = [test_run_passes, test_broken_test_step_fails_with_output, test_cancel_leaves_no_container,
                 test_clicking_a_notification_opens_its_run, test_history_lists_the_runs,
                 test_tray_menu_runs_a_project, test_adding_a_project_and_rejecting_a_bad_one,
                 test_accounts_in_settings, test_pull_request_flow,
                 test_a_red_pull_request_says_why_and_runs_again,
                 test_a_push_git_has_no_credentials_for_uses_the_sign_in,
                 test_merge_when_green_uses_githubs_auto_merge,
                 test_a_circleci_project_runs_as_imported_and_saves,
                 test_a_circleci_workflow_shows_its_jobs_and_failing_cases,
                 test_deploy_fires_once_for_a_green_default_branch, test_push_shows_each_layer,
                 test_a_relaunched_window_shows_the_last_results,
                 test_settings_checks_the_setup_and_starts_at_login,
                 test_the_page_cannot_reach_beyond_its_folders,
                 test_a_run_the_history_cannot_keep_says_why,
                 test_window_size_and_position_are_remembered,
                 test_a_second_launch_focuses_the_first]
        # Each test sets up what it needs (Harness.fresh): any order works.
        if os.environ.get("SLIPWAY_E2E_ORDER") == "reverse":
            tests.reverse()
        for test in tests:
            only = os.environ.get("SLIPWAY_E2E_ONLY")
            if only and test.__name__ not in only.split(","):
                continue
            print(f"{test.__name__} ...", flush=True)
            try:
                h.fresh()
                test(h)
                print("  ok", flush=True)
            except Exception:
                failures += 1
                traceback.print_exc()
                if os.environ.get("SLIPWAY_E2E_KEEP_DATA"):
                    shutil.copytree(os.environ["SLIPWAY_DATA_DIR"], f"/tmp/kept-{test.__name__}", dirs_exist_ok=True)
                try:
                    h.shot(f"failed-{test.__name__}")
                    print(h.driver.find_element(By.TAG_NAME, "main").text[:2000])
                except Exception as e:  # the window may be gone
                    print(f"  (no screenshot: {e})")
    finally:
        h.close()
    if failures:
        sys.exit(f"{failures} desktop test(s) failed")
    print("desktop tests passed")


if __name__ == "__main__":
    main()
