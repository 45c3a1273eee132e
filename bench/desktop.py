#!/usr/bin/env python3
"""Desktop app against an empty Tauri 2 window built the same way (release,
custom-protocol), alternated in one run under Xvfb:

- cold start to first meaningful paint (the app: its project list drawn;
  the empty window: its page painted), from spawning the process to the
  page's report, split at the moment the page starts loading (before it:
  GTK, the window and WebKit's processes; after it: the page's own work);
- idle memory: PSS of the process and its WebKit children, 5 s after paint.

    scripts/bench-desktop [ROUNDS]

(the script builds both, then runs this inside xvfb-run and
dbus-run-session with a fresh HOME).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from proctree import tree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
APP = os.path.join(TARGET, "release", "slipway-desktop")
EMPTY = os.path.join(TARGET, "release", "slipway-bench-empty-window")
IDLE_SECONDS = 5
# The steps each page reported reaching (name=ms since it started loading).
MARKS = {}
SLOW_START = 0.25


def pss_kib(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def measure(binary, env):
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    painted = page = None
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        if "SLIPWAY_PAGE_STARTED" in line and page is None:
            page = time.perf_counter() - start
        if "SLIPWAY_PAINTED" in line:
            painted = time.perf_counter() - start
            MARKS.setdefault(binary, []).append(line.split("SLIPWAY_PAINTED", 1)[1].split())
            break
        if time.monotonic() > deadline:
            break
    if painted is None or page is None:
        proc.kill()
        sys.exit(f"{binary} never reported its first paint")
    time.sleep(IDLE_SECONDS)
    pss = pss_kib(proc.pid)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    return painted, pss, page


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for binary in (APP, EMPTY):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: run scripts/bench-desktop")
    work = tempfile.mkdtemp(prefix="slipway-bench-desktop-")
    config = os.path.join(work, "config")
    os.makedirs(config)
    with open(os.path.join(config, "projects.json"), "w") as f:
        json.dump({"paths": [os.path.join(ROOT, "examples", "hello")]}, f)
    env = dict(os.environ, SLIPWAY_STARTUP_PROBE="1", SLIPWAY_CONFIG_DIR=config,
               SLIPWAY_DATA_DIR=os.path.join(work, "data"))
    results = {"slipway": [], "empty": []}
    measure(EMPTY, env)  # warm the page cache for both
    measure(APP, env)
    for i in range(rounds):
        order = [("slipway", APP), ("empty", EMPTY)]
        if i % 2:
            order.reverse()
        for name, binary in order:
            results[name].append(measure(binary, env))
    paint = {k: statistics.median(r[0] for r in v) for k, v in results.items()}
    pss = {k: statistics.median(r[1] for r in v) for k, v in results.items()}
    # WebKitGTK sometimes takes about 0.5 s longer to start loading the page,
    # in either binary; such rounds are counted and compared separately.
    fastest = min(r[2] for v in results.values() for r in v)
    slow = {k: [r for r in v if r[2] > fastest + SLOW_START] for k, v in results.items()}
    quick = {k: [r for r in v if r[2] <= fastest + SLOW_START] for k, v in results.items()}
    print(f"rounds: {rounds}")
    for name, runs in results.items():
        print(f"  {name}: paint (page started) " + ", ".join(f"{r[0]:.3f} ({r[2]:.3f})" for r in runs) + " s")
    print(f"first meaningful paint: slipway {paint['slipway']:.3f} s, empty window {paint['empty']:.3f} s, "
          f"ratio {paint['slipway'] / paint['empty']:.2f}")
    print(f"  slow WebKit starts (page started > {SLOW_START:.2f} s after the fastest): "
          f"slipway {len(slow['slipway'])}/{rounds}, empty window {len(slow['empty'])}/{rounds}")
    if quick["slipway"] and quick["empty"]:
        a = statistics.median(r[0] for r in quick["slipway"])
        b = statistics.median(r[0] for r in quick["empty"])
        print(f"  rounds without a slow start: slipway {a:.3f} s, empty window {b:.3f} s, ratio {a / b:.2f}")
    own = {k: statistics.median(r[0] - r[2] for r in v) for k, v in results.items()}
    print(f"  page start to paint: slipway {own['slipway'] * 1000:.0f} ms, empty window {own['empty'] * 1000:.0f} ms")
    for label, binary in (("slipway's page", APP), ("the empty page", EMPTY)):
        steps = {}
        for run in MARKS.get(binary, [])[1:]:  # the first is the warm-up round
            for m in run:
                name, _, ms = m.partition("=")
                steps.setdefault(name, []).append(float(ms))
        if steps:
            print(f"  {label}, median ms since it started loading: "
                  + ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in steps.items()))
    print(f"idle PSS (app + WebKit processes): slipway {pss['slipway'] / 1024:.1f} MiB, "
          f"empty window {pss['empty'] / 1024:.1f} MiB, ratio {pss['slipway'] / pss['empty']:.2f}")


if __name__ == "__main__":
    main()
