#!/usr/bin/env python3
"""A three-job CircleCI workflow (build, then test and lint side by side)
run by `slipway run`, against a docker-CLI script doing the same steps in
the same image: a container per job, the project copied in, the steps
exec'd, the workspace copied out of build and into test and lint, which
run in parallel, and every container removed.

    python3 bench/workflow.py [ROUNDS]

Slipway and the script alternate ROUNDS times; the figure is the median of
Slipway's time to exit over the script's. Needs: scripts/setup done,
scripts/flask-base-image, `cargo build --release -p slipway-cli`.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
SLIPWAY = os.path.join(TARGET, "release", "slipway")
IMAGE = "slipway-test/python:3.11"

CONFIG = """version: 2.1
executors:
  py:
    docker:
      - image: %s
jobs:
  build:
    executor: py
    steps:
      - checkout
      - run: mkdir -p dist && python3 -m compileall -q -b -d dist app && cp -r app dist/
      - persist_to_workspace: { root: ., paths: [dist] }
  test:
    executor: py
    steps:
      - checkout
      - attach_workspace: { at: ~/project }
      - run: cd dist/app && python3 tests.py
  lint:
    executor: py
    steps:
      - checkout
      - attach_workspace: { at: ~/project }
      - run: python3 -m py_compile dist/app/*.py
workflows:
  main:
    jobs:
      - build
      - test: { requires: [build] }
      - lint: { requires: [build] }
""" % IMAGE

APP = "def total(xs):\n    return sum(xs)\n"
TESTS = ("import unittest\nfrom app import total\n\n"
         "class T(unittest.TestCase):\n    def test_total(self):\n        self.assertEqual(total([1, 2]), 3)\n\n"
         "unittest.main()\n")

# The same steps with the docker CLI: what a careful script would do.
SCRIPT = r"""
set -e
img=%s
job() { docker run -d --init --entrypoint /bin/sh "$img" -c 'sleep 3600'; }
b=$(job)
docker exec "$b" mkdir -p /root/project
docker cp -q . "$b":/root/project
docker exec -w /root/project "$b" /bin/bash -eo pipefail -c 'mkdir -p dist && python3 -m compileall -q -b -d dist app && cp -r app dist/'
ws=$(mktemp -d)
docker cp -q "$b":/root/project/dist "$ws/dist"
docker rm -f "$b" >/dev/null
run() {
  c=$(job)
  docker exec "$c" mkdir -p /root/project
  docker cp -q . "$c":/root/project
  docker cp -q "$ws/dist" "$c":/root/project/dist
  docker exec -w /root/project "$c" /bin/bash -eo pipefail -c "$1"
  docker rm -f "$c" >/dev/null
}
run 'cd dist/app && python3 tests.py' >/dev/null 2>&1 & t=$!
run 'python3 -m py_compile dist/app/*.py' & l=$!
wait $t; wait $l
rm -rf "$ws"
""" % IMAGE


def timed(cmd, cwd, env):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    subprocess.run([os.path.join(ROOT, "scripts", "flask-base-image")], check=True)
    subprocess.run(["docker", "tag", "slipway-test/flask-base:bookworm", IMAGE], check=True)
    work = tempfile.mkdtemp(prefix="slipway-bench-workflow-")
    project = os.path.join(work, "wfbench")
    os.makedirs(os.path.join(project, ".circleci"))
    os.makedirs(os.path.join(project, "app"))
    with open(os.path.join(project, ".circleci", "config.yml"), "w") as f:
        f.write(CONFIG)
    with open(os.path.join(project, "app", "app.py"), "w") as f:
        f.write(APP)
    with open(os.path.join(project, "app", "tests.py"), "w") as f:
        f.write(TESTS)
    env = dict(os.environ, SLIPWAY_DATA_DIR=os.path.join(work, "data"), NO_COLOR="1")
    script = os.path.join(work, "workflow.sh")
    with open(script, "w") as f:
        f.write(SCRIPT)
    # One of each first, unmeasured: the page cache and the engine warm up.
    timed([SLIPWAY, "run", project], project, env)
    timed(["bash", script], project, env)
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(timed([SLIPWAY, "run", project], project, env))
        theirs.append(timed(["bash", script], project, env))
    ratios = sorted(o / t for o, t in zip(ours, theirs))
    print(f"slipway run:  median {statistics.median(ours):.3f} s  ({min(ours):.3f}-{max(ours):.3f})")
    print(f"docker CLI:   median {statistics.median(theirs):.3f} s  ({min(theirs):.3f}-{max(theirs):.3f})")
    print(f"ratio (slipway / script), median of {rounds}: {statistics.median(ratios):.3f} "
          f"({ratios[0]:.3f}-{ratios[-1]:.3f})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
