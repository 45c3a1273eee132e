#!/usr/bin/env python3
"""Streaming a 1,000,000-line log into the desktop app's viewer: the
longest frame while lines arrive, and the app's memory (PSS of the app and
its WebKit processes) once the live log is full and at the end.

    scripts/bench-desktop-log

The pipeline's test step prints 1,000,000 numbered lines in the container
(busybox `seq`); the window follows the log the whole time.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from desktop import pss_kib  # noqa: E402

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
APP = os.path.join(TARGET, "release", "slipway-desktop")
LINES = 1_000_000

FRAME_PROBE = """
window.__frames = []; window.__long = []; window.__stop = false; let last = performance.now();
function tick(t) {
  const dt = t - last; window.__frames.push(dt); last = t;
  if (dt > 50) window.__long.push([Math.round(t), Math.round(dt), Number(document.querySelector('.viewport')?.dataset.lines ?? 0)]);
  if (!window.__stop) requestAnimationFrame(tick);
}
requestAnimationFrame(tick);
// A 5 ms timer: when it fires late, the page's main thread was busy (a long
// frame with no late timer means painting waited, not the page).
window.__gaps = []; let lt = performance.now();
function beat() {
  const n = performance.now();
  if (n - lt > 50) window.__gaps.push(Math.round(n - lt));
  lt = n;
  if (!window.__stop) setTimeout(beat, 5);
}
setTimeout(beat, 5);
"""


def main():
    work = tempfile.mkdtemp(prefix="slipway-bench-log-")
    project = os.path.join(work, "million")
    shutil.copytree(os.path.join(ROOT, "examples", "hello"), project, ignore=shutil.ignore_patterns("busybox"))
    shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(project, "busybox"))
    with open(os.path.join(project, "slipway.toml"), "a") as f:
        f.write(f'\n[[test]]\nname = "a million lines"\nrun = "seq 1 {LINES}"\n')
    config = os.path.join(work, "config")
    os.makedirs(config)
    with open(os.path.join(config, "projects.json"), "w") as f:
        json.dump({"paths": [project]}, f)
    os.environ.update(SLIPWAY_CONFIG_DIR=config, SLIPWAY_DATA_DIR=os.path.join(work, "data"))

    driver_proc = subprocess.Popen(["tauri-driver"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    options = ArgOptions()
    options.set_capability("tauri:options", {"application": APP})
    options.set_capability("browserName", "wry")
    driver = webdriver.Remote(command_executor="http://127.0.0.1:4444", options=options)
    try:
        deadline = time.monotonic() + 60
        while not driver.find_elements(By.CSS_SELECTOR, "[data-testid=run]"):
            if time.monotonic() > deadline:
                sys.exit("the app never showed the project")
            time.sleep(0.1)
        app_pid = int(subprocess.run(["pgrep", "-n", "-f", f"^{APP}$"], capture_output=True, text=True).stdout)
        samples = []
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                lines = driver_lines[0]
                samples.append((time.monotonic(), lines, pss_kib(app_pid)))
                time.sleep(0.5)

        driver_lines = [0]
        driver.execute_script(FRAME_PROBE)
        started = time.monotonic()
        driver.find_element(By.CSS_SELECTOR, "[data-testid=run]").click()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        while True:
            state = driver.execute_script(
                "const v = document.querySelector('.viewport');"
                "const o = document.querySelector('[data-testid=outcome]');"
                "return [v ? Number(v.dataset.lines) : 0, o ? o.dataset.result : null,"
                " document.querySelector('.log .bar')?.textContent ?? ''];")
            driver_lines[0] = state[0]
            if state[1]:
                break
            if time.monotonic() - started > 900:
                sys.exit("the run did not finish within 15 minutes")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()
        frames = driver.execute_script("window.__stop = true; return window.__frames.slice(1);")
        long_frames = driver.execute_script("return window.__long;")
        gaps = driver.execute_script("return window.__gaps;")
        result = state[1]
    finally:
        driver.quit()
        driver_proc.terminate()
    if result != "passed":
        sys.exit(f"the run ended {result}")
    frames.sort()
    over = sum(1 for f in frames if f > 50)
    full = [s for s in samples if s[1] >= 100_000]
    print(f"lines: {LINES:,} in {elapsed:.1f} s ({LINES / elapsed:,.0f} lines/s through the window)")
    print(f"frames: {len(frames)}, median {statistics.median(frames):.1f} ms, "
          f"p99 {frames[int(len(frames) * 0.99)]:.1f} ms, max {frames[-1]:.1f} ms, over 50 ms: {over}")
    if long_frames:
        print("frames over 50 ms (page time ms, length ms, lines shown): "
              + ", ".join(f"{t}/{d}/{n}" for t, d, n in long_frames))
    print(f"main thread busy over 50 ms at a time: {len(gaps)} times"
          + (f", longest {max(gaps)} ms" if gaps else ""))
    if full:
        print(f"PSS once the live log is full: {full[0][2] / 1024:.0f} MiB; at the end: {samples[-1][2] / 1024:.0f} MiB; "
              f"peak {max(s[2] for s in samples) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
