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

A third side, the engine's floor, makes the same engine calls from this
process over the engine's socket with nothing else (no build, no CLI, no
process to start): create, start, read the port, GET until it answers, the
test's exec, remove. No client doing this work can tell its verdict sooner.
Needs: scripts/setup done, `cargo build --release -p slipway-cli`.
"""
import http.client
import json
import os
import socket
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


class EngineConnection(http.client.HTTPConnection):
    """HTTP over the engine's Unix socket."""

    def __init__(self):
        super().__init__("localhost")

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        host = os.environ.get("DOCKER_HOST", "")
        self.sock.connect(host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock")


def engine(conn, method, path, body=None):
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        sys.exit(f"engine: {method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data) if data else None


def engine_floor():
    """(seconds to the verdict, seconds to nothing left) for the engine calls alone."""
    conn = EngineConnection()
    start = time.perf_counter()
    created = engine(conn, "POST", "/containers/create", {
        "Image": IMAGE, "ExposedPorts": {"80/tcp": {}},
        "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}}})
    cid = created["Id"]
    engine(conn, "POST", f"/containers/{cid}/start")
    port = int(engine(conn, "GET", f"/containers/{cid}/json")["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
    while True:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            probe.request("GET", "/cities.json")
            if probe.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.01)
    test = engine(conn, "POST", f"/containers/{cid}/exec", {
        "Cmd": ["sh", "-c", "wget -qO- http://127.0.0.1/cities.json | grep -q Seattle"],
        "AttachStdout": True, "AttachStderr": True})
    conn.request("POST", f"/exec/{test['Id']}/start", body=json.dumps({"Detach": False}),
                 headers={"Content-Type": "application/json"})
    conn.getresponse().read()
    conn.close()
    conn = EngineConnection()
    if engine(conn, "GET", f"/exec/{test['Id']}/json")["ExitCode"] != 0:
        sys.exit("the engine floor's test failed")
    verdict = time.perf_counter() - start
    engine(conn, "DELETE", f"/containers/{cid}?force=true")
    return verdict, time.perf_counter() - start


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
    engine_floor()
    runs = {"slipway": [], "docker": [], "floor": []}
    for i in range(rounds):
        sides = [("slipway", lambda: timed_verdict(slipway_cmd, env)),
                 ("docker", lambda: timed_verdict(docker_cmd, DOCKER_ENV)),
                 ("floor", engine_floor)]
        if i % 2:
            sides.reverse()
        for name, side in sides:
            runs[name].append(side())
    verdicts = [a[0] / b[0] for a, b in zip(runs["slipway"], runs["docker"])]
    totals = [a[1] / b[1] for a, b in zip(runs["slipway"], runs["docker"])]
    floor_verdicts = [a[0] / b[0] for a, b in zip(runs["floor"], runs["docker"])]
    floor_totals = [a[1] / b[1] for a, b in zip(runs["floor"], runs["docker"])]
    ours = [r[1] for r in runs["slipway"]]

    def spread(values):
        values = sorted(values)
        return f"median {statistics.median(values):.3f} ({values[0]:.3f}-{values[-1]:.3f})"

    print(f"rounds: {rounds}")
    for name, label in (("slipway", "slipway run:      "), ("docker", "docker CLI script:"),
                        ("floor", "engine calls only:")):
        print(f"{label} verdict {spread(r[0] for r in runs[name])} s, exit {spread(r[1] for r in runs[name])} s")
    print(f"time to the verdict, slipway / the script's PASSED: {spread(verdicts)}")
    print(f"time to exit with nothing left, slipway / the script: {spread(totals)}")
    print(f"the engine's floor (its calls alone) / the script: verdict {spread(floor_verdicts)}, "
          f"exit {spread(floor_totals)}")
    if "--classic" in sys.argv:
        classic = timed(["sh", "-c", CLASSIC_SCRIPT.format(image=IMAGE, hello=HELLO)], DOCKER_ENV)
        print(f"classic CI script (sleep 10, --retry-delay 5): {classic:.3f} s "
              f"= {classic / statistics.median(ours):.1f}x slipway")


if __name__ == "__main__":
    main()
