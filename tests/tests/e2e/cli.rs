//! CLI behaviour: bad input, taken ports, init, clean, help.

use std::process::Command;

use slipway_tests::{Project, containers_of_run, slipway_bin};

#[test]
fn malformed_pipeline_file_gives_exact_position_and_exit_2() {
    let project = Project::hello("badtoml");
    project.write(
        "slipway.toml",
        "[image]\nname = \"x\"\n[run]\nports = [\"8080:80\", \"http\"]\n",
    );
    let out = project
        .slipway(&["run"])
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:4:21:",
        project
            .path()
            .canonicalize()
            .unwrap()
            .join("slipway.toml")
            .display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("\"http\""), "{stderr}");

    project.write("slipway.toml", "[run]\nports = [\"80\"\n");
    let out = project
        .slipway(&["run", "--json"])
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "bad_config");
    assert!(
        err["message"].as_str().unwrap().contains("slipway.toml:2:"),
        "{err}"
    );
}

#[test]
fn taken_host_port_is_named_and_exit_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let project = Project::hello("porttaken");
    let toml = project
        .read("slipway.toml")
        .replace("ports = [\"80\"]", &format!("ports = [\"{port}:80\"]"));
    project.write("slipway.toml", &toml);
    let run = project.run_json(&[]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let outcome = &run.last()["outcome"];
    assert_eq!(outcome["result"], "error");
    assert_eq!(outcome["problem"]["code"], "port_in_use");
    assert_eq!(
        outcome["problem"]["message"],
        format!("port {port} on 127.0.0.1 is already in use")
    );
    assert!(containers_of_run(&run.run_id()).is_empty());
    drop(listener);
}

#[test]
fn init_writes_a_pipeline_that_runs() {
    let project = Project::hello("init");
    std::fs::remove_file(project.path().join("slipway.toml")).unwrap();
    let out = project
        .slipway(&["init"])
        .arg(project.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml = project.read("slipway.toml");
    assert!(toml.contains("ports = [\"80\"]"), "{toml}");
    assert!(toml.contains("# "), "the file explains itself");
    let again = project
        .slipway(&["init"])
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "init refuses to overwrite");
    assert_eq!(project.read("slipway.toml"), toml);
    // The inferred readiness is GET / on the exposed port: www/index.html answers.
    let run = project.run_json(&[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn clean_removes_containers_kept_by_the_policy() {
    let project = Project::hello("keep");
    project.append_toml("[[test]]\nrun = \"false\"\n");
    let toml = format!("cleanup = \"on-success\"\n{}", project.read("slipway.toml"));
    project.write("slipway.toml", &toml);
    let run = project.run_json(&[]);
    assert_eq!(run.code, 1);
    let kept = containers_of_run(&run.run_id());
    assert_eq!(
        kept.len(),
        1,
        "a failed run keeps its container with on-success"
    );
    let name = run.of_type("run_started")[0]["project"]
        .as_str()
        .unwrap()
        .to_string();
    let out = project
        .slipway(&["clean", "--project", &name])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed slipway-keep-"));
    assert!(containers_of_run(&run.run_id()).is_empty());
}

/// Every command and subcommand the CLI promises; scripts rely on these.
const COMMANDS: &[&str] = &[
    "run",
    "init",
    "history",
    "logs",
    "clean",
    "schema",
    "import",
    "deploy",
    "deploys",
    "push",
    "doctor",
    "completions",
    "login",
    "login github",
    "login registry",
    "login circleci",
    "logout",
    "whoami",
    "git-credential",
    "secret",
    "secret set",
    "secret rm",
    "pr",
    "pr open",
    "pr status",
    "pr watch",
    "pr merge",
    "pr list",
    "pr checks",
    "pr rerun",
    "status",
];

#[test]
fn every_command_has_help() {
    for cmd in COMMANDS {
        let mut args: Vec<&str> = cmd.split(' ').collect();
        args.push("--help");
        let out = Command::new(slipway_bin()).args(&args).output().unwrap();
        assert!(out.status.success(), "{cmd} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("Usage: slipway {cmd}")),
            "{cmd}: {text}"
        );
    }
    // Every command the CLI lists is covered above, so a new one gets checked.
    let out = Command::new(slipway_bin()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let listed: Vec<&str> = text
        .split("Commands:")
        .nth(1)
        .and_then(|rest| rest.split("Options:").next())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(!listed.is_empty(), "{text}");
    for cmd in &listed {
        assert!(COMMANDS.contains(cmd), "`slipway {cmd}` has no help check");
    }
    for cmd in COMMANDS.iter().filter(|c| !c.contains(' ')) {
        assert!(listed.contains(cmd), "`slipway --help` does not list {cmd}");
    }
    let out = Command::new(slipway_bin())
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn published_schema_is_current() {
    let out = Command::new(slipway_bin()).arg("schema").output().unwrap();
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let committed_path = slipway_tests::repo_root().join("schema/slipway.schema.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&committed_path).unwrap()).unwrap();
    assert!(
        live == committed,
        "schema/slipway.schema.json is stale: run `slipway schema > schema/slipway.schema.json`"
    );
}
