//! `[[service]]`: services started before the app on the run's own
//! network, reachable by name from the app and by address from host steps,
//! failing the run with their output when they never get ready, and gone
//! with the run however it ends.

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use slipway_tests::{LiveRun, Project, busybox, containers_of_run};

/// A service image built here (nothing can be pulled): busybox's httpd on
/// port 5432 saying `db-here`, or, as `TAG-mute`, a service that never
/// listens.
fn service_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        for (tag, command) in [
            (
                "slipway-test/svc:1",
                r#"["httpd", "-f", "-p", "5432", "-h", "/www"]"#,
            ),
            (
                "slipway-test/svc:mute",
                r#"["sh", "-c", "echo warming up; sleep 300"]"#,
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::copy(busybox(), dir.path().join("busybox")).unwrap();
            std::fs::write(
                dir.path().join("Dockerfile"),
                format!(
                    "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
                     RUN mkdir -p /www && echo db-here > /www/index.html\nCMD {command}\n"
                ),
            )
            .unwrap();
            let out = Command::new("docker")
                .args(["build", "-q", "-t", tag])
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    });
    "slipway-test/svc"
}

/// Networks a run created (by its label).
fn networks_of(run: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label=dev.slipway.run={run}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_app_reaches_its_service_by_name_and_host_steps_by_address() {
    let image = service_image();
    let project = Project::hello("svcok");
    project.append_toml(&format!(
        r#"
[[service]]
name = "db"
image = "{image}:1"
env = {{ POSTGRES_PASSWORD = "test" }}
ready = {{ tcp = 5432, timeout = "30s" }}

[[test]]
name = "the app reaches db"
run = "wget -qO- http://db:5432/ | grep -q db-here"

[[test]]
name = "host steps get its address"
in = "host"
run = "busybox wget -qO- http://$SLIPWAY_SERVICE_DB_HOST:$SLIPWAY_SERVICE_DB_PORT/ | grep -q db-here"
"#
    ));
    let run = project.run_json(&[]);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let names: Vec<&str> = run.plan().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names[1], "service db", "{names:?}");
    assert_eq!(names[2], "run", "the service starts before the app");
    let run_id = run.run_id();
    assert!(
        containers_of_run(&run_id).is_empty(),
        "the service is removed"
    );
    assert!(
        networks_of(&run_id.to_string()).is_empty(),
        "and its network"
    );
}

#[test]
fn a_service_that_never_gets_ready_fails_the_run_with_its_output() {
    let image = service_image();
    let project = Project::hello("svcmute");
    project.append_toml(&format!(
        "[[service]]\nname = \"db\"\nimage = \"{image}:mute\"\nready = {{ tcp = 5432, timeout = \"2s\" }}\n"
    ));
    let run = project.run_json(&[]);
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let last = run.last();
    assert_eq!(last["outcome"]["step_name"], "service db", "{last}");
    let message = last["outcome"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("service db was not ready after 2.0s; its last output:\nwarming up"),
        "{message}"
    );
    let run_id = run.run_id();
    assert!(containers_of_run(&run_id).is_empty());
    assert!(networks_of(&run_id.to_string()).is_empty());

    // An image the engine does not have: said with how to get it, exit 3.
    let project = Project::hello("svcnone");
    project.append_toml(
        "[[service]]\nname = \"cache\"\nimage = \"slipway-test/none:0\"\nready = { tcp = 6379 }\n",
    );
    let run = project.run_json(&[]);
    assert_eq!(
        run.code, 3,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .contains("service cache: the engine has no image slipway-test/none:0")
            && run.stdout.contains("docker pull slipway-test/none:0"),
        "{}",
        run.stdout
    );
    let run_id = run.run_id();
    assert!(networks_of(&run_id.to_string()).is_empty());
}

/// A run of a project `name` whose service `db` never gets ready, started
/// and followed until the service has said something.
fn waiting_service(name: &str) -> (Project, LiveRun, slipway_core::event::RunId) {
    let image = service_image();
    let project = Project::hello(name);
    project.append_toml(&format!(
        "[[service]]\nname = \"db\"\nimage = \"{image}:mute\"\nready = {{ tcp = 5432, timeout = \"120s\" }}\n"
    ));
    let (live, run_id) = LiveRun::start_until_line(&project, "warming up", Duration::from_secs(60));
    (project, live, run_id)
}

#[test]
fn ctrl_c_while_a_service_gets_ready_removes_it_and_its_network() {
    let (_project, mut live, run_id) = waiting_service("svcint");
    assert_eq!(networks_of(&run_id.to_string()).len(), 1);
    live.signal("INT");
    assert_eq!(live.wait_exit(Duration::from_secs(30)), 130);
    assert!(containers_of_run(&run_id).is_empty());
    assert!(networks_of(&run_id.to_string()).is_empty());
}

#[test]
fn a_killed_run_leaves_no_service_behind() {
    let (project, mut live, run_id) = waiting_service("svckill");
    assert_eq!(containers_of_run(&run_id).len(), 1);
    assert_eq!(networks_of(&run_id.to_string()).len(), 1);
    live.signal("KILL");
    live.wait_exit(Duration::from_secs(30));
    // The next command finishes it: the service and its network go.
    let out = project.slipway(&["history"]).output().unwrap();
    assert!(out.status.success());
    assert!(containers_of_run(&run_id).is_empty());
    assert!(networks_of(&run_id.to_string()).is_empty());
}

#[test]
fn a_service_built_from_the_projects_dockerfile_answers_its_http_probe() {
    let project = Project::hello("svcbuild");
    std::fs::create_dir_all(project.path().join("web")).unwrap();
    std::fs::copy(busybox(), project.path().join("web/busybox")).unwrap();
    project.write(
        "web/Dockerfile",
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
         RUN mkdir -p /www && echo web-here > /www/index.html\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
    );
    project.append_toml(
        r#"
[[service]]
name = "web"
build = "web/Dockerfile"
ready = { http = "/", port = 8080, timeout = "30s" }

[[test]]
name = "host steps reach it"
in = "host"
run = "busybox wget -qO- http://$SLIPWAY_SERVICE_WEB_HOST:$SLIPWAY_SERVICE_WEB_PORT/ | grep -q web-here"
"#,
    );
    let run = project.run_json(&[]);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let step = run
        .plan()
        .iter()
        .position(|s| s.name == "service web")
        .unwrap();
    let built = run.of_type("log").into_iter().any(|l| {
        l["step"] == step
            && l["line"]
                .as_str()
                .unwrap_or_default()
                .contains("Successfully tagged")
    });
    assert!(built, "its build's output is its step's log");
    assert!(networks_of(&run.run_id().to_string()).is_empty());
}

#[test]
fn services_kept_on_purpose_go_with_slipway_clean() {
    let image = service_image();
    let project = Project::hello("svckeep");
    let toml = project.read("slipway.toml");
    project.write(
        "slipway.toml",
        &format!(
            "cleanup = \"never\"\n{toml}\n[[service]]\nname = \"db\"\nimage = \"{image}:1\"\nready = {{ tcp = 5432 }}\n"
        ),
    );
    let run = project.run_json(&[]);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let run_id = run.run_id();
    assert_eq!(
        containers_of_run(&run_id).len(),
        2,
        "the app and its service are kept"
    );
    assert_eq!(networks_of(&run_id.to_string()).len(), 1);
    let name = run.of_type("run_started")[0]["project"]
        .as_str()
        .unwrap()
        .to_string();
    let out = project
        .slipway(&["clean", "--project", &name])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(containers_of_run(&run_id).is_empty());
    assert!(networks_of(&run_id.to_string()).is_empty());
}

#[test]
fn a_service_is_ready_when_its_command_says_so() {
    let image = service_image();
    let project = Project::hello("svccmd");
    project.append_toml(&format!(
        r#"
[[service]]
name = "db"
image = "{image}:1"
ready = {{ command = "wget -qO- http://127.0.0.1:5432/", timeout = "30s" }}

[[service]]
name = "sidecar"
image = "{image}:mute"

[[test]]
name = "the app reaches db"
run = "wget -qO- http://db:5432/ | grep -q db-here"
"#
    ));
    let run = project.run_json(&[]);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let names: Vec<&str> = run.plan().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names[1..3], ["service db", "service sidecar"]);

    // A command that never succeeds: not ready, named, with its output.
    let project = Project::hello("svccmdno");
    project.append_toml(&format!(
        "[[service]]\nname = \"db\"\nimage = \"{image}:mute\"\nready = {{ command = \"false\", timeout = \"1s\" }}\n"
    ));
    let run = project.run_json(&[]);
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(run.last()["outcome"]["step_name"], "service db");
}

/// How many calls named `call` the debug log shows begun before the first
/// of them ended: all of them when they went to the engine together.
fn begun_together(log: &str, call: &str) -> usize {
    let started = format!("engine call started call=\"{call}\"");
    let ended = format!("engine call ended call=\"{call}\"");
    log.lines()
        .take_while(|line| !line.contains(&ended))
        .filter(|line| line.contains(&started))
        .count()
}

#[test]
fn services_start_together_and_go_with_the_app_together() {
    let image = service_image();
    let project = Project::hello("svctogether");
    project.append_toml(&format!(
        r#"
[[service]]
name = "db"
image = "{image}:1"
ready = {{ tcp = 5432, timeout = "30s" }}

[[service]]
name = "cache"
image = "{image}:1"
ready = {{ tcp = 5432, timeout = "30s" }}
"#
    ));
    let run = project.run_json(&[("SLIPWAY_LOG", "slipway_core=debug")]);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(
        begun_together(&run.stderr, "create service container"),
        2,
        "both services are asked for at once: {}",
        run.stderr
    );
    assert_eq!(
        begun_together(&run.stderr, "remove container"),
        3,
        "the services and the app are removed at once: {}",
        run.stderr
    );
    assert!(containers_of_run(&run.run_id()).is_empty());
    assert!(networks_of(&run.run_id().to_string()).is_empty());
}
