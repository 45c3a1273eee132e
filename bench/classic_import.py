#!/usr/bin/env python3
"""The classic tutorial's repository (examples/classic-flask, its circle.yml
unchanged): `slipway run` on the imported pipeline against the file's own
commands run by a shell script, and against a tight docker-CLI script doing
the same work, in one run.

    python3 bench/classic_import.py [ROUNDS]

Slipway and the tight script alternate ROUNDS times (median); the file's
own commands (with their `sleep 10` and 5 s retries) run twice. Both scripts
and Slipway's host steps use one venv's pip and python (Flask from the
system's packages). Needs: scripts/setup done, scripts/flask-base-image,
`cargo build --release -p slipway-cli`.
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

# circle.yml's commands, in order, as CircleCI ran them (cleanup added).
CLASSIC_SCRIPT = r"""
set -e
docker info >/dev/null
$DOCKER build -t user/app . >/dev/null
id=$(docker run -d -p 80:80 user/app); sleep 10
curl --retry 10 --retry-delay 5 -s -o /dev/null http://localhost:80
pip install -q -r requirements.txt
SLIPWAY_URL=http://localhost:80 python app/tests.py 2>/dev/null
docker rm -f "$id" >/dev/null
"""

TIGHT_SCRIPT = r"""
set -e
$DOCKER build -q -t user/app . >/dev/null
id=$(docker run -d -p 127.0.0.1::80 user/app)
port=$(docker port "$id" 80/tcp | head -1 | sed 's/.*://')
until curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do sleep 0.01; done
pip install -q -r requirements.txt
SLIPWAY_URL=http://127.0.0.1:$port python app/tests.py 2>/dev/null
docker rm -f "$id" >/dev/null
"""


def timed(cmd, cwd, env):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    subprocess.run([os.path.join(ROOT, "scripts", "flask-base-image")], check=True)
    work = tempfile.mkdtemp(prefix="slipway-bench-classic-")
    try:
        project = os.path.join(work, "classic-flask")
        shutil.copytree(os.path.join(ROOT, "examples", "classic-flask"), project)
        venv = os.path.join(work, "venv")
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv], check=True)
        env = dict(os.environ, PATH=f"{venv}/bin:{os.environ['PATH']}", DOCKER_BUILDKIT="1",
                   DOCKER="/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker",
                   SLIPWAY_DATA_DIR=os.path.join(work, "data"))
        slipway = [SLIPWAY, "run", project]
        tight = ["bash", "-c", TIGHT_SCRIPT]
        # Warm-up: the image and pip's caches, for both.
        timed(slipway, project, env)
        timed(tight, project, env)
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(timed(slipway, project, env))
            theirs.append(timed(tight, project, env))
        classic = [timed(["bash", "-c", CLASSIC_SCRIPT], project, env) for _ in range(2)]
        s, t, c = statistics.median(ours), statistics.median(theirs), statistics.median(classic)
        print(f"slipway run (imported circle.yml): median {s:.3f} s over {rounds}")
        print(f"tight docker-CLI script:           median {t:.3f} s over {rounds}")
        print(f"the file's own commands:           median {c:.2f} s over 2")
        print(f"slipway / tight script: {s / t:.3f} (target <= 1.05)")
        print(f"the file's commands / slipway: {c / s:.1f}x (target >= 15x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
