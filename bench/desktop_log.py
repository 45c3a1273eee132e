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
from desktop import pss_kib, tree  # noqa: E402

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
APP = os.path.join(TARGET, "release", "slipway-desktop")
EMPTY = os.path.join(TARGET, "release", "slipway-bench-empty-window")
CLI = os.path.join(TARGET, "release", "slipway")
LINES = int(os.environ.get("SLIPWAY_BENCH_LINES", 1_000_000))
# The control: the empty window (WebKitGTK's floor) measured the same way
# while the same pipeline streams through the `slipway` CLI: the machine's
# load without the app's page.
CONTROL = os.environ.get("SLIPWAY_BENCH_CONTROL") == "empty-window"

FRAME_PROBE = """
window.__frames = []; window.__long = []; window.__stop = false; let last = performance.now();
window.__fullAt = null; window.__floodAt = null; window.__done = null;
function tick(t) {
  const dt = t - last; window.__frames.push(dt); last = t;
  const lines = Number(document.querySelector('.viewport')?.dataset.lines ?? 0);
  if (dt > 50) window.__long.push([Math.round(t), Math.round(dt), lines]);
  if (lines >= 100000 && window.__fullAt === null) window.__fullAt = t;
  if (lines >= 1000 && window.__floodAt === null) window.__floodAt = t;
  const outcome = document.querySelector('[data-testid=outcome]');
  if (outcome && !window.__done) window.__done = [t, outcome.dataset.result];
  if (!window.__stop) requestAnimationFrame(tick);
}
requestAnimationFrame(tick);
// A 5 ms timer: when it fires late, the page's main thread was busy (a long
// frame with no late timer means painting waited, not the page).
window.__gaps = []; let lt = performance.now();
function beat() {
  const n = performance.now();
  if (n - lt > 50) window.__gaps.push([Math.round(n), Math.round(n - lt)]);
  lt = n;
  if (!window.__stop) setTimeout(beat, 5);
}
setTimeout(beat, 5);
"""


def cpu_by_process():
    """CPU seconds used so far by every process (threads included), by pid
    with its name (a kernel worker's name changes with its work)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        used[pid] = (name, (int(fields[11]) + int(fields[12])) / ticks)
    return used


def control(driver, project):
    """The empty window's frames while `slipway run` streams the same log."""
    for binary in (EMPTY, CLI):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: run scripts/bench-desktop-log")
    driver.execute_script(FRAME_PROBE)
    cpu_before = cpu_by_process()
    started = time.monotonic()
    run = subprocess.run([CLI, "run", project], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - started
    cpu_after = cpu_by_process()
    if run.returncode != 0:
        sys.exit(f"slipway run failed: {run.stderr.strip()}")
    frames = driver.execute_script("window.__stop = true; return window.__frames.slice(1);")
    gaps = driver.execute_script("return window.__gaps;")
    frames.sort()
    print(f"control (the empty window, the pipeline run by the CLI): {LINES:,} lines in {elapsed:.1f} s")
    print(f"frames: {len(frames)}, median {statistics.median(frames):.1f} ms, p99 {frames[int(len(frames) * 0.99)]:.1f} ms, "
          f"max {frames[-1]:.1f} ms, over 50 ms: {sum(1 for f in frames if f > 50)}")
    print_gaps(gaps)
    print_cpu(cpu_before, cpu_after)


def print_gaps(gaps):
    """When the page's 5 ms timer fired over 50 ms late (page time it fired, ms late)."""
    print(f"main thread busy over 50 ms at a time: {len(gaps)} times"
          + (f", longest {max(d for _, d in gaps)} ms (page time/ms: "
             + ", ".join(f"{t}/{d}" for t, d in gaps) + ")" if gaps else ""))


def print_cpu(before, after):
    by_name = {}
    for pid, (name, used) in after.items():
        name = name.split("/")[0] if name.startswith("kworker") else name
        by_name[name] = by_name.get(name, 0) + used - before.get(pid, (name, 0))[1]
    cpu = sorted(((c, n) for n, c in by_name.items()), reverse=True)
    print("CPU seconds while streaming: " + ", ".join(f"{n} {c:.2f}" for c, n in cpu[:6] if c >= 0.05))


def main():
    work = tempfile.mkdtemp(prefix="slipway-bench-log-")
    project = os.path.join(work, "million")
    shutil.copytree(os.path.join(ROOT, "examples", "hello"), project, ignore=shutil.ignore_patterns("busybox"))
    shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(project, "busybox"))
    CMD = os.environ.get("SLIPWAY_BENCH_COMMAND") or f"seq 1 {LINES}"
    with open(os.path.join(project, "slipway.toml"), "a") as f:
        f.write(f'\n[[test]]\nname = "a million lines"\nrun = "{CMD}"\n')
    config = os.path.join(work, "config")
    os.makedirs(config)
    with open(os.path.join(config, "projects.json"), "w") as f:
        json.dump({"paths": [project]}, f)
    os.environ.update(SLIPWAY_CONFIG_DIR=config, SLIPWAY_DATA_DIR=os.path.join(work, "data"))

    driver_proc = subprocess.Popen(["tauri-driver"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    options = ArgOptions()
    options.set_capability("tauri:options", {"application": EMPTY if CONTROL else APP})
    options.set_capability("browserName", "wry")
    driver = webdriver.Remote(command_executor="http://127.0.0.1:4444", options=options)
    try:
        if CONTROL:
            return control(driver, project)
        deadline = time.monotonic() + 60
        while not driver.find_elements(By.CSS_SELECTOR, "[data-testid=run]"):
            if time.monotonic() > deadline:
                sys.exit("the app never showed the project")
            time.sleep(0.1)
        app_pid = int(subprocess.run(["pgrep", "-n", "-f", f"^{APP}$"], capture_output=True, text=True).stdout)
        # While lines stream, memory is sampled from each process's resident
        # size (/proc/PID/statm, a counter read) every 0.25 s: PSS walks every
        # page table (tens of ms of CPU a sample), which on two cores would
        # take time from the app being measured. PSS is read once, after.
        pids = tree(app_pid)
        page = os.sysconf("SC_PAGE_SIZE")
        samples = []
        stop = threading.Event()

        names = {}
        for p in pids:
            try:
                with open(f"/proc/{p}/comm") as f:
                    names[p] = f.read().strip()
            except OSError:
                pass

        def rss_kib():
            by_name = {}
            for p in pids:
                try:
                    with open(f"/proc/{p}/statm") as f:
                        kib = int(f.read().split()[1]) * page // 1024
                except OSError:
                    continue
                by_name[names.get(p, p)] = by_name.get(names.get(p, p), 0) + kib
            return sum(by_name.values()), by_name

        def sample():
            while not stop.is_set():
                samples.append((time.monotonic(), *rss_kib()))
                time.sleep(0.25)

        driver.execute_script(FRAME_PROBE)
        origin = driver.execute_script("return performance.timeOrigin;")
        shift = time.time() - time.monotonic()
        started = time.monotonic()
        cpu_before = cpu_by_process()
        # Control: no run, `CONTROL_HOGS` busy loops for 3 s (do frames slip
        # with the CPUs busy and nothing for the page to do?).
        if os.environ.get("CONTROL_HOGS"):
            hogs = [subprocess.Popen(["timeout", "3", "yes"], stdout=subprocess.DEVNULL) for _ in range(int(os.environ["CONTROL_HOGS"]))]
            for hog in hogs:
                hog.wait()
            frames = driver.execute_script("window.__stop = true; return window.__frames.slice(1);")
            frames.sort()
            print(f"control, {len(hogs)} busy loops for 3 s: frames {len(frames)}, max {frames[-1]:.0f}, over 50: {sum(1 for f in frames if f > 50)}, late timer: {driver.execute_script('return window.__gaps;')}")
            return
        driver.find_element(By.CSS_SELECTOR, "[data-testid=run]").click()
        if os.environ.get("SLIPWAY_BENCH_NO_FOLLOW"):
            time.sleep(0.3)
            driver.execute_script("document.querySelector('.log .bar input[type=checkbox]').click()")
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # Polled once a second: every WebDriver call wakes five processes.
        while not (done := driver.execute_script("return window.__done;")):
            if time.monotonic() - started > 900:
                sys.exit("the run did not finish within 15 minutes")
            time.sleep(1)
        cpu_after = cpu_by_process()
        stop.set()
        sampler.join()
        done_at = (origin + done[0]) / 1000 - shift
        elapsed = done_at - started
        full_at = driver.execute_script("return window.__fullAt;")
        full_at = None if full_at is None else (origin + full_at) / 1000 - shift
        pss_after = pss_kib(app_pid)
        if os.environ.get("SLIPWAY_BENCH_SMAPS"):
            maps, cur = {}, None
            for line in open(f"/proc/{app_pid}/smaps"):
                parts = line.split()
                if "-" in parts[0] and len(parts) >= 5:
                    cur = parts[5] if len(parts) > 5 else "[anon]"
                elif parts[0] == "Rss:":
                    maps[cur] = maps.get(cur, 0) + int(parts[1])
            print("app RSS by mapping (MiB): " + ", ".join(f"{k} {v / 1024:.0f}" for k, v in sorted(maps.items(), key=lambda kv: -kv[1])[:8]))
        result = done[1]
        frames = driver.execute_script("window.__stop = true; return window.__frames.slice(1);")
        long_frames = driver.execute_script("return window.__long;")
        gaps = driver.execute_script("return window.__gaps;")
        flood_at = driver.execute_script("return window.__floodAt;") or done[0]
    finally:
        driver.quit()
        driver_proc.terminate()
    if result != "passed":
        sys.exit(f"the run ended {result}")
    frames.sort()
    over = sum(1 for f in frames if f > 50)
    # The target is about streaming: frames before the log streamed (the
    # run starting: its view drawn, the image built, the container started)
    # and after the run's result showed (until the bench noticed, up to a
    # second later) are counted apart. A frame is placed by when it ended.
    before = sum(1 for t, _, _ in long_frames if t <= flood_at)
    after = sum(1 for t, _, _ in long_frames if t > done[0])
    full = [s for s in samples if full_at is not None and full_at <= s[0] <= done_at]
    print(f"lines: {LINES:,} in {elapsed:.1f} s ({LINES / elapsed:,.0f} lines/s through the window)")
    print(f"frames: {len(frames)}, median {statistics.median(frames):.1f} ms, "
          f"p99 {frames[int(len(frames) * 0.99)]:.1f} ms, max {frames[-1]:.1f} ms, over 50 ms: {over}"
          f" ({before} before the log streamed, {over - before - after} while it streamed, {after} after the result showed)")
    if long_frames:
        print("frames over 50 ms (page time ms, length ms, lines shown): "
              + ", ".join(f"{t}/{d}/{n}" for t, d, n in long_frames)
              + f"; the log streamed from {flood_at:.0f}; the run's result showed at {done[0]:.0f}")
    if os.environ.get("SLIPWAY_BENCH_FRAME_CLOCK"):
        # Long frames on CLOCK_MONOTONIC, to line up with `perf record -k monotonic`.
        print("long frames (monotonic s, ms): " + ", ".join(
            f"{(origin + t) / 1000 - shift:.3f}/{d}" for t, d, _ in long_frames))
    print_gaps(gaps)
    print_cpu(cpu_before, cpu_after)
    if full:
        print(f"RSS once the live log is full: {full[0][1] / 1024:.0f} MiB; at the end: {full[-1][1] / 1024:.0f} MiB; "
              f"peak {max(s[1] for s in full) / 1024:.0f} MiB ({len(full)} samples)")
        print("  of which: " + ", ".join(
            f"{name} {full[0][2].get(name, 0) / 1024:.0f} → {full[-1][2].get(name, 0) / 1024:.0f}"
            for name in sorted(full[-1][2], key=lambda n: -full[-1][2][n])[:3]))
    if os.environ.get("SLIPWAY_BENCH_SERIES"):
        print("RSS series (s, app MiB, web MiB): " + ", ".join(
            f"{t - started:.1f}/{b.get('slipway-desktop', 0) / 1024:.0f}/{b.get('WebKitWebProces', 0) / 1024:.0f}" for t, _, b in samples))
    print(f"PSS after the run, the live log full: {pss_after / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
