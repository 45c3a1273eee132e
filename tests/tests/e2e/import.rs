//! A classic CircleCI project opened as it is: the tutorial's Flask app
//! with its `circle.yml` (and the same app with a 2.x config) imports to a
//! pipeline that passes on the real engine, with the host's port 80 taken.

use std::path::{Path, PathBuf};
use std::process::Command;

use slipway_core::event::StepKind;
use slipway_tests::{Project, RunResult, repo_root};

/// The tutorial's base image (Python and Flask), built once with debootstrap.
fn flask_base() {
    let status = Command::new(repo_root().join("scripts/flask-base-image"))
        .status()
        .expect("scripts/flask-base-image runs");
    assert!(status.success(), "the Flask base image could not be built");
}

/// A venv whose `pip` and `python` are the host steps' (pip may not install
/// into Debian's own Python); Flask comes from the system's packages.
fn venv(dir: &Path) -> PathBuf {
    let venv = dir.join("venv");
    let status = Command::new("/usr/bin/python3")
        .args(["-m", "venv", "--system-site-packages"])
        .arg(&venv)
        .status()
        .expect("python3 -m venv");
    assert!(status.success());
    venv.join("bin")
}

/// Holds the host's port 80, as another web server on the laptop would
/// (already held by a parallel test is as good).
fn take_port_80() -> Option<std::net::TcpListener> {
    std::net::TcpListener::bind("127.0.0.1:80").ok()
}

/// `PATH` with a venv in front, kept as long as the returned folder.
fn tools_path() -> (tempfile::TempDir, String) {
    let tools = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        venv(tools.path()).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (tools, path)
}

fn run_imported(project: &Project, path: &str) -> RunResult {
    let _port = take_port_80();
    assert!(
        std::net::TcpListener::bind("127.0.0.1:80").is_err(),
        "port 80 is taken for the run"
    );
    project.run_json(&[("PATH", path)])
}

fn assert_passed_on_a_free_port(run: &RunResult) {
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let names: Vec<&str> = run.plan().iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.ends_with(&["python app/tests.py", "cleanup"]),
        "{names:?}"
    );
    let started = run.of_type("container_started");
    let port = started[0]["ports"][0]["host_port"].as_u64().unwrap();
    assert_ne!(port, 80, "a free port, since 80 is taken");
    assert!(run.log_text().contains("Ran 1 test"), "{}", run.log_text());
    run.step(StepKind::Ready);
}

#[test]
fn the_tutorials_circle_yml_runs_as_it_is() {
    flask_base();
    let project = Project::example("classic-flask", "classic");
    let import = project
        .slipway(&["import"])
        .arg(project.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&import.stdout),
        String::from_utf8_lossy(&import.stderr),
    );
    assert_eq!(import.status.code(), Some(0), "{stderr}");
    for expected in [
        "name = \"user/app\"",
        "ports = [\"80\"]",
        "(`sleep 10` is dropped: the readiness step waits instead)",
        "http = \"/\"\nport = 80",
        "timeout = \"50s\"",
        "run = \"pip install -r requirements.txt\"\nin = \"host\"\ncache = [\"requirements.txt\"]",
        "[deploy.hub]",
        "branch = \"master\"",
        "circle.yml:7: docker info",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
    }
    assert!(
        stderr.contains("slipway secret set deploy-trigger"),
        "{stderr}"
    );

    let (_tools, path) = tools_path();
    let run = run_imported(&project, &path);
    assert_passed_on_a_free_port(&run);
    let pip = run.step_named(StepKind::Test, "pip install -r requirements.txt");
    assert!(run.log_text().contains("Requirement already satisfied"));

    // The install runs again only when requirements.txt (or the command) changes.
    let again = run_imported(&project, &path);
    assert_passed_on_a_free_port(&again);
    assert!(
        again.log_text().contains("not run again"),
        "{}",
        again.log_text()
    );
    assert!(!again.log_text().contains("Requirement already satisfied"));
    assert_eq!(
        again.step_named(StepKind::Test, "pip install -r requirements.txt"),
        pip
    );
    project.write("requirements.txt", "Flask\n# pinned later\n");
    let changed = run_imported(&project, &path);
    assert_passed_on_a_free_port(&changed);
    assert!(changed.log_text().contains("Requirement already satisfied"));

    // Saved, it is the same pipeline; saving again needs --force.
    let write = project
        .slipway(&["import", "--write"])
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(write.status.code(), Some(0));
    assert_eq!(
        project.read("slipway.toml"),
        format!("{}\n", stdout.trim_end())
    );
    let again = project
        .slipway(&["import", "--write"])
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
}

#[test]
fn the_same_app_with_a_two_x_config() {
    flask_base();
    let project = Project::example("classic-flask", "classic2");
    std::fs::remove_file(project.path().join("circle.yml")).unwrap();
    project.write(
        ".circleci/config.yml",
        "version: 2
jobs:
  build:
    machine: true
    steps:
      - checkout
      - run: docker build -t slipway-test/classic2 .
      - run:
          name: Start the app
          command: docker run -d -p 80:80 slipway-test/classic2 && sleep 10
      - run: curl --retry 10 --retry-delay 5 -v http://localhost:80
      - run: pip install -r requirements.txt
      - run:
          name: Unit tests
          command: python app/tests.py
  deploy:
    machine: true
    steps:
      - run: $DEPLOY
workflows:
  version: 2
  build-deploy:
    jobs:
      - build
      - deploy:
          requires: [build]
          filters:
            branches:
              only: master
",
    );
    // Without a slipway.toml, `slipway run` runs the workflow as CircleCI
    // would; the import writes the pipeline this shape maps to.
    let import = project
        .slipway(&["import", "--write"])
        .arg(project.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&import.stderr);
    assert_eq!(import.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("its workflow has 2 jobs"), "{stderr}");
    let (_tools, path) = tools_path();
    let run = run_imported(&project, &path);
    assert_passed_on_a_free_port(&run);
}

#[test]
fn malformed_yaml_is_a_bad_input_with_its_position() {
    let project = Project::example("classic-flask", "broken");
    project.write("circle.yml", "test:\n  override:\n    - make\n  post: [\n");
    for args in [&["import"][..], &["run"][..]] {
        let out = project.slipway(args).arg(project.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("circle.yml:5:1: invalid YAML"), "{stderr}");
        assert!(stderr.contains("Fix the YAML"), "{stderr}");
    }
}
