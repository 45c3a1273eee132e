#!/usr/bin/env python3
"""Build context: a generated 1 GiB, 20,000-file context whose .dockerignore
excludes 90 % of it. Time until the build's first step, and peak RSS of the
client, for `slipway run` and `docker build` (classic builder), alternated.

    python3 bench/context.py [ROUNDS]

Needs GNU time (`apt-get install time`) and a release build of slipway.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
SLIPWAY = os.path.join(TARGET, "release", "slipway")
FILES = 20_000
TOTAL = 1 << 30


def generate(dir_):
    size = TOTAL // FILES
    block = os.urandom(size)
    for i in range(FILES):
        # 10 % under keep/, 90 % under data/ (ignored).
        sub = "keep" if i % 10 == 0 else "data"
        d = os.path.join(dir_, sub, f"{i // 500:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
            f.write(block[: size - (i % 7)] + i.to_bytes(4, "little"))
    shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(dir_, "busybox"))
    with open(os.path.join(dir_, ".dockerignore"), "w") as f:
        f.write("data\n")
    with open(os.path.join(dir_, "Dockerfile"), "w") as f:
        f.write('FROM scratch\nCOPY busybox /bin/busybox\nCOPY keep /keep\nCMD ["/bin/busybox", "sleep", "1"]\n')
    with open(os.path.join(dir_, "slipway.toml"), "w") as f:
        f.write('[image]\nname = "slipway-bench/context"\n')


def first_step(cmd, env):
    """Seconds until the first build step appears, and the peak RSS in KiB."""
    wrapped = ["/usr/bin/time", "-f", "MAXRSS %M"] + cmd
    start = time.perf_counter()
    proc = subprocess.Popen(wrapped, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    seen = None
    for line in proc.stdout:
        if seen is None and ('"type":"build_step_started"' in line or line.startswith("Step 1/")):
            seen = time.perf_counter() - start
    err = proc.stderr.read()
    proc.wait()
    rss = int(re.search(r"MAXRSS (\d+)", err).group(1))
    if seen is None:
        sys.exit(f"no first step from {cmd}: {err}")
    return seen, rss


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    work = tempfile.mkdtemp(prefix="slipway-ctx-", dir=os.environ.get("BENCH_DIR"))
    ctx = os.path.join(work, "context")
    print(f"generating {FILES} files, {TOTAL >> 20} MiB in {ctx} ...", flush=True)
    generate(ctx)
    env = dict(os.environ, SLIPWAY_DATA_DIR=os.path.join(work, "data"), DOCKER_BUILDKIT="0")
    slipway = [SLIPWAY, "run", "--json", ctx]
    docker = ["docker", "build", "--no-cache", "-t", "slipway-bench/context-docker", ctx]
    # Both see a warm page cache after this.
    first_step(docker, env)
    results = {"slipway": [], "docker": []}
    for i in range(rounds):
        order = [("slipway", slipway), ("docker", docker)]
        if i % 2:
            order.reverse()
        for name, cmd in order:
            results[name].append(first_step(cmd, env))
    for name, rows in results.items():
        t = statistics.median(r[0] for r in rows)
        rss = max(r[1] for r in rows)
        print(f"{name:8} time to first step: median {t:.3f} s   peak RSS: {rss / 1024:.1f} MiB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
