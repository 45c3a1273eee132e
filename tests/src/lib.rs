//! Shared support for the end-to-end tests: throwaway projects made from
//! `examples/hello`, the `slipway` binary and its `--json` output read as
//! the core's typed events, a user's whole environment ([`world::World`]),
//! the fake web services ([`fake`]), the real local ones ([`services`]),
//! and questions to the real Docker engine. Every helper waits on
//! conditions with timeouts, never on sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test support: a failed expectation is a failed test.

pub mod fake;
pub mod services;
pub mod world;

use slipway_core::event::{Event, RunEvent, RunId, StepKind, step_of_kind};
use slipway_core::pipeline::{LABEL_PROJECT, LABEL_RUN};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The `slipway` binary built next to this test binary.
pub fn slipway_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // A test: target/<profile>/deps/e2e-HASH -> target/<profile>/slipway;
    // a benchmark: target/<profile>/NAME -> target/<profile>/slipway.
    let beside = exe.parent().map(|d| d.join("slipway"));
    let bin = beside
        .filter(|b| b.is_file())
        .or_else(|| {
            exe.parent()
                .and_then(Path::parent)
                .map(|d| d.join("slipway"))
        })
        .unwrap_or_default();
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build -p slipway-cli` (scripts/test does)",
        bin.display()
    );
    bin
}

/// A busybox binary for `FROM scratch` images.
pub fn busybox() -> PathBuf {
    for candidate in ["/bin/busybox", "/usr/bin/busybox"] {
        if Path::new(candidate).is_file() {
            return PathBuf::from(candidate);
        }
    }
    panic!("busybox is missing: install busybox-static (scripts/setup does)");
}

/// A throwaway copy of examples/hello, with its own history folder.
#[derive(Debug)]
pub struct Project {
    dir: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Project {
    /// A copy of `examples/EXAMPLE` in a folder named `NAME-…`.
    pub fn example(example: &str, name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .expect("temp dir");
        copy_tree(&repo_root().join("examples").join(example), dir.path());
        Project {
            dir,
            data: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// An empty project folder named `NAME-…`, a git repository on `branch`
    /// once [`Project::commit`] is called.
    pub fn empty(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .expect("temp dir");
        Project {
            dir,
            data: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Commits every file on `branch` (the folder becomes a repository).
    pub fn commit(&self, branch: &str) {
        if !self.path().join(".git").exists() {
            git(self.path(), &["init", "-q", "-b", branch]);
        }
        git(self.path(), &["add", "-A"]);
        git(
            self.path(),
            &["commit", "-q", "--allow-empty", "-m", "change"],
        );
    }

    /// A copy of examples/hello whose image is `slipway-test/NAME`.
    pub fn hello(name: &str) -> Self {
        let project = Self::example("hello", name);
        std::fs::copy(busybox(), project.path().join("busybox")).expect("copy busybox");
        let toml = project
            .read("slipway.toml")
            .replace("slipway-example/hello", &format!("slipway-test/{name}"));
        project.write("slipway.toml", &toml);
        project
    }

    /// The project folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The history folder (`SLIPWAY_DATA_DIR`).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// Reads a file of the project.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).expect("read project file")
    }

    /// Writes a file of the project.
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write project file");
    }

    /// Appends to slipway.toml.
    pub fn append_toml(&self, text: &str) {
        let toml = self.read("slipway.toml") + "\n" + text;
        self.write("slipway.toml", &toml);
    }

    /// A `slipway` command in this project's environment.
    pub fn slipway(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(slipway_bin());
        cmd.args(args)
            .env("SLIPWAY_DATA_DIR", self.data_dir())
            .env("NO_COLOR", "1")
            .env_remove("SLIPWAY_LOG");
        cmd
    }

    /// `slipway run --json PROJECT`, with extra environment.
    pub fn run_json(&self, env: &[(&str, &str)]) -> RunResult {
        let mut cmd = self.slipway(&["run", "--json"]);
        cmd.arg(self.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        RunResult::from(cmd.output().expect("start slipway"))
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else if entry.file_name() != "busybox" {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// One line of `slipway run --json`: a run event, or the error that stopped
/// the run before it started. Anything else fails the test, naming the line.
pub fn parse_json_line(line: &str) -> Result<RunEvent, Value> {
    let value: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("`slipway --json` printed a line that is not JSON ({e}): {line}")
    });
    if value["type"] == "error" {
        return Err(value);
    }
    match serde_json::from_value(value) {
        Ok(event) => Ok(event),
        Err(e) => panic!("`slipway --json` printed a line that is not a run event ({e}): {line}"),
    }
}

/// What a `slipway run --json` printed and how it exited.
#[derive(Debug)]
pub struct RunResult {
    /// Exit code.
    pub code: i32,
    /// Events as JSON, in order, for checks of the JSON's shape.
    pub events: Vec<Value>,
    /// The same events, as the core's types.
    pub typed: Vec<RunEvent>,
    /// The error printed instead of events, when the run could not start.
    pub error: Option<Value>,
    /// Standard error.
    pub stderr: String,
    /// Standard output, raw.
    pub stdout: String,
}

impl From<Output> for RunResult {
    fn from(out: Output) -> Self {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut events = Vec::new();
        let mut typed = Vec::new();
        let mut error = None;
        for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
            match parse_json_line(line) {
                Ok(event) => {
                    events.push(serde_json::to_value(&event).expect("an event is JSON"));
                    typed.push(event);
                }
                Err(e) => error = Some(e),
            }
        }
        RunResult {
            code: out.status.code().unwrap_or(-1),
            events,
            typed,
            error,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout,
        }
    }
}

impl RunResult {
    /// The last event, which states the result.
    pub fn last(&self) -> &Value {
        self.events
            .last()
            .unwrap_or_else(|| panic!("no events; stderr: {}", self.stderr))
    }

    /// The run id; fails the test when the run printed no event.
    pub fn run_id(&self) -> RunId {
        self.typed
            .last()
            .map(|e| e.run_id.clone())
            .unwrap_or_else(|| panic!("no events, so no run id; stderr: {}", self.stderr))
    }

    /// The index of the first step of `kind`, from the run's plan.
    pub fn step(&self, kind: StepKind) -> usize {
        let steps = self.plan();
        step_of_kind(steps, kind).unwrap_or_else(|| panic!("no {kind:?} step in {steps:?}"))
    }

    /// The index of the step of `kind` called `name`, from the run's plan.
    pub fn step_named(&self, kind: StepKind, name: &str) -> usize {
        let steps = self.plan();
        steps
            .iter()
            .position(|s| s.kind == kind && s.name == name)
            .unwrap_or_else(|| panic!("no {kind:?} step {name:?} in {steps:?}"))
    }

    /// The run's steps, as its start announced them.
    pub fn plan(&self) -> &[slipway_core::event::StepInfo] {
        self.typed
            .iter()
            .find_map(|e| match &e.event {
                Event::RunStarted { steps, .. } => Some(steps.as_slice()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no run_started event; stderr: {}", self.stderr))
    }

    /// Events of one type.
    pub fn of_type(&self, ty: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["type"] == ty).collect()
    }

    /// Every log line of the run, joined.
    pub fn log_text(&self) -> String {
        self.of_type("log")
            .iter()
            .filter_map(|e| e["line"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Ids of the containers (running or not) of one run.
pub fn containers_of_run(run_id: &RunId) -> Vec<String> {
    containers_labelled(LABEL_RUN, &run_id.0)
}

/// Ids of the containers (running or not) of one project.
pub fn containers_of_project(project: &str) -> Vec<String> {
    containers_labelled(LABEL_PROJECT, project)
}

/// Waits until a run has `count` containers, or fails after `timeout`.
pub fn wait_for_containers(run_id: &RunId, count: usize, timeout: Duration) {
    wait_until(
        &format!("{count} container(s) of run {run_id}"),
        timeout,
        || containers_of_run(run_id).len() == count,
    );
}

/// Ids of the containers (running or not) carrying `label=value`; an empty
/// value would match nothing and prove nothing, so it fails the test.
fn containers_labelled(label: &str, value: &str) -> Vec<String> {
    containers_labelled_at(None, label, value)
}

/// [`containers_labelled`] on the engine at `docker_host` (`None`: the
/// suite's own).
pub fn containers_labelled_at(docker_host: Option<&str>, label: &str, value: &str) -> Vec<String> {
    assert!(
        !value.trim().is_empty(),
        "asked for the containers with an empty {label}: the id is missing"
    );
    let mut docker = Command::new("docker");
    if let Some(host) = docker_host {
        docker.env("DOCKER_HOST", host);
    }
    let out = docker
        .args(["ps", "-aq", "--filter", &format!("label={label}={value}")])
        .output()
        .expect("docker ps");
    assert!(
        out.status.success(),
        "docker ps failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A new repository in `dir` whose `origin` is the bare repository `bare`,
/// with a first (empty) commit on `branch` pushed there.
pub fn clone_of(dir: &Path, bare: &Path, branch: &str) {
    git(dir, &["init", "-q", "-b", branch]);
    git(
        dir,
        &["remote", "add", "origin", &bare.display().to_string()],
    );
    git(dir, &["commit", "-q", "--allow-empty", "-m", "first"]);
    git(dir, &["push", "-q", "origin", branch]);
}

/// Runs `git -C dir args...` as a test user; fails the test with git's
/// words when git fails, and returns what it printed, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=dev", "-c", "user.email=dev@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Waits until `check` is true, or panics after `timeout` naming `what`.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(10);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// A `slipway run --json` in the background whose events are read as they come.
#[derive(Debug)]
pub struct LiveRun {
    /// The process.
    pub child: Child,
    lines: std::sync::mpsc::Receiver<RunEvent>,
    /// Events seen so far.
    pub seen: Vec<RunEvent>,
}

impl LiveRun {
    /// Starts `slipway run --json` for `project`.
    pub fn start(project: &Project) -> Self {
        Self::start_with(project, &[])
    }

    /// [`LiveRun::start`] with extra environment.
    pub fn start_with(project: &Project, env: &[(&str, &str)]) -> Self {
        let mut cmd = project.slipway(&["run", "--json"]);
        cmd.envs(env.iter().copied());
        cmd.arg(project.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start slipway");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event = parse_json_line(&line)
                    .unwrap_or_else(|e| panic!("the run could not start: {e}"));
                if tx.send(event).is_err() {
                    return;
                }
            }
        });
        LiveRun {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Starts `slipway run --json` for `project` and follows it until a
    /// log line contains `line`; the run and its id.
    pub fn start_until_line(project: &Project, line: &str, timeout: Duration) -> (Self, RunId) {
        let mut live = Self::start(project);
        let started = live.wait_for("the run to start", Duration::from_secs(60), |e| {
            matches!(e.event, Event::RunStarted { .. })
        });
        live.wait_for(
            &format!("a line saying {line:?}"),
            timeout,
            |e| matches!(&e.event, Event::Log { line: l, .. } if l.contains(line)),
        );
        (live, started.run_id)
    }

    /// Sends the run's process `signal` (`INT`, `KILL`, ...), as `kill` does.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// Reads events until one matches `pred`, or panics after `timeout`.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&RunEvent) -> bool,
    ) -> RunEvent {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "timed out after {timeout:?} waiting for {what}; events so far: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Waits for the process to exit and returns its exit code (or -signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                use std::os::unix::process::ExitStatusExt;
                return status
                    .code()
                    .unwrap_or_else(|| -status.signal().unwrap_or(0));
            }
            assert!(
                Instant::now() < deadline,
                "slipway did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The remaining events after exit.
    pub fn drain(&mut self) -> Vec<RunEvent> {
        while let Ok(v) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(v);
        }
        self.seen.clone()
    }
}

/// Where a run can be made to linger, for what happens meanwhile (the
/// engine going away, a benchmark of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// A build step that says "building slowly" and waits.
    Build,
    /// A readiness path that never answers.
    Ready,
    /// A slow test step.
    Test,
}

impl Stage {
    /// Changes `project` so its runs linger at this stage.
    pub fn apply(self, project: &Project) {
        match self {
            Stage::Build => {
                let dockerfile = project.read("Dockerfile").replace(
                    "COPY www /www",
                    "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo building slowly; sleep 120\"]\nCOPY www /www",
                );
                project.write("Dockerfile", &dockerfile);
            }
            Stage::Ready => {
                let toml = project
                    .read("slipway.toml")
                    .replace("/cities.json", "/not-there.json")
                    .replace("timeout = \"30s\"", "timeout = \"120s\"");
                project.write("slipway.toml", &toml);
            }
            Stage::Test => project.append_toml("[[test]]\nname = \"slow\"\nrun = \"sleep 120\"\n"),
        }
    }

    /// Starts `slipway run --json` of a project [`Stage::apply`] changed
    /// and waits until the run lingers here: the run, its id, and whether
    /// it has a container by then.
    pub fn start(self, project: &Project, env: &[(&str, &str)]) -> (LiveRun, RunId, bool) {
        let mut live = LiveRun::start_with(project, env);
        let started = live.wait_for("the run to start", Duration::from_secs(30), |e| {
            matches!(e.event, Event::RunStarted { .. })
        });
        let Event::RunStarted { steps, .. } = &started.event else {
            unreachable!("waited for it")
        };
        let at = match self {
            Stage::Build => None,
            Stage::Ready => step_of_kind(steps, StepKind::Ready),
            Stage::Test => steps.iter().position(|s| s.name == "slow"),
        };
        live.wait_for(
            &format!("the run to linger at {self:?}"),
            Duration::from_secs(120),
            |e| match (&e.event, at) {
                (Event::Log { line, .. }, None) => line.contains("building slowly"),
                (Event::StepStarted { step }, Some(at)) => *step == at,
                _ => false,
            },
        );
        (live, started.run_id.clone(), at.is_some())
    }
}

/// Files under `prefix` in the filesystem of `image`, as `docker export`
/// lists them (folders end with `/`).
pub fn image_listing(image: &str, prefix: &str) -> Vec<String> {
    let create = Command::new("docker")
        .args(["create", image, "/none"])
        .output()
        .expect("docker create");
    assert!(
        create.status.success(),
        "docker create {image}: {}",
        String::from_utf8_lossy(&create.stderr)
    );
    let id = String::from_utf8_lossy(&create.stdout).trim().to_string();
    let export = Command::new("sh")
        .arg("-c")
        .arg(format!("docker export {id} | tar -t"))
        .output()
        .expect("docker export");
    let _ = Command::new("docker").args(["rm", "-f", &id]).output();
    assert!(
        export.status.success(),
        "docker export: {}",
        String::from_utf8_lossy(&export.stderr)
    );
    let mut names: Vec<String> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

/// Environment for a TLS connection to the test engine, from
/// `SLIPWAY_TEST_TLS_HOST` and `SLIPWAY_TEST_TLS_DIR`, or the defaults
/// scripts/start-docker uses.
pub fn tls_engine() -> (String, PathBuf) {
    let host =
        std::env::var("SLIPWAY_TEST_TLS_HOST").unwrap_or_else(|_| "tcp://127.0.0.1:2376".into());
    let dir = PathBuf::from(
        std::env::var("SLIPWAY_TEST_TLS_DIR")
            .unwrap_or_else(|_| "/var/lib/slipway-test/tls".into()),
    );
    assert!(
        dir.join("ca.pem").is_file(),
        "no TLS certificates in {}: run the suite with scripts/test, which starts dockerd \
         with a TLS listener and a throwaway CA",
        dir.display()
    );
    (host, dir)
}
