//! CircleCI 2.1 workflows run locally on the real engine: an executor with
//! a Python image and a Redis service answering on localhost, a
//! parameterised command, a cache saved then restored, a workspace handed
//! between jobs, two jobs side by side after a shared one, a JUnit report
//! with a failing case; approvals, registry orbs, missing images, and
//! Ctrl-C and `kill -9` leaving no container behind.

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use slipway_core::event::{Event, StepStatus, TestResult};
use slipway_tests::services::Keyring;
use slipway_tests::world::World;
use slipway_tests::{LiveRun, Project, RunResult, containers_of_run, repo_root};

/// The images the configs name, built here with debootstrap: Python, and
/// Debian's Redis server.
fn images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        for script in ["scripts/flask-base-image", "scripts/redis-image"] {
            let status = Command::new(repo_root().join(script))
                .status()
                .expect("an image script runs");
            assert!(status.success(), "{script} could not build its image");
        }
        let status = Command::new("docker")
            .args([
                "tag",
                "slipway-test/flask-base:bookworm",
                "slipway-test/python:3.11",
            ])
            .status()
            .unwrap();
        assert!(status.success());
    });
}

const CONFIG: &str = r#"version: 2.1
executors:
  py:
    parameters:
      tag: { type: string, default: "3.11" }
    docker:
      - image: slipway-test/python:<< parameters.tag >>
      - image: slipway-test/redis:bookworm
    working_directory: ~/app
    environment:
      APP_ENV: ci
commands:
  redis-ping:
    parameters:
      tries: { type: integer, default: 40 }
    steps:
      - run:
          name: redis answers on localhost
          command: python3 ci/ping.py << parameters.tries >>
jobs:
  build:
    executor: py
    steps:
      - checkout
      - restore_cache:
          keys:
            - 'deps-v1-{{ checksum "requirements.txt" }}'
            - deps-v1-
      - run:
          name: install
          command: |
            mkdir -p ~/.cache/deps
            if [ -f ~/.cache/deps/installed ]; then echo "deps from cache: $(cat ~/.cache/deps/installed)"
            else echo "installing deps"; echo "job $CIRCLE_JOB of $CIRCLE_WORKFLOW_ID" > ~/.cache/deps/installed; fi
      - save_cache:
          key: 'deps-v1-{{ checksum "requirements.txt" }}'
          paths: [~/.cache/deps]
      - redis-ping
      - run: mkdir -p dist && echo "built on $CIRCLE_BRANCH in $APP_ENV" > dist/app.txt
      - persist_to_workspace: { root: ., paths: [dist] }
  test:
    executor: py
    steps:
      - checkout
      - attach_workspace: { at: ~/app }
      - redis-ping: { tries: 10 }
      - run: cat dist/app.txt
      - run:
          name: unit tests
          command: python3 ci/tests.py
      - store_test_results: { path: reports }
  lint:
    executor: { name: py }
    steps:
      - attach_workspace: { at: ~/app }
      - run: test -f dist/app.txt && echo lint saw the build
workflows:
  main:
    jobs:
      - build
      - test: { requires: [build] }
      - lint: { requires: [build] }
"#;

const PING: &str = r#"import socket, sys, time
for attempt in range(int(sys.argv[1])):
    try:
        with socket.create_connection(("localhost", 6379), timeout=2) as s:
            s.sendall(b"PING\r\n")
            print("redis says", s.recv(64).decode().strip())
            sys.exit(0)
    except OSError:
        time.sleep(0.5)
print("redis never answered"); sys.exit(1)
"#;

const TESTS: &str = r#"import os
os.makedirs("reports", exist_ok=True)
total_ok = 1 + 2 == 3 + int(os.environ.get("BREAK", "1"))
with open("reports/junit.xml", "w") as f:
    f.write('<testsuites><testsuite name="app">'
            '<testcase classname="tests.TestApp" name="test_home" time="0.01"/>'
            '<testcase classname="tests.TestApp" name="test_total" time="0.02">'
            + ('' if total_ok else '<failure message="assert 3 == 4">AssertionError</failure>')
            + '</testcase></testsuite></testsuites>')
raise SystemExit(0 if total_ok else 1)
"#;

fn project(name: &str) -> Project {
    images();
    let project = Project::empty(name);
    project.write(".circleci/config.yml", CONFIG);
    project.write("ci/ping.py", PING);
    project.write("ci/tests.py", TESTS);
    project.write("requirements.txt", "flask\n");
    project.commit("feature");
    project
}

fn run(project: &Project, args: &[&str]) -> RunResult {
    let mut cmd = project.slipway(&["run", "--json"]);
    cmd.args(args).arg(project.path());
    RunResult::from(cmd.output().expect("start slipway"))
}

fn job_events(result: &RunResult) -> Vec<(String, String)> {
    result
        .typed
        .iter()
        .filter_map(|e| match &e.event {
            Event::JobStarted { job } => Some(("started".into(), job.clone())),
            Event::JobFinished { job, status, .. } => Some((format!("{status:?}"), job.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_2_1_workflow_runs_as_circleci_runs_it() {
    let project = project("wf");
    let first = run(&project, &[]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    let log = first.log_text();
    // The executor's images, a command with a parameter, Redis on localhost.
    assert!(log.contains("redis says +PONG"), "{log}");
    assert!(log.contains("installing deps"), "{log}");
    assert!(log.contains("built on feature in ci"), "{log}");
    assert!(log.contains("lint saw the build"), "{log}");
    // Build first, then test and lint side by side.
    let jobs = job_events(&first);
    assert_eq!(jobs[0], ("started".into(), "build".into()), "{jobs:?}");
    assert_eq!(jobs[1], ("Passed".into(), "build".into()), "{jobs:?}");
    let started: Vec<&str> = jobs[2..4].iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(started, ["started", "started"], "{jobs:?}");
    assert!(jobs.contains(&("Failed".into(), "test".into())), "{jobs:?}");
    assert!(jobs.contains(&("Passed".into(), "lint".into())), "{jobs:?}");
    // The failing case, by name, with its message.
    let cases = first
        .typed
        .iter()
        .find_map(|e| match &e.event {
            Event::TestResults { cases, job, .. } if job == "test" => Some(cases.clone()),
            _ => None,
        })
        .expect("test results");
    let failed: Vec<(&str, Option<&str>)> = cases
        .iter()
        .filter(|c| c.result == TestResult::Failed)
        .map(|c| (c.name.as_str(), c.message.as_deref()))
        .collect();
    assert_eq!(failed, [("test_total", Some("assert 3 == 4"))]);
    assert!(containers_of_run(&first.run_id()).is_empty());

    // The second run restores the cache the first saved; the text view
    // names the failing case.
    let second = project
        .slipway(&["run"])
        .arg(project.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&second.stdout);
    assert_eq!(second.status.code(), Some(1), "{text}");
    assert!(text.contains("deps from cache: job build of"), "{text}");
    assert!(
        text.contains("✗ tests.TestApp.test_total: assert 3 == 4"),
        "{text}"
    );
    assert!(text.contains("FAILED at \"test: unit tests\""), "{text}");
    // The history keeps each step's job and the test cases.
    let logs = project.slipway(&["logs", "last"]).output().unwrap();
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(logs.contains("test results: 2 tests, 1 failed"), "{logs}");
    assert!(
        logs.contains("✗ test tests.TestApp.test_total: assert 3 == 4"),
        "{logs}"
    );
    let json = project
        .slipway(&["logs", "last", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        json["test_cases"][0]["case"]["name"], "test_total",
        "{json}"
    );
    assert!(
        json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["job"] == "lint"),
        "{json}"
    );

    // Fixed (through the executor's environment): every job passes.
    let config = CONFIG.replace(
        "      APP_ENV: ci\n",
        "      APP_ENV: ci\n      BREAK: \"0\"\n",
    );
    project.write(".circleci/config.yml", &config);
    let passed = run(&project, &[]);
    assert_eq!(passed.code, 0, "{}", passed.log_text());

    // `slipway clean --caches` empties the store: the next run installs again.
    // (Only this project's containers: other tests' runs go on meanwhile.)
    let name = project_name(&passed.typed);
    let clean = project
        .slipway(&["clean", "--caches", "--project", &name])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&clean.stdout);
    assert!(said.contains("emptied the cache store: 1 cache,"), "{said}");
    let fresh = run(&project, &[]);
    assert!(
        fresh.log_text().contains("installing deps"),
        "{}",
        fresh.log_text()
    );
}

#[test]
fn one_job_runs_alone_and_an_approval_waits_for_its_answer() {
    let project = project("wfjob");
    let only = run(&project, &["--job", "lint"]);
    assert_eq!(
        only.code,
        1,
        "lint alone has no workspace: {}",
        only.log_text()
    );
    assert!(
        only.stderr
            .contains("--job lint: skipped what it requires (build)"),
        "{}",
        only.stderr
    );
    assert_eq!(job_events(&only).len(), 2);

    let config = CONFIG.replace(
        "      - lint: { requires: [build] }\n",
        "      - hold: { type: approval, requires: [build] }\n      - lint: { requires: [hold] }\n",
    );
    project.write(".circleci/config.yml", &config);
    project.commit("feature");
    // No: the jobs after the approval do not run.
    let mut cmd = project.slipway(&["run", "--json"]);
    cmd.arg(project.path()).stdin(std::process::Stdio::piped());
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    }
    let out = RunResult::from(child.wait_with_output().unwrap());
    assert_eq!(out.code, 1, "{}\n{}", out.stderr, out.last());
    assert!(
        out.typed
            .iter()
            .any(|e| matches!(&e.event, Event::ApprovalWaiting { job, .. } if job == "hold")),
        "{:?}\n{}\n{:?}",
        job_events(&out),
        out.log_text(),
        out.typed
            .iter()
            .filter(|e| matches!(
                e.event,
                Event::StepFinished {
                    status: StepStatus::Failed,
                    ..
                }
            ))
            .collect::<Vec<_>>()
    );
    let lint = out
        .typed
        .iter()
        .find_map(|e| match &e.event {
            Event::JobFinished {
                job,
                status,
                message,
                ..
            } if job == "lint" => Some((*status, message.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        lint,
        (StepStatus::Skipped, Some("hold did not pass".into()))
    );
    // --approve: lint runs after it.
    let approved = run(&project, &["--approve"]);
    assert!(
        job_events(&approved).contains(&("Passed".into(), "lint".into())),
        "{:?}",
        job_events(&approved)
    );
}

#[test]
fn a_registry_orb_or_a_missing_image_stops_before_the_job() {
    let project = project("wforb");
    let orb = CONFIG
        .replace(
            "version: 2.1\n",
            "version: 2.1\norbs:\n  node: circleci/node@5.1.0\n",
        )
        .replace(
            "      - redis-ping\n",
            "      - redis-ping\n      - node/install-packages\n",
        );
    project.write(".circleci/config.yml", &orb);
    let out = project
        .slipway(&["run"])
        .arg(project.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("step node/install-packages of job build (orb circleci/node@5.1.0)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("circleci orb source circleci/node@5.1.0"),
        "{stderr}"
    );

    let missing = CONFIG.replace(
        "slipway-test/redis:bookworm",
        "slipway-test/postgres:never-built",
    );
    project.write(".circleci/config.yml", &missing);
    let out = run(&project, &[]);
    assert_eq!(out.code, 3, "{}", out.log_text());
    let verdict = out.last().to_string();
    assert!(
        verdict.contains("the engine has no image slipway-test/postgres:never-built"),
        "{verdict}"
    );
    assert!(
        verdict.contains("docker pull slipway-test/postgres:never-built"),
        "{verdict}"
    );
    assert!(containers_of_run(&out.run_id()).is_empty());
}

/// The project's name as its run started: what `slipway clean --project` takes.
fn project_name(events: &[slipway_core::event::RunEvent]) -> String {
    events
        .iter()
        .find_map(|e| match &e.event {
            Event::RunStarted { project, .. } => Some(project.clone()),
            _ => None,
        })
        .expect("the run started")
}

/// A workflow whose build job waits, started and followed until it says so.
fn waiting(name: &str) -> (Project, LiveRun, slipway_core::event::RunId) {
    let project = project(name);
    let config = CONFIG.replace(
        "      - redis-ping\n",
        "      - redis-ping\n      - run: echo waiting now; sleep 300\n",
    );
    project.write(".circleci/config.yml", &config);
    let (live, run_id) =
        LiveRun::start_until_line(&project, "waiting now", Duration::from_secs(120));
    assert_eq!(containers_of_run(&run_id).len(), 2, "the job and its Redis");
    (project, live, run_id)
}

#[test]
fn ctrl_c_or_kill_9_leave_no_job_container() {
    let (project, mut live, run_id) = waiting("wfint");
    // `slipway clean` leaves a run that is still going alone.
    let name = project_name(&live.seen);
    let clean = project
        .slipway(&["clean", "--project", &name])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&clean.stdout);
    assert!(
        said.contains(&format!("left the containers of run {}", run_id.short())),
        "{said}"
    );
    assert_eq!(containers_of_run(&run_id).len(), 2, "{said}");
    live.signal("INT");
    assert_eq!(live.wait_exit(Duration::from_secs(30)), 130);
    assert!(containers_of_run(&run_id).is_empty());

    let (project, mut live, run_id) = waiting("wfkill");
    live.signal("KILL");
    live.wait_exit(Duration::from_secs(30));
    let out = project.slipway(&["history"]).output().unwrap();
    assert!(out.status.success());
    assert!(containers_of_run(&run_id).is_empty());
}

#[test]
fn a_jobs_context_comes_from_the_keychain_and_stays_hidden() {
    images();
    let world = World::new(Keyring::Unlocked);
    let set = world.slipway(
        &["secret", "set", "context", "deploy/API_TOKEN"],
        "tok-7f3a9c2e51\n",
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    let project = Project::empty("wfctx");
    project.write(
        ".circleci/config.yml",
        "version: 2.1\njobs:\n  ship:\n    docker: [{ image: slipway-test/python:3.11 }]\n    steps:\n      \
         - run: echo \"token is $API_TOKEN, ${#API_TOKEN} long\"\n\
         workflows:\n  main:\n    jobs:\n      - ship: { context: [deploy] }\n",
    );
    project.commit("main");
    let path = project.path().display().to_string();
    let run = world.slipway(&["run", &path], "");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("token is ********, 14 long"),
        "{}",
        run.stdout
    );
    let logs = world.slipway(&["logs", "last"], "");
    assert!(logs.stdout.contains("token is ********"), "{}", logs.stdout);
    for out in [&run.stdout, &run.stderr, &logs.stdout] {
        assert!(!out.contains("tok-7f3a9c2e51"), "{out}");
    }
}

#[test]
fn a_machine_job_runs_on_this_host_with_when_background_and_quiet_limits() {
    let project = Project::empty("wfmachine");
    project.write("notes.txt", "from the working tree\n");
    project.write(
        ".circleci/config.yml",
        r#"version: 2.1
jobs:
  host:
    machine: true
    steps:
      - checkout
      - run: cat notes.txt && docker info --format 'engine {{.ServerVersion}}'
      - run:
          command: echo done in the background > bg.txt
          background: true
      - run: for i in $(seq 100); do [ -s bg.txt ] && break; sleep 0.05; done; cat bg.txt
      - run: echo this fails; exit 3
      - run: echo not after a failure
      - run:
          command: echo only after a failure
          when: on_fail
      - run:
          command: echo whatever happened
          when: always
  quiet:
    machine: true
    steps:
      - run:
          command: echo about to be quiet; sleep 30
          no_output_timeout: 1s
workflows:
  main:
    jobs: [host, quiet]
"#,
    );
    project.commit("main");
    project.write("notes.txt", "edited, not committed\n");
    let out = run(&project, &[]);
    assert_eq!(out.code, 1, "{}", out.log_text());
    let log = out.log_text();
    for expected in [
        "edited, not committed",
        "uncommitted changes",
        "engine ",
        "done in the background",
        "this fails",
        "only after a failure",
        "whatever happened",
        "about to be quiet",
    ] {
        assert!(log.contains(expected), "{expected:?} in {log}");
    }
    assert!(!log.contains("not after a failure"), "{log}");
    let quiet = out
        .typed
        .iter()
        .find_map(|e| match &e.event {
            Event::JobFinished { job, message, .. } if job == "quiet" => message.clone(),
            _ => None,
        })
        .unwrap();
    assert!(quiet.starts_with("no output for 1.0s: stopped"), "{quiet}");
}
