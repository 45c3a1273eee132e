#!/usr/bin/env python3
"""The app following the pull requests of 10 projects whose checks keep
running, against the fake GitHub (a process of its own): requests a minute
GitHub gets and the CPU the app uses (its process and WebKit's), measured
over SECONDS once the app has settled. With --quiet, every pull request
and default branch is green and nothing changes: the requests GitHub
charges after the first round, and the app's idle CPU.

    scripts/bench-desktop-budget [SECONDS] [PROJECTS] [--quiet]

(the script builds the release app, the CLI and the fake, then runs this
inside xvfb-run and dbus-run-session with a fresh HOME).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from proctree import tree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
APP = os.path.join(TARGET, "release", "slipway-desktop")
SLIPWAY = os.path.join(TARGET, "release", "slipway")
FAKE = os.path.join(TARGET, "release", "fake-services")
TOKEN = "ghp_desktopbudget0123456789"
SETTLE = 20
TICKS = os.sysconf("SC_CLK_TCK")


def git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def cpu_seconds(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return total / TICKS


def main():
    quiet = "--quiet" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--quiet"]
    seconds = int(args[0]) if len(args) > 0 else 120
    count = int(args[1]) if len(args) > 1 else 10
    for binary in (APP, SLIPWAY, FAKE):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: run scripts/bench-desktop-budget")
    work = tempfile.mkdtemp(prefix="slipway-bench-budget-")
    config = os.path.join(work, "config")
    os.makedirs(config)
    subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"], input=b"bench",
                   stdout=subprocess.DEVNULL, check=True, timeout=30)
    fake = subprocess.Popen([FAKE, "--github", f"{TOKEN}=octo:repo"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def ask(*words):
        fake.stdin.write(" ".join(words) + "\n")
        fake.stdin.flush()
        return fake.stdout.readline().strip()

    url = fake.stdout.readline().strip()
    env = dict(os.environ, SLIPWAY_CONFIG_DIR=config, SLIPWAY_DATA_DIR=os.path.join(work, "data"),
               SLIPWAY_GITHUB_API_URL=f"{url}/github", SLIPWAY_STARTUP_PROBE="1")
    subprocess.run([SLIPWAY, "login", "github", "--with-token", "--no-git"], input=TOKEN, text=True,
                   env=env, check=True, capture_output=True)
    paths = []
    for n in range(count):
        name = f"app{n}"
        bare = ask("repo", "octo", name, "master")
        project = os.path.join(work, name)
        os.makedirs(project)
        remote = f"https://github.com/octo/{name}.git"
        git(project, "init", "-q", "-b", "master")
        git(project, "remote", "add", "origin", remote)
        git(project, "config", f"url.{bare}.insteadOf", remote)
        git(project, "commit", "-q", "--allow-empty", "-m", "first")
        git(project, "push", "-q", "origin", "master")
        if quiet:
            master = git(project, "rev-parse", "HEAD")
            assert ask("status", f"octo/{name}", master, "ci/circleci:build", "success") == "ok"
        git(project, "switch", "-q", "-c", "feature/x")
        git(project, "commit", "-q", "--allow-empty", "-m", "a change")
        subprocess.run([SLIPWAY, "pr", "open", "--no-preflight"], cwd=project, env=env, check=True,
                       capture_output=True, timeout=60)
        head = git(project, "rev-parse", "HEAD")
        state = "success" if quiet else "pending"
        assert ask("status", f"octo/{name}", head, "ci/circleci:build", state) == "ok"
        paths.append(project)
    with open(os.path.join(config, "projects.json"), "w") as f:
        json.dump({"paths": paths}, f)

    app = subprocess.Popen([APP], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    for line in app.stderr:
        if "SLIPWAY_PAINTED" in line:
            break
        if time.monotonic() > deadline:
            sys.exit("the app never painted")
    # Keep reading what the app logs, so its pipe never fills.
    subprocess.Popen(["cat"], stdin=app.stderr, stdout=subprocess.DEVNULL)
    time.sleep(SETTLE)
    requests, charged = int(ask("github-requests")), int(ask("github-charged"))
    cpu, start = cpu_seconds(app.pid), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    sent = int(ask("github-requests")) - requests
    charged = int(ask("github-charged")) - charged
    used = cpu_seconds(app.pid) - cpu
    app.terminate()
    try:
        app.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.kill()
    fake.stdin.close()
    fake.wait(timeout=10)
    what = "all green and quiet" if quiet else "with checks running"
    print(f"{count} projects {what}, {elapsed:.0f} s: {sent * 60 / elapsed:.0f} requests a minute "
          f"to GitHub ({charged} charged), app CPU {used * 100 / elapsed:.2f} % (app and WebKit processes)")


if __name__ == "__main__":
    main()
