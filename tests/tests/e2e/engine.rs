//! Reaching the engine: unreachable, DOCKER_HOST over TCP with TLS, over
//! SSH, and a docker CLI context.

use std::process::Command;

use slipway_core::event::Event;
use slipway_tests::{Project, RunResult, tls_engine};

/// The engine endpoint a run says it used.
fn engine_used(run: &RunResult) -> String {
    run.typed
        .iter()
        .find_map(|e| match &e.event {
            Event::RunStarted { engine, .. } => Some(engine.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no run_started event: {}", run.stderr))
}

#[test]
fn unreachable_engine_is_one_clear_sentence_and_exit_3() {
    let project = Project::hello("noengine");
    let out = project
        .slipway(&["run"])
        .arg(project.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one error and one hint: {stderr}");
    assert_eq!(
        lines[0],
        "error: cannot reach the Docker engine at unix:///nonexistent/docker.sock (no socket at /nonexistent/docker.sock)"
    );
    assert!(lines[1].starts_with("hint: Start Docker"), "{stderr}");

    let out = project
        .slipway(&["run"])
        .arg(project.path())
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "error: cannot reach the Docker engine at tcp://127.0.0.1:1 (Connection refused)"
        ),
        "{stderr}"
    );
}

#[test]
fn docker_host_over_tcp_with_tls() {
    let (host, certs) = tls_engine();
    let project = Project::hello("tls");
    let certs = certs.display().to_string();
    let run = project.run_json(&[
        ("DOCKER_HOST", &host),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", &certs),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(engine_used(&run), format!("{host} (TLS) from DOCKER_HOST"));

    // Without the client certificate the engine refuses us, and we say so.
    let empty = tempfile::tempdir().unwrap();
    std::fs::copy(format!("{certs}/ca.pem"), empty.path().join("ca.pem")).unwrap();
    let out = project
        .slipway(&["run"])
        .arg(project.path())
        .env("DOCKER_HOST", &host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cert.pem is missing"));
}

#[test]
fn current_docker_context_is_used() {
    let (host, certs) = tls_engine();
    let config = tempfile::tempdir().unwrap();
    let docker = |args: &[&str]| {
        let out = Command::new("docker")
            .args(args)
            .env("DOCKER_CONFIG", config.path())
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let endpoint = format!(
        "host={host},ca={0}/ca.pem,cert={0}/cert.pem,key={0}/key.pem",
        certs.display()
    );
    docker(&["context", "create", "slipway-test", "--docker", &endpoint]);
    docker(&["context", "use", "slipway-test"]);

    let project = Project::hello("context");
    let mut cmd = project.slipway(&["run", "--json"]);
    cmd.arg(project.path())
        .env("DOCKER_CONFIG", config.path())
        .env_remove("DOCKER_HOST");
    let out = cmd.output().unwrap();
    let run = slipway_tests::RunResult::from(out);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // The context's own endpoint (the TLS listener), not the default socket
    // that reaches the same engine.
    assert_eq!(
        engine_used(&run),
        format!("{host} (TLS) from docker context \"slipway-test\"")
    );

    // A context that does not exist is named.
    let out = project
        .slipway(&["run"])
        .arg(project.path())
        .env("DOCKER_CONFIG", config.path())
        .env("DOCKER_CONTEXT", "nope")
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("docker context \"nope\" does not exist")
    );
}

#[test]
fn an_engine_over_ssh_builds_runs_and_tests() {
    let sshd = slipway_tests::services::Sshd::start();
    let project = Project::hello("overssh");
    let agent = sshd.agent().display().to_string();
    let url = sshd.url();
    // The user's ssh client, agent and known hosts; the engine is reached
    // through `docker system dial-stdio` on the remote host.
    let run = project.run_json(&[("DOCKER_HOST", &url), ("SSH_AUTH_SOCK", &agent)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(engine_used(&run), format!("{url} from DOCKER_HOST"));
    // Published ports are probed on the remote host.
    let container = &run.of_type("container_started")[0];
    assert!(
        container["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{container}"
    );

    // A docker context with an ssh endpoint works the same way.
    let config = tempfile::tempdir().unwrap();
    let made = Command::new("docker")
        .args([
            "context",
            "create",
            "slipway-ssh",
            "--docker",
            &format!("host={url}"),
        ])
        .env("DOCKER_CONFIG", config.path())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut cmd = project.slipway(&["run", "--json"]);
    cmd.arg(project.path())
        .env("DOCKER_CONFIG", config.path())
        .env("DOCKER_CONTEXT", "slipway-ssh")
        .env("SSH_AUTH_SOCK", &agent)
        .env_remove("DOCKER_HOST");
    let run = slipway_tests::RunResult::from(cmd.output().unwrap());
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        engine_used(&run),
        format!("{url} from docker context \"slipway-ssh\"")
    );

    // Without the key the engine cannot be reached, and the error says where.
    let out = project
        .slipway(&["run"])
        .arg(project.path())
        .env("DOCKER_HOST", &url)
        .env("SSH_AUTH_SOCK", "/nonexistent/agent.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach the Docker engine at {url}")),
        "{stderr}"
    );
}
