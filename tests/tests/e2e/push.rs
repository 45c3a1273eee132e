//! `slipway push` to a real registry (Debian's docker-registry on loopback
//! with htpasswd): the tag scheme on the default and a feature branch, an
//! explicit tag, per-layer progress, an image not built from HEAD, and the
//! refusals (not signed in, a wrong password, denied, unreachable), over
//! the local socket and over TLS.

use std::path::Path;
use std::process::Command;

use slipway_tests::services::{Keyring, Registry};
use slipway_tests::world::{Run, World, has};
use slipway_tests::{Project, git, tls_engine};

const PASSWORD: &str = "push-pass-4d1e";

fn slipway_in(world: &World, dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut cmd = Command::new(slipway_tests::slipway_bin());
    cmd.args(args).current_dir(dir);
    world.finish(world.env(cmd), stdin)
}

/// examples/hello in git on `main`, pushed to a bare origin (so origin/HEAD
/// names the default branch), pushing to `repository`.
fn project(name: &str, repository: &str) -> (Project, tempfile::TempDir) {
    let project = Project::hello(name);
    project.append_toml(&format!("[push]\nrepository = \"{repository}\"\n"));
    let _ = Command::new("docker")
        .args(["rmi", "-f", &format!("slipway-test/{name}")])
        .output();
    let origin = tempfile::tempdir().unwrap();
    git(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    let dir = project.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            &origin.path().display().to_string(),
        ],
    );
    git(dir, &["push", "-q", "-u", "origin", "main"]);
    git(dir, &["remote", "set-head", "origin", "main"]);
    (project, origin)
}

fn image_exists(reference: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", reference])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_built_image_is_pushed_under_the_scheme_and_refusals_are_clear() {
    let world = World::new(Keyring::Unlocked);
    let registry = Registry::start(&[("alice", PASSWORD)]);
    let repository = format!("{}/shop/pushme", registry.host());
    let (project, _origin) = project("pushme", &repository);
    let dir = project.path();

    // Nothing built yet.
    let early = slipway_in(&world, dir, &["push"], "");
    assert_eq!(early.code, 2, "{}", early.stderr);
    has(
        &early.stderr,
        "there is no image slipway-test/pushme:latest to push",
    );
    has(&early.stderr, "Run the pipeline first");

    let run = slipway_in(&world, dir, &["run"], "");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    // Not signed in: the registry wants a login, and the hint says how.
    let anonymous = slipway_in(&world, dir, &["push"], "");
    assert_eq!(anonymous.code, 2, "{}", anonymous.stderr);
    has(&anonymous.stderr, "you are not signed in to it");
    has(
        &anonymous.stderr,
        &format!("slipway login registry {}", registry.host()),
    );

    let login = world.slipway(
        &[
            "login",
            "registry",
            &registry.host(),
            "-u",
            "alice",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert_eq!(login.code, 0, "{}", login.stderr);

    // On the default branch: the branch, the short SHA and latest, each
    // layer reported; the local tags made for the push are gone again.
    let sha = git(dir, &["rev-parse", "HEAD"]);
    let short = &sha[..7];
    let pushed = slipway_in(&world, dir, &["push"], "");
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    has(&pushed.stderr, "(signed in as alice)");
    for tag in ["main", short, "latest"] {
        has(
            &pushed.stdout,
            &format!("pushed {repository}:{tag}  sha256:"),
        );
        assert!(
            !image_exists(&format!("{repository}:{tag}")),
            "{tag} left behind"
        );
    }
    has(&pushed.stderr, " pushed\n");
    has(&pushed.stderr, " already there\n");
    let mut want = vec!["latest".to_string(), "main".to_string(), short.to_string()];
    want.sort();
    assert_eq!(registry.tags("shop/pushme", "alice", PASSWORD), want);

    // A new commit not built yet: refused, naming both commits.
    git(dir, &["checkout", "-q", "-b", "feature/login"]);
    project.write("www/extra.txt", "more\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "extra"]);
    let stale = slipway_in(&world, dir, &["push"], "");
    assert_eq!(stale.code, 3, "{}", stale.stderr);
    let feature_sha = git(dir, &["rev-parse", "HEAD"]);
    has(
        &stale.stderr,
        &format!(
            "was built from commit {short}, not from HEAD ({})",
            &feature_sha[..7]
        ),
    );

    // Built on the feature branch: its tags, not latest; JSON events.
    let run = slipway_in(&world, dir, &["run"], "");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let json = slipway_in(&world, dir, &["push", "--json"], "");
    assert_eq!(json.code, 0, "{}", json.stderr);
    let lines: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines[0]["kind"], "plan");
    assert_eq!(
        lines[0]["plan"]["tags"],
        serde_json::json!(["feature-login", &feature_sha[..7]])
    );
    has(
        lines[0]["plan"]["notes"][0].as_str().unwrap_or_default(),
        "latest: only from main",
    );
    let layers: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "layer").collect();
    assert!(
        layers
            .iter()
            .any(|l| l["state"] == "pushed" && l["id"].as_str().is_some_and(|i| i.len() == 12)),
        "{layers:?}"
    );
    let report = &lines[lines.len() - 1];
    assert_eq!(report["kind"], "report");
    assert_eq!(report["report"]["tags"].as_array().map(Vec::len), Some(2));
    assert!(report["report"]["uploaded"].as_u64() >= Some(1), "{report}");

    // An explicit tag replaces the scheme.
    let tagged = slipway_in(&world, dir, &["push", "--tag", "v1.0"], "");
    assert_eq!(tagged.code, 0, "{}", tagged.stderr);
    has(&tagged.stdout, &format!("pushed {repository}:v1.0"));
    let bad = slipway_in(&world, dir, &["push", "--tag", "bad/tag"], "");
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    has(&bad.stderr, "invalid tag \"bad/tag\"");
    let mut want: Vec<String> = [
        "latest",
        "main",
        short,
        "feature-login",
        &feature_sha[..7],
        "v1.0",
    ]
    .map(String::from)
    .to_vec();
    want.sort();
    assert_eq!(registry.tags("shop/pushme", "alice", PASSWORD), want);

    // A wrong password in the docker CLI's logins, once Slipway's is gone.
    let logout = world.slipway(&["logout", "registry", &registry.host()], "");
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    let auth = base64_of("alice:not-the-password");
    std::fs::write(
        world.docker_dir().join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let wrong = slipway_in(&world, dir, &["push"], "");
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    has(
        &wrong.stderr,
        &format!(
            "{} refused the user name or password of alice",
            registry.host()
        ),
    );
    has(&wrong.stderr, "-u alice --password-stdin");

    // A registry that refuses pushes, and one that is not there.
    let read_only = Registry::start_read_only(&[("alice", PASSWORD)]);
    let ro_login = world.slipway(
        &[
            "login",
            "registry",
            &read_only.host(),
            "-u",
            "alice",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert_eq!(ro_login.code, 0, "{}", ro_login.stderr);
    let toml = project
        .read("slipway.toml")
        .replace(&repository, &format!("{}/shop/pushme", read_only.host()));
    project.write("slipway.toml", &toml);
    let denied = slipway_in(&world, dir, &["push", "--tag", "v2"], "");
    assert_eq!(denied.code, 2, "{}", denied.stderr);
    has(
        &denied.stderr,
        &format!(
            "{0} denied pushing to {0}/shop/pushme as alice",
            read_only.host()
        ),
    );
    let toml = project
        .read("slipway.toml")
        .replace(&read_only.host(), "127.0.0.1:9");
    project.write("slipway.toml", &toml);
    let closed = slipway_in(&world, dir, &["push", "--tag", "v2"], "");
    assert_eq!(closed.code, 3, "{}", closed.stderr);
    has(&closed.stderr, "cannot reach the registry 127.0.0.1:9");

    for output in world.outputs() {
        assert!(!output.contains(PASSWORD), "the password leaked:\n{output}");
    }
    for (path, text) in world.file_texts() {
        assert!(
            !text.contains(PASSWORD),
            "the password leaked into {}",
            path.display()
        );
    }
}

#[test]
fn an_engine_over_tls_pushes_too() {
    let (host, certs) = tls_engine();
    let world = World::new(Keyring::Unlocked);
    let registry = Registry::start(&[("bob", PASSWORD)]);
    let repository = format!("{}/shop/pushtls", registry.host());
    let (project, _origin) = project("pushtls", &repository);
    let dir = project.path();
    let login = world.slipway(
        &[
            "login",
            "registry",
            &registry.host(),
            "-u",
            "bob",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert_eq!(login.code, 0, "{}", login.stderr);
    let tls = |args: &[&str]| {
        let mut cmd = Command::new(slipway_tests::slipway_bin());
        cmd.args(args).current_dir(dir);
        let mut cmd = world.env(cmd);
        cmd.env("DOCKER_HOST", &host)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", &certs);
        world.finish(cmd, "")
    };
    let run = tls(&["run"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let pushed = tls(&["push", "--tag", "over-tls"]);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    has(
        &pushed.stdout,
        &format!("pushed {repository}:over-tls  sha256:"),
    );
    assert_eq!(registry.tags("shop/pushtls", "bob", PASSWORD), ["over-tls"]);
}

fn base64_of(text: &str) -> String {
    let out = Command::new("base64")
        .args(["-w0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("base64");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
