#!/usr/bin/env python3
"""Crash recovery: `kill -9` of `slipway run` while its service runs, then
the next command (`slipway history`); the time from the kill to the run's
container being gone, median over ROUNDS.

    python3 bench/orphan.py [ROUNDS]

Needs: scripts/setup done, `cargo build --release -p slipway-cli`.
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
SLIPWAY = os.path.join(TARGET, "release", "slipway")


def containers(project):
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=dev.slipway.project={project}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def wait(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.01)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    work = tempfile.mkdtemp(prefix="slipway-bench-orphan-")
    try:
        project = os.path.join(work, "orphan")
        shutil.copytree(os.path.join(ROOT, "examples", "hello"), project)
        with open(os.path.join(project, "slipway.toml"), "a") as f:
            f.write('\n[[test]]\nname = "slow"\nrun = "sleep 120"\n')
        env = dict(os.environ, SLIPWAY_DATA_DIR=os.path.join(work, "data"))
        times = []
        for _ in range(rounds):
            run = subprocess.Popen([SLIPWAY, "run", project], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait("the service", lambda: containers("orphan"))
            run.send_signal(signal.SIGKILL)
            run.wait()
            killed = time.perf_counter()
            subprocess.run([SLIPWAY, "history", "-n", "1"], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait("the container to go", lambda: not containers("orphan"), 30)
            times.append(time.perf_counter() - killed)
        print(f"kill -9 -> containers gone on the next command: median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms over {rounds}")
    finally:
        subprocess.run([SLIPWAY, "clean", "--project", "orphan"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
