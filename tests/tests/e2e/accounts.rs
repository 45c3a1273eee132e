//! Accounts and secrets through the `slipway` CLI, against a real Secret
//! Service (GNOME Keyring on a private bus), a real registry
//! (docker-registry with htpasswd) and the fake GitHub and CircleCI.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use slipway_tests::services::{Keyring, Registry};
use slipway_tests::world::{Run, World, has};
use slipway_tests::{Project, slipway_bin};

fn account<'a>(whoami: &'a Value, kind: &str, host: &str) -> Option<&'a Value> {
    whoami["accounts"]
        .as_array()?
        .iter()
        .find(|a| a["kind"] == kind && a["host"] == host)
}

#[test]
fn keychain_stores_reads_replaces_and_deletes() {
    let world = World::new(Keyring::Unlocked);
    let set = world.slipway(
        &["secret", "set", "deploy-trigger", "hello/dockerhub"],
        "https://hub.example/trigger/first-value\n",
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    assert_eq!(
        world.bus.slipway_entries(),
        [(
            "deploy-trigger/hello/dockerhub".to_string(),
            "Slipway: deploy trigger URL \"dockerhub\" of project hello".to_string(),
            "https://hub.example/trigger/first-value".to_string()
        )]
    );

    let replace = world.slipway(
        &["secret", "set", "deploy-trigger", "hello/dockerhub"],
        "https://hub.example/trigger/second-value",
    );
    assert_eq!(replace.code, 0, "{}", replace.stderr);
    let entries = world.bus.slipway_entries();
    assert_eq!(entries.len(), 1, "replaced, not added: {entries:?}");
    assert_eq!(entries[0].2, "https://hub.example/trigger/second-value");

    let rm = world.slipway(&["secret", "rm", "deploy-trigger", "hello/dockerhub"], "");
    assert_eq!(rm.code, 0, "{}", rm.stderr);
    has(&rm.stdout, "removed the deploy trigger URL");
    assert!(world.bus.slipway_entries().is_empty());
    let again = world.slipway(&["secret", "rm", "deploy-trigger", "hello/dockerhub"], "");
    has(&again.stdout, "was not set");

    // Reading goes through the same entries: an account whose secret was
    // removed behind Slipway's back reads as missing, with what to do.
    world
        .fake
        .github_token("ghp_read_check", "octocat", Some("repo, workflow"));
    assert_eq!(
        world
            .slipway(&["login", "github", "--with-token"], "ghp_read_check")
            .code,
        0
    );
    assert_eq!(
        account(&world.whoami(), "github", "github.com").unwrap()["secret"],
        "set"
    );
    world.bus.clear_entry("github-token/github.com");
    assert_eq!(
        account(&world.whoami(), "github", "github.com").unwrap()["secret"],
        "missing"
    );
    let text = world.slipway(&["whoami"], "");
    has(
        &text.stdout,
        "secret missing from the keychain: sign in again",
    );

    let bad = world.slipway(&["secret", "set", "deploy-trigger", "no-slash"], "x");
    assert_eq!(bad.code, 2);
    has(&bad.stderr, "\"no-slash\" is not PROJECT/NAME");
}

#[test]
fn github_token_is_validated_before_it_is_stored() {
    let world = World::new(Keyring::Unlocked);
    world
        .fake
        .github_token("ghp_full", "octocat", Some("gist, repo, workflow"))
        .github_token("ghp_narrow", "narrow", Some("read:user"))
        .github_token("github_pat_fine", "fine", None);

    let rejected = world.slipway(&["login", "github", "--with-token"], "ghp_wrong\n");
    assert_eq!(rejected.code, 2, "{}", rejected.stderr);
    has(
        &rejected.stderr,
        "GitHub rejected the credentials for github.com: Bad credentials",
    );
    has(
        &rejected.stderr,
        "hint: Create a token at https://github.com/settings/tokens",
    );
    assert!(world.entry_names().is_empty(), "nothing stored on failure");
    assert!(!world.accounts_file().contains("github"));

    let ok = world.slipway(&["login", "github", "--with-token"], "ghp_full\n");
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    has(
        &ok.stdout,
        "Signed in to github.com as octocat (octocat (test))",
    );
    has(&ok.stdout, "token scopes: gist, repo, workflow");
    assert!(
        !ok.stderr.contains("warning: missing scope"),
        "{}",
        ok.stderr
    );
    assert_eq!(world.entry_names(), ["github-token/github.com"]);
    let who = world.whoami();
    let gh = account(&who, "github", "github.com").expect("github account");
    assert_eq!(gh["user"], "octocat");
    assert_eq!(
        gh["scopes"],
        serde_json::json!(["gist", "repo", "workflow"])
    );
    assert_eq!(gh["source"]["kind"], "slipway");
    assert_eq!(gh["api_url"], world.fake.github_api());

    // Replacing with a narrower token warns about what will not work.
    let narrow = world.slipway(&["login", "github", "--with-token"], "ghp_narrow");
    assert_eq!(narrow.code, 0, "{}", narrow.stderr);
    has(&narrow.stderr, "warning: missing scope `repo`");
    has(&narrow.stderr, "warning: missing scope `workflow`");
    let who = world.whoami();
    assert_eq!(
        account(&who, "github", "github.com").unwrap()["user"],
        "narrow"
    );
    assert_eq!(world.entry_names(), ["github-token/github.com"]);
    let entries = world.bus.slipway_entries();
    assert_eq!(entries[0].2, "ghp_narrow");

    // A fine-grained token reports no scopes: say so instead of guessing.
    let fine = world.slipway(
        &[
            "login",
            "github",
            "--host",
            "ghe.example.com",
            "--with-token",
        ],
        "github_pat_fine",
    );
    assert_eq!(fine.code, 0, "{}", fine.stderr);
    has(&fine.stderr, "fine-grained");
    let who = world.whoami();
    assert_eq!(
        account(&who, "github", "ghe.example.com").unwrap()["user"],
        "fine"
    );
    assert_eq!(
        world.entry_names(),
        ["github-token/ghe.example.com", "github-token/github.com"]
    );

    let out = world.slipway(&["logout", "github"], "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    has(&out.stdout, "signed out of GitHub github.com");
    assert_eq!(world.entry_names(), ["github-token/ghe.example.com"]);
    assert!(account(&world.whoami(), "github", "github.com").is_none());
    let again = world.slipway(&["logout", "github"], "");
    has(&again.stdout, "not signed in");

    let empty = world.slipway(&["login", "github", "--with-token"], "\n");
    assert_eq!(empty.code, 2);
    has(&empty.stderr, "the GitHub token is empty");

    assert!(
        world
            .fake
            .requests()
            .iter()
            .all(|r| r == "GET /github/user")
    );
}

#[test]
fn circleci_token_is_validated_before_it_is_stored() {
    let world = World::new(Keyring::Unlocked);
    world.fake.circleci_token("circle_good", "circle-dev");

    let rejected = world.slipway(&["login", "circleci", "--with-token"], "circle_bad");
    assert_eq!(rejected.code, 2, "{}", rejected.stderr);
    has(
        &rejected.stderr,
        "CircleCI rejected the credentials for 127.0.0.1: Invalid token provided.",
    );
    assert!(world.entry_names().is_empty());

    let ok = world.slipway(&["login", "circleci", "--with-token"], "circle_good\n");
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    has(&ok.stdout, "as circle-dev");
    assert_eq!(world.entry_names(), ["circleci-token/127.0.0.1"]);
    let who = world.whoami();
    assert_eq!(
        account(&who, "circleci", "127.0.0.1").unwrap()["user"],
        "circle-dev"
    );

    assert_eq!(world.slipway(&["logout", "circleci"], "").code, 0);
    assert!(world.entry_names().is_empty());
    assert_eq!(world.fake.requests(), ["GET /circleci/api/v2/me"; 2]);
}

#[test]
fn registry_login_is_checked_with_the_registry() {
    let world = World::new(Keyring::Unlocked);
    let registry = Registry::start(&[("alice", "s3cret-pass")]);
    let host = registry.host();

    let wrong = registry_login(&world, &host, "wrong-pass\n");
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    has(
        &wrong.stderr,
        &format!("the registry rejected the credentials for {host}"),
    );
    assert!(world.entry_names().is_empty());

    let right = registry_login(&world, &host, "s3cret-pass\n");
    assert_eq!(right.code, 0, "{}", right.stderr);
    has(&right.stdout, &format!("Signed in to {host} as alice"));
    assert_eq!(world.entry_names(), [format!("registry/{host}")]);

    let closed = world.slipway(
        &[
            "login",
            "registry",
            "127.0.0.1:9",
            "-u",
            "alice",
            "--password-stdin",
        ],
        "x",
    );
    assert_eq!(closed.code, 3, "{}", closed.stderr);
    has(
        &closed.stderr,
        "cannot check the credentials with the registry",
    );

    // What the docker CLI already has is listed, read-only: `auths` and a
    // credential helper.
    let auth = "Ym9iOmRvY2tlci1wYXNz"; // bob:docker-pass
    let config = format!(
        r#"{{"auths":{{"registry.example.com":{{"auth":"{auth}"}},"https://index.docker.io/v1/":{{}}}},
            "credHelpers":{{"helped.example.com":"slipwaytest"}}}}"#
    );
    std::fs::write(world.docker_dir().join("config.json"), &config).unwrap();
    let bin = world.docker_dir().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_script(
        &bin.join("docker-credential-slipwaytest"),
        "#!/bin/sh\nread server\n[ \"$1\" = get ] && printf '{\"ServerURL\":\"%s\",\"Username\":\"carol\",\"Secret\":\"helper-pass\"}' \"$server\"\n",
    );
    let who = world.whoami();
    let alice = account(&who, "registry", &host).expect("slipway's login");
    assert_eq!(alice["user"], "alice");
    assert_eq!(alice["source"]["kind"], "slipway");
    let bob = account(&who, "registry", "registry.example.com").expect("docker auths");
    assert_eq!(bob["user"], "bob");
    assert_eq!(bob["source"]["kind"], "docker_config");
    let carol = account(&who, "registry", "helped.example.com").expect("helper login");
    assert_eq!(carol["user"], "carol");
    assert_eq!(
        carol["source"],
        serde_json::json!({"kind": "docker_helper", "helper": "slipwaytest"})
    );
    assert!(
        account(&who, "registry", "docker.io").is_none(),
        "an empty auths entry is no login"
    );
    assert_eq!(
        std::fs::read_to_string(world.docker_dir().join("config.json")).unwrap(),
        config,
        "docker's config is never written"
    );

    assert_eq!(world.slipway(&["logout", "registry", &host], "").code, 0);
    assert!(world.entry_names().is_empty());
    let missing_host = world.slipway(&["logout", "registry"], "");
    assert_eq!(missing_host.code, 2);
    has(&missing_host.stderr, "the host is missing");
}

fn registry_login(world: &World, host: &str, password: &str) -> Run {
    world.slipway(
        &["login", "registry", host, "-u", "alice", "--password-stdin"],
        password,
    )
}

#[test]
fn registry_login_follows_a_token_realm_like_docker_hub() {
    let world = World::new(Keyring::Unlocked);
    world.fake.registry_user("alice", "hub-pass");
    let host = world.fake.url().trim_start_matches("http://").to_string();

    let wrong = registry_login(&world, &host, "nope");
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    has(
        &wrong.stderr,
        &format!(
            "the registry rejected the credentials for {host}: incorrect username or password"
        ),
    );
    assert!(world.entry_names().is_empty());

    let right = registry_login(&world, &host, "hub-pass");
    assert_eq!(right.code, 0, "{}", right.stderr);
    assert_eq!(world.entry_names(), [format!("registry/{host}")]);
    let tokens: Vec<String> = world
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /token"))
        .collect();
    assert_eq!(
        tokens, ["GET /token?account=alice&service=fake.registry"; 2],
        "the realm is asked with the account and service"
    );
}

fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn keychain_problems_say_what_to_do() {
    // No session bus at all.
    let world = World::new(Keyring::None);
    let mut cmd = Command::new(slipway_bin());
    cmd.args(["secret", "set", "deploy-trigger", "hello/hub"]);
    let mut cmd = world.env(cmd);
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", world.config_dir());
    let no_bus = world.finish(cmd, "https://x");
    assert_eq!(no_bus.code, 3, "{}", no_bus.stderr);
    has(&no_bus.stderr, "there is no D-Bus session bus");
    has(&no_bus.stderr, "hint: Run Slipway inside a desktop session");

    // A bus, but no Secret Service on it.
    let no_service = world.slipway(
        &["secret", "set", "deploy-trigger", "hello/hub"],
        "https://x",
    );
    assert_eq!(no_service.code, 3, "{}", no_service.stderr);
    has(
        &no_service.stderr,
        "no keychain (Secret Service) is running on the session bus",
    );
    has(
        &no_service.stderr,
        "gnome-keyring-daemon --start --components=secrets",
    );

    // A keyring nobody unlocked. Validation passes, storing fails, and then
    // nothing is recorded as signed in.
    let locked = World::new(Keyring::Locked);
    locked
        .fake
        .github_token("ghp_locked", "octocat", Some("repo, workflow"));
    let run = locked.slipway(&["login", "github", "--with-token"], "ghp_locked");
    assert_eq!(run.code, 3, "{}", run.stderr);
    has(&run.stderr, "error: the keychain is locked");
    has(&run.stderr, "hint: Unlock your login keyring");
    assert!(
        locked.accounts_file().is_empty(),
        "{}",
        locked.accounts_file()
    );
    let who = locked.whoami();
    assert_eq!(who["accounts"], serde_json::json!([]));
}

#[test]
fn secrets_never_reach_logs_files_or_errors() {
    let world = World::new(Keyring::Unlocked);
    let registry = Registry::start(&[("alice", "leak-registry-pass-7f3a")]);
    let github = "ghp_leakcheck0000000000000000000000000001";
    let github_wrong = "ghp_leakcheck_wrong_000000000000000000002";
    let circle = "circle_leakcheck_0000000000000003";
    let circle_wrong = "circle_leakcheck_wrong_0000000004";
    let registry_wrong = "leak-registry-wrong-9b1c";
    let trigger = "https://hub.example/api/build/v1/source/leak-trigger-token-5e5e/trigger/x/call/";
    world.fake.github_token(github, "octocat", Some("repo"));
    world.fake.circleci_token(circle, "circle-dev");
    let host = registry.host();

    // Every path a secret travels, right and wrong, with trace logging on.
    for (args, stdin) in [
        (vec!["login", "github", "--with-token"], github_wrong),
        (vec!["login", "github", "--with-token"], github),
        (vec!["login", "circleci", "--with-token"], circle_wrong),
        (vec!["login", "circleci", "--with-token"], circle),
        (
            vec![
                "login",
                "registry",
                host.as_str(),
                "-u",
                "alice",
                "--password-stdin",
            ],
            registry_wrong,
        ),
        (
            vec![
                "login",
                "registry",
                host.as_str(),
                "-u",
                "alice",
                "--password-stdin",
            ],
            "leak-registry-pass-7f3a",
        ),
        (
            vec!["secret", "set", "deploy-trigger", "hello/dockerhub"],
            trigger,
        ),
        (vec!["whoami"], ""),
        (vec!["whoami", "--json"], ""),
    ] {
        world.slipway(&args, stdin);
    }
    assert_eq!(world.entry_names().len(), 4, "{:?}", world.entry_names());

    // A pipeline run in the same environment, with a secret passed to its
    // container, records history and logs.
    let project = Project::hello("leakcheck");
    let name = slipway_core::config::default_name(project.path());
    project.append_toml(
        "[run.secrets]\nDEPLOY = \"deploy-trigger/dockerhub\"\n\n[[test]]\nname = \"the deploy URL is there\"\nrun = \"echo \\\"$DEPLOY\\\" | grep -q leak-trigger-token && echo deploy-url-checked-by-the-step\"\n",
    );
    let set = world.slipway(
        &[
            "secret",
            "set",
            "deploy-trigger",
            &format!("{name}/dockerhub"),
        ],
        trigger,
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    let mut cmd = project.slipway(&["run", "--json"]);
    cmd.arg(project.path());
    let run = world.finish(world.env(cmd), "");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    has(&run.stdout, "the deploy URL is there");
    let logs = world.slipway(&["logs", "last", "--json"], "");
    assert_eq!(logs.code, 0, "{}", logs.stderr);

    let secrets = [
        github,
        github_wrong,
        circle,
        circle_wrong,
        "leak-registry-pass-7f3a",
        registry_wrong,
        "leak-trigger-token-5e5e",
    ];
    let outputs = world.outputs();
    assert!(
        outputs.iter().any(|o| o.contains("TRACE")),
        "trace logging was on"
    );
    for secret in secrets {
        for output in outputs.iter() {
            assert!(
                !output.contains(secret),
                "{secret} leaked into output:\n{output}"
            );
        }
    }
    let files = world.file_texts();
    assert!(files.iter().any(|(p, _)| p.ends_with("accounts.json")));
    let history = files
        .iter()
        .find(|(p, _)| p.ends_with("history.db"))
        .unwrap_or_else(|| panic!("no history.db among {files:?}"));
    // The scan sees inside the compressed logs: the run's own output is there.
    has(&history.1, "deploy-url-checked-by-the-step");
    for (path, text) in &files {
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{secret} leaked into {}",
                path.display()
            );
        }
    }
}

#[test]
fn a_missing_secret_is_named_with_how_to_set_it() {
    let world = World::new(Keyring::Unlocked);
    let project = Project::hello("missingsecret");
    let name = slipway_core::config::default_name(project.path());
    project.append_toml("[run.secrets]\nDEPLOY = \"deploy-trigger/dockerhub\"\n");
    let mut cmd = project.slipway(&["run"]);
    cmd.arg(project.path());
    let run = world.finish(world.env(cmd), "");
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    has(
        &run.stdout,
        &format!(
            "the deploy trigger URL \"dockerhub\" of project {name} is not set ([run.secrets] DEPLOY needs it)"
        ),
    );
    has(
        &run.stdout,
        &format!("slipway secret set deploy-trigger {name}/dockerhub"),
    );
    assert!(
        slipway_tests::containers_of_project(&name).is_empty(),
        "no container left"
    );

    // A reference that names no kind of secret is a config error with its place.
    let toml = project
        .read("slipway.toml")
        .replace("deploy-trigger/dockerhub", "password/x");
    project.write("slipway.toml", &toml);
    let line = toml.lines().position(|l| l.contains("password/x")).unwrap() + 1;
    let mut cmd = project.slipway(&["run"]);
    cmd.arg(project.path());
    let bad = world.finish(world.env(cmd), "");
    assert_eq!(bad.code, 2, "{}\n{}", bad.stdout, bad.stderr);
    has(&bad.stderr, &format!("slipway.toml:{line}:"));
    has(&bad.stderr, "unknown secret kind \"password\"");
}
