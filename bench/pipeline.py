#!/usr/bin/env python3
"""Full pipeline on examples/hello: `slipway run` against the same work done
with the docker CLI and a tight readiness loop, alternated in one run: the
time to the verdict (the line saying PASSED) and the time to exit with
nothing left.

    python3 bench/pipeline.py [ROUNDS] [--classic]

Both sides build (from cache after the first round), run the container on a
free loopback port, wait until GET /cities.json answers, run the test in the
container, and remove the container. --classic also times the classic CI
script once (`docker run -p 80:80; sleep 10; curl --retry 10 --retry-delay 5`).
Needs: scripts/setup done, `cargo build --release -p slipway-cli`.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
SLIPWAY = os.path.join(TARGET, "release", "slipway")
HELLO = os.path.join(ROOT, "examples", "hello")
IMAGE = "slipway-example/hello:latest"

DOCKER_SCRIPT = r"""
set -e
$DOCKER build -q -t {image} {hello} >/dev/null
id=$(docker run -d -p 127.0.0.1::80 {image})
port=$(docker port "$id" 80/tcp | head -1 | sed 's/.*://')
until curl -fsS -o /dev/null "http://127.0.0.1:$port/cities.json" 2>/dev/null; do sleep 0.01; done
docker exec "$id" sh -c 'wget -qO- http://127.0.0.1/cities.json | grep -q Seattle'
echo PASSED
docker rm -f "$id" >/dev/null
"""

CLASSIC_SCRIPT = r"""
set -e
$DOCKER build -t {image} {hello} >/dev/null
id=$(docker run -d -p 80:80 {image})
sleep 10
curl --retry 10 --retry-delay 5 -s -o /dev/null http://localhost:80/cities.json
docker exec "$id" sh -c 'wget -qO- http://127.0.0.1/cities.json | grep -q Seattle'
docker rm -f "$id" >/dev/null
"""


# The docker CLI that can build with BuildKit without buildx (Debian's 20.10
# reads DOCKER_BUILDKIT=1), so both sides use the same builder.
DOCKER_ENV = dict(os.environ, DOCKER_BUILDKIT="1",
                  DOCKER="/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker")


def timed(cmd, env=None):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def timed_verdict(cmd, env):
    """(seconds to the line saying PASSED, seconds to exit)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    verdict = None
    for line in proc.stdout:
        if verdict is None and "PASSED" in line:
            verdict = time.perf_counter() - start
    if proc.wait() != 0 or verdict is None:
        sys.exit(f"{cmd[0]} did not pass")
    return verdict, time.perf_counter() - start


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rounds = int(args[0]) if args else 15
    if not os.path.exists(SLIPWAY):
        sys.exit(f"{SLIPWAY} is missing: cargo build --release -p slipway-cli")
    data = tempfile.mkdtemp(prefix="slipway-bench-")
    env = dict(os.environ, SLIPWAY_DATA_DIR=data)
    docker_cmd = ["sh", "-c", DOCKER_SCRIPT.format(image=IMAGE, hello=HELLO)]
    slipway_cmd = [SLIPWAY, "run", HELLO]
    # Warm the layer cache for both.
    timed(slipway_cmd, env)
    timed(docker_cmd, DOCKER_ENV)
    runs = {"slipway": [], "docker": []}
    for i in range(rounds):
        pair = [("slipway", slipway_cmd, env), ("docker", docker_cmd, DOCKER_ENV)]
        if i % 2:
            pair.reverse()
        for name, cmd, e in pair:
            runs[name].append(timed_verdict(cmd, e))
    verdicts = [a[0] / b[0] for a, b in zip(runs["slipway"], runs["docker"])]
    totals = [a[1] / b[1] for a, b in zip(runs["slipway"], runs["docker"])]
    ours = [r[1] for r in runs["slipway"]]

    def spread(values):
        values = sorted(values)
        return f"median {statistics.median(values):.3f} ({values[0]:.3f}-{values[-1]:.3f})"

    print(f"rounds: {rounds}")
    for name, label in (("slipway", "slipway run:      "), ("docker", "docker CLI script:")):
        print(f"{label} verdict {spread(r[0] for r in runs[name])} s, exit {spread(r[1] for r in runs[name])} s")
    print(f"time to the verdict, slipway / the script's PASSED: {spread(verdicts)}")
    print(f"time to exit with nothing left, slipway / the script: {spread(totals)}")
    if "--classic" in sys.argv:
        classic = timed(["sh", "-c", CLASSIC_SCRIPT.format(image=IMAGE, hello=HELLO)], DOCKER_ENV)
        print(f"classic CI script (sleep 10, --retry-delay 5): {classic:.3f} s "
              f"= {classic / statistics.median(ours):.1f}x slipway")


if __name__ == "__main__":
    main()
