//! Whole runs through the CLI: pass, failing test, early exit, failing build.

use slipway_core::event::StepKind;
use slipway_tests::services::Tmpfs;
use slipway_tests::{Project, containers_of_run};

#[test]
fn hello_passes_and_is_recorded() {
    let project = Project::hello("pass");
    project.append_toml(
        r#"
[[test]]
name = "host sees the service"
in = "host"
run = "busybox wget -qO- \"$SLIPWAY_URL/cities.json\" | grep -q Seattle && test -n \"$SLIPWAY_HOST\" && test -n \"$SLIPWAY_PORT\""
"#,
    );
    let run = project.run_json(&[]);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let last = run.last();
    assert_eq!(last["type"], "run_finished");
    assert_eq!(last["outcome"]["result"], "passed");
    assert!(
        last["image_id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sha256:")
    );

    // Every planned step reported, all passed, in order.
    let started = &run.of_type("run_started")[0];
    let plan: Vec<&str> = started["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(plan, ["build", "run", "ready", "test", "test", "cleanup"]);
    let finished = run.of_type("step_finished");
    assert_eq!(finished.len(), plan.len());
    assert!(
        finished.iter().all(|s| s["status"] == "passed"),
        "{finished:#?}"
    );

    // Build instructions recognised, numbered and timed (BuildKit numbers
    // the instructions that make layers: COPY, RUN, COPY).
    let started: Vec<&str> = run
        .of_type("build_step_started")
        .iter()
        .map(|s| s["instruction"].as_str().unwrap())
        .collect();
    assert_eq!(started[0], "COPY busybox /bin/busybox", "{started:?}");
    assert!(started.iter().any(|s| s.starts_with("RUN")), "{started:?}");
    assert_eq!(run.of_type("build_step_finished").len(), started.len());

    // The container got a published port on loopback and is gone now.
    let container = &run.of_type("container_started")[0];
    assert_eq!(container["ports"][0]["host_ip"], "127.0.0.1");
    assert!(
        container["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(containers_of_run(&run.run_id()).is_empty());

    // History has the run, its steps and its logs.
    let out = project.slipway(&["history", "--json"]).output().unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["id"], &*run.run_id().0);
    assert_eq!(runs[0]["result"], "passed");
    assert!(runs[0]["image_id"].as_str().unwrap().starts_with("sha256:"));
    let logs = project.slipway(&["logs", "last"]).output().unwrap();
    let text = String::from_utf8_lossy(&logs.stdout);
    assert!(text.contains("COPY busybox /bin/busybox"), "{text}");
    assert!(text.contains("host sees the service"), "{text}");

    // An unchanged project is not built again: its image is used as is.
    let built = run.of_type("image_built")[0]["image_id"].clone();
    let again = project.run_json(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.of_type("build_step_finished").is_empty());
    assert_eq!(again.of_type("image_built")[0]["image_id"], built);
    assert!(
        again.log_text().contains("is used as is"),
        "{}",
        again.log_text()
    );

    // A changed file is built again, the layers before it from the cache.
    // (Its content is new to the engine's cache: the folder's name is unique.)
    project.write("www/extra.txt", &project.path().display().to_string());
    let changed = project.run_json(&[]);
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    let steps = changed.of_type("build_step_finished");
    assert!(
        steps.iter().any(|s| s["cached"] == true) && steps.iter().any(|s| s["cached"] == false),
        "expected cached and rebuilt layers: {steps:#?}"
    );
    assert_ne!(changed.of_type("image_built")[0]["image_id"], built);
}

#[test]
fn failing_test_step_fails_the_run_with_its_output() {
    let project = Project::hello("failtest");
    project.append_toml(
        r#"
[[test]]
name = "wants Paris"
run = "echo looking for Paris; wget -qO- http://127.0.0.1/cities.json | grep Paris"

[[test]]
name = "never runs"
run = "true"
"#,
    );
    let run = project.run_json(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let outcome = &run.last()["outcome"];
    assert_eq!(outcome["result"], "failed");
    assert_eq!(outcome["step_name"], "wants Paris");
    assert!(
        outcome["message"]
            .as_str()
            .unwrap()
            .contains("exited with code 1"),
        "{outcome}"
    );
    assert!(
        outcome["message"]
            .as_str()
            .unwrap()
            .contains("looking for Paris"),
        "{outcome}"
    );
    let finished = run.of_type("step_finished");
    let never = run.step_named(StepKind::Test, "never runs");
    let skipped = finished.iter().find(|s| s["step"] == never).unwrap();
    assert_eq!(skipped["status"], "skipped");
    assert!(run.log_text().contains("looking for Paris"));
    assert!(containers_of_run(&run.run_id()).is_empty());

    // The human view shows the failing step and its output.
    let out = project
        .slipway(&["run"])
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✗ wants Paris"), "{text}");
    assert!(text.contains("looking for Paris"), "{text}");
    assert!(text.contains("FAILED"), "{text}");
}

#[test]
fn container_exiting_before_ready_reports_code_and_logs() {
    let project = Project::hello("exits");
    let toml = project.read("slipway.toml").replace(
        "[run]",
        "[run]\ncommand = \"echo starting up; echo config missing >&2; exit 3\"",
    );
    project.write("slipway.toml", &toml);
    let run = project.run_json(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let outcome = &run.last()["outcome"];
    assert_eq!(outcome["step_name"], "ready");
    let message = outcome["message"].as_str().unwrap();
    assert!(
        message.contains("exited with code 3 before it was ready"),
        "{message}"
    );
    assert!(message.contains("config missing"), "{message}");
    let ready = run
        .of_type("step_finished")
        .into_iter()
        .find(|s| s["step"] == run.step(StepKind::Ready))
        .unwrap();
    assert_eq!(ready["exit_code"], 3);
    assert!(containers_of_run(&run.run_id()).is_empty());
}

#[test]
fn failing_run_instruction_names_the_step_and_output() {
    failing_run_instruction("badbuild", "buildkit", "step 4 (RUN echo compiling assets");
}

#[test]
fn failing_run_instruction_with_the_classic_builder() {
    failing_run_instruction("badclassic", "classic", "step 5 (RUN echo compiling assets");
}

fn failing_run_instruction(name: &str, builder: &str, expected: &str) {
    let project = Project::hello(name);
    let toml = project.read("slipway.toml").replace(
        "[run]",
        &format!("[build]\nbuilder = \"{builder}\"\n\n[run]"),
    );
    project.write("slipway.toml", &toml);
    let dockerfile = project.read("Dockerfile").replace(
        "COPY www /www",
        "COPY www /www\nRUN echo compiling assets && echo assets.sh: not found >&2 && exit 7",
    );
    project.write("Dockerfile", &dockerfile);
    let run = project.run_json(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let outcome = &run.last()["outcome"];
    assert_eq!(outcome["step"], run.step(StepKind::Build));
    let message = outcome["message"].as_str().unwrap();
    assert!(message.starts_with(expected), "{message}");
    assert!(message.contains("code: 7"), "{message}");
    assert!(message.contains("assets.sh: not found"), "{message}");
    let build = run
        .of_type("step_finished")
        .into_iter()
        .find(|s| s["step"] == run.step(StepKind::Build))
        .unwrap();
    assert_eq!(build["exit_code"], 7);
    // Nothing ran, so nothing to clean.
    assert!(run.of_type("container_started").is_empty());
}

#[test]
fn pipes_and_sockets_in_the_folder_build_like_docker() {
    let project = Project::hello("specialfiles");
    // The site folder is sent: a pipe and a socket in it, as a dev server leaves them.
    let made = std::process::Command::new("mkfifo")
        .arg(project.path().join("www/events.pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let _socket =
        std::os::unix::net::UnixListener::bind(project.path().join("www/dev.sock")).unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    let dir = project.path().to_path_buf();
    let data = project.data_dir().to_path_buf();
    std::thread::spawn(move || {
        let out = std::process::Command::new(slipway_tests::slipway_bin())
            .args(["run", "--json"])
            .arg(&dir)
            .env("SLIPWAY_DATA_DIR", &data)
            .output();
        let _ = done.send(out);
    });
    let out = finished
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the run hung on the named pipe")
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_image_without_a_command_is_the_dockerfiles_fault() {
    let project = Project::hello("nocmd");
    let dockerfile = project.read("Dockerfile");
    let without: String = dockerfile
        .lines()
        .filter(|l| !l.starts_with("CMD"))
        .map(|l| format!("{l}\n"))
        .collect();
    project.write("Dockerfile", &without);
    let mut cmd = project.slipway(&["run"]);
    cmd.arg(project.path());
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("the image has no command to run"), "{text}");
    assert!(
        text.contains("Add a CMD (or ENTRYPOINT) line to the Dockerfile"),
        "{text}"
    );
}

/// The history's folder fills up or turns read-only after a first run:
/// the next run still runs and cleans up, says why it was not kept and
/// what to do, and the runs already kept stay readable.
fn history_cannot_be_written(name: &str, spoil: impl Fn(&Tmpfs), reason: &str, hint: &str) {
    let disk = Tmpfs::mount("2m");
    let data = disk.path().to_str().unwrap();
    let project = Project::hello(name);
    let first = project.run_json(&[("SLIPWAY_DATA_DIR", data)]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(!first.stderr.contains("not kept"), "{}", first.stderr);
    spoil(&disk);

    let second = project.run_json(&[("SLIPWAY_DATA_DIR", data)]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.last()["outcome"]["result"], "passed");
    assert!(containers_of_run(&second.run_id()).is_empty());
    assert!(
        second
            .stderr
            .contains("warning: this run was not kept in the history")
            && second.stderr.contains(reason)
            && second.stderr.contains(hint),
        "{}",
        second.stderr
    );
    // What was kept stays readable.
    let read = |args: &[&str]| {
        let out = project
            .slipway(args)
            .env("SLIPWAY_DATA_DIR", data)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "slipway {args:?}: {stderr}");
        out.stdout
    };
    let runs: serde_json::Value = serde_json::from_slice(&read(&["history", "--json"])).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    assert_eq!(runs[0]["id"], &*first.run_id().0);
    read(&["logs", "last"]);
    // The doctor tells it too.
    let doctor = project
        .slipway(&["doctor"])
        .env("SLIPWAY_DATA_DIR", data)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("✗ History:") && l.contains(reason)),
        "{report}"
    );
}

#[test]
fn a_full_disk_keeps_runs_going_and_says_why_they_are_not_recorded() {
    history_cannot_be_written(
        "fulldisk",
        Tmpfs::fill,
        "the disk is full",
        "Free some disk space",
    );
}

#[test]
fn a_read_only_history_folder_keeps_runs_going_and_says_why() {
    history_cannot_be_written(
        "readonlyhistory",
        Tmpfs::make_read_only,
        "read-only file system",
        "Check that the folder is writable",
    );
}

#[test]
fn a_damaged_history_is_kept_aside_and_runs_are_recorded_again() {
    let project = Project::hello("damagedhistory");
    let first = project.run_json(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let db = project.data_dir().join("history.db");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..16].copy_from_slice(b"not a database!!");
    std::fs::write(&db, &bytes).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(project.data_dir().join(format!("history.db{suffix}")));
    }

    let again = project.run_json(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("was damaged") && again.stderr.contains("history.db.damaged-"),
        "{}",
        again.stderr
    );
    let out = project.slipway(&["history", "--json"]).output().unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    assert_eq!(runs[0]["id"], &*again.run_id().0);
    let kept: Vec<String> = std::fs::read_dir(project.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("history.db.damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
}

/// Every file under `dir` (but `.git`), with its bytes.
fn snapshot(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_run_at_a_commit_leaves_the_working_tree_as_it_was() {
    let project = Project::hello("runat");
    let dir = project.path();
    slipway_tests::git(dir, &["init", "-q", "-b", "main"]);
    slipway_tests::git(dir, &["add", "-A"]);
    slipway_tests::git(dir, &["commit", "-q", "-m", "It works"]);
    let works = slipway_tests::git(dir, &["rev-parse", "HEAD"]);
    let cities = project.read("www/cities.json").replace("Seattle", "Tacoma");
    project.write("www/cities.json", &cities);
    slipway_tests::git(dir, &["commit", "-q", "-am", "It breaks"]);
    let breaks = slipway_tests::git(dir, &["rev-parse", "HEAD"]);
    // Uncommitted work, which the runs must not see or touch.
    project.write("www/cities.json", "not even JSON");
    project.write("NOTES", "half a thought\n");
    let before = (
        snapshot(dir),
        slipway_tests::git(dir, &["status", "--porcelain"]),
    );

    let run_at = |reference: &str| {
        project
            .slipway(&["run", "--at", reference])
            .arg(dir)
            .output()
            .unwrap()
    };
    let passed = run_at(&works[..10]);
    assert_eq!(passed.status.code(), Some(0), "{passed:?}");
    assert!(String::from_utf8_lossy(&passed.stderr).contains("your files are not touched"));
    let failed = run_at("HEAD");
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    let unknown = run_at("no-such-branch");
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("\"no-such-branch\" names no commit"),
        "{unknown:?}"
    );

    assert_eq!(
        (
            snapshot(dir),
            slipway_tests::git(dir, &["status", "--porcelain"])
        ),
        before,
        "the working tree changed"
    );
    assert_eq!(
        slipway_tests::git(dir, &["branch", "--show-current"]),
        "main"
    );
    assert_eq!(
        slipway_tests::git(dir, &["worktree", "list"])
            .lines()
            .count(),
        1,
        "a worktree was left"
    );
    // The history names the commits that ran.
    let out = project.slipway(&["history", "--json"]).output().unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["git_commit"], breaks.as_str(), "{runs}");
    assert_eq!(runs[0]["result"], "failed", "{runs}");
    assert_eq!(runs[1]["git_commit"], works.as_str(), "{runs}");
    assert_eq!(runs[1]["result"], "passed", "{runs}");
}
