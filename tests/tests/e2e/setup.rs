//! The set-up commands: `slipway doctor` passing, and failing for an
//! unreachable engine, a locked keychain and a broken pipeline file;
//! completions that load in bash; man pages; `--version`.

use std::process::Command;

use slipway_tests::Project;
use slipway_tests::services::Keyring;
use slipway_tests::world::{Run, World, has};

fn doctor(world: &World, project: &Project, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(slipway_tests::slipway_bin());
    cmd.arg("doctor").arg(project.path());
    let mut cmd = world.env(cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    world.finish(cmd, "")
}

#[test]
fn doctor_passes_here_and_names_what_fails() {
    let world = World::new(Keyring::Unlocked);
    world
        .fake
        .github_token("ghp_doctor", "octocat", Some("repo, workflow"));
    let login = world.slipway(&["login", "github", "--with-token"], "ghp_doctor");
    assert_eq!(login.code, 0, "{}", login.stderr);
    let project = Project::hello("doctor");

    let ok = doctor(&world, &project, &[]);
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    for line in [
        "✓ Docker engine: unix:///var/run/docker.sock (chosen by the default socket), Docker ",
        "✓ git: git version ",
        "✓ Keychain: the Secret Service answers and is unlocked",
        "✓ GitHub github.com: octocat (scopes repo, workflow)",
        "(0 runs, healthy)",
        "✓ Pipeline: ",
    ] {
        has(&ok.stdout, line);
    }
    has(
        &ok.stdout,
        "builds slipway-test/doctor:latest, 1 port, readiness probe, 1 test step",
    );

    let json = world.slipway(&["doctor", "--json"], "");
    let checks: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(checks.as_array().is_some_and(|c| c.len() >= 6), "{checks}");

    let unreachable = doctor(
        &world,
        &project,
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(unreachable.code, 3, "{}", unreachable.stdout);
    has(
        &unreachable.stdout,
        "✗ Docker engine: cannot reach the Docker engine at unix:///nonexistent/docker.sock",
    );
    has(&unreachable.stdout, "(chosen by DOCKER_HOST)");
    has(&unreachable.stdout, "    Start Docker");

    // A revoked token fails its line, with how to sign in again.
    world.fake.revoke_github_token("ghp_doctor");
    let revoked = doctor(&world, &project, &[]);
    assert_eq!(revoked.code, 3, "{}", revoked.stdout);
    has(&revoked.stdout, "✗ GitHub github.com: ");
    has(&revoked.stdout, "sign in again");
    world
        .fake
        .github_token("ghp_doctor", "octocat", Some("repo, workflow"));

    project.write("slipway.toml", "[run]\nports = [\"eighty\"]\n");
    let broken = doctor(&world, &project, &[]);
    assert_eq!(broken.code, 2, "{}", broken.stdout);
    has(&broken.stdout, "✗ Pipeline: ");
    has(&broken.stdout, "slipway.toml:2:");
}

#[test]
fn doctor_says_the_keychain_is_locked() {
    let world = World::new(Keyring::Locked);
    let project = Project::hello("doctorlocked");
    let run = doctor(&world, &project, &[]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    has(&run.stdout, "✗ Keychain: the keychain is locked");
    has(&run.stdout, "    Unlock your login keyring");
    has(&run.stdout, "✓ Docker engine");
}

#[test]
fn completions_load_in_bash_and_man_pages_are_generated() {
    let bin = slipway_tests::slipway_bin();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source <('{}' completions bash) && complete -p slipway",
            bin.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    has(&String::from_utf8_lossy(&out.stdout), "-F _slipway slipway");
    for shell in ["zsh", "fish"] {
        let out = Command::new(&bin)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&bin)
        .arg("man-pages")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (page, says) in [
        ("slipway.1", "slipway \\- Build, run, probe and test"),
        ("slipway-push.1", "\\-\\-tag"),
        ("slipway-pr-open.1", ".TH slipway-pr-open"),
        ("slipway-doctor.1", "\\-\\-json"),
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_default();
        has(&text, says);
    }
    assert!(
        !dir.path().join("slipway-man-pages.1").exists(),
        "the hidden command has no page"
    );

    let out = Command::new(&bin).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    has(
        &text,
        &format!("slipway {} (commit ", env!("CARGO_PKG_VERSION")),
    );
    has(&text, "Docker API 1.");
}
