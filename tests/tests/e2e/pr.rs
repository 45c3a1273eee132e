//! `slipway pr` against the fake GitHub and a real git remote: a red
//! preflight stops the push, then push, pull request, checks and merge.

use std::path::Path;
use std::process::Command;

use slipway_tests::Project;
use slipway_tests::git;
use slipway_tests::services::Keyring;
use slipway_tests::world::{Run, World, has};

/// A world whose user is signed in to GitHub as octo with `token`.
fn signed_in(token: &str, scopes: &str) -> World {
    let world = World::new(Keyring::Unlocked);
    world.fake.github_token(token, "octo", Some(scopes));
    let login = world.slipway(&["login", "github", "--with-token"], token);
    assert_eq!(login.code, 0, "{}", login.stderr);
    world
}

/// A new repository in `dir` on `branch` whose origin is `url`, which git
/// rewrites to the fake's bare repository `bare`.
fn repo_named(dir: &Path, branch: &str, url: &str, bare: &Path) {
    git(dir, &["init", "-q", "-b", branch]);
    git(dir, &["remote", "add", "origin", url]);
    let rewrite = format!("url.{}.insteadOf", bare.display());
    git(dir, &["config", &rewrite, url]);
}

/// `slipway ARGS` run in `dir`, in `world`.
fn slipway_in(world: &World, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(slipway_tests::slipway_bin());
    cmd.args(args).current_dir(dir);
    world.finish(world.env(cmd), "")
}

#[test]
fn a_feature_branch_is_pushed_reviewed_and_merged_from_the_cli() {
    let world = signed_in("ghp_pr_flow", "repo, workflow");
    let bare = world.fake.github_repo("octo", "hello", "master");

    // The tutorial's shape: a project on master, then a feature branch.
    let project = Project::hello("prflow");
    let dir = project.path();
    repo_named(dir, "master", "git@github.com:octo/hello.git", &bare);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "The hello service"]);
    git(dir, &["push", "-q", "origin", "master"]);
    git(dir, &["switch", "-q", "-c", "feature/paris"]);

    let pr = |args: &[&str]| slipway_in(&world, dir, args);

    // A red preflight stops the push.
    project.append_toml(
        "[[test]]\nname = \"wants Paris\"\nrun = \"grep -q Paris /www/cities.json\"\n",
    );
    git(dir, &["commit", "-q", "-am", "Test for Paris"]);
    let red = pr(&["pr", "open"]);
    assert_eq!(red.code, 2, "{}\n{}", red.stdout, red.stderr);
    has(
        &red.stderr,
        "the preflight run failed, so nothing was pushed",
    );
    has(&red.stdout, "FAILED");
    assert!(
        Command::new("git")
            .arg("-C")
            .arg(&bare)
            .args(["rev-parse", "--verify", "-q", "feature/paris"])
            .output()
            .unwrap()
            .stdout
            .is_empty(),
        "nothing reached the remote"
    );

    // Fixed: the preflight passes, the branch is pushed, the PR opened.
    let cities = project
        .read("www/cities.json")
        .replace("Seattle", "Seattle\", \"Paris");
    project.write("www/cities.json", &cities);
    git(dir, &["commit", "-q", "-am", "Add Paris"]);
    let open = pr(&["pr", "open", "--json"]);
    assert_eq!(open.code, 0, "{}\n{}", open.stdout, open.stderr);
    let opened: serde_json::Value =
        serde_json::from_str(open.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(opened["opened"], true);
    assert_eq!(opened["pull_request"]["number"], 1);
    assert_eq!(opened["pull_request"]["base_ref"], "master");
    let head = git(dir, &["rev-parse", "HEAD"]);
    assert_eq!(opened["pull_request"]["head_sha"], head.as_str());
    assert_eq!(git(&bare, &["rev-parse", "feature/paris"]), head);

    // Checks: none yet is pending (8); CircleCI's status and an Actions run.
    let status = pr(&["pr", "status"]);
    assert_eq!(status.code, 8, "{}\n{}", status.stdout, status.stderr);
    has(&status.stdout, "no checks reported yet");
    world
        .fake
        .post_status("octo/hello", &head, "ci/circleci: build", "failure");
    world
        .fake
        .check_run("octo/hello", &head, "tests", "completed", Some("success"));
    let red = pr(&["pr", "status", "--json"]);
    assert_eq!(red.code, 1, "{}", red.stdout);
    let checks: serde_json::Value = serde_json::from_str(&red.stdout).unwrap();
    assert_eq!(checks["checks"]["state"], "failure");
    let refused = pr(&["pr", "merge", "--when-green"]);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    has(&refused.stderr, "checks failed, so it was not merged");
    assert_eq!(
        git(&bare, &["rev-parse", "master"]),
        git(dir, &["rev-parse", "master"])
    );

    world
        .fake
        .post_status("octo/hello", &head, "ci/circleci: build", "success");
    let green = pr(&["pr", "status"]);
    assert_eq!(green.code, 0, "{}", green.stdout);
    has(&green.stdout, "checks passed (2/2 passed)");

    let list = pr(&["pr", "list"]);
    has(&list.stdout, "#1");
    let merged = pr(&["pr", "merge", "--method", "squash"]);
    assert_eq!(merged.code, 0, "{}\n{}", merged.stdout, merged.stderr);
    has(&merged.stdout, "merged #1 into master");
    let master = git(&bare, &["log", "-1", "--format=%s", "master"]);
    assert!(
        master.contains("Add Paris") || master.contains("#1"),
        "{master}"
    );
    let none = pr(&["pr", "list", "--json"]);
    assert_eq!(none.stdout.trim(), "[]");
    assert!(
        world.fake.unknown().is_empty(),
        "{:?}",
        world.fake.unknown()
    );
}

#[test]
fn watching_follows_the_checks_to_their_end_and_polls_for_free_meanwhile() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;

    let world = signed_in("ghp_watch", "repo");
    let bare = world.fake.github_repo("octo", "svc", "main");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    repo_named(work, "main", "https://github.com/octo/svc", &bare);
    git(work, &["commit", "-q", "--allow-empty", "-m", "first"]);
    git(work, &["push", "-q", "origin", "main"]);
    git(work, &["switch", "-q", "-c", "fix"]);
    git(work, &["commit", "-q", "--allow-empty", "-m", "Fix it"]);
    let open = slipway_in(&world, work, &["pr", "open", "--no-preflight"]);
    assert_eq!(open.code, 0, "{}\n{}", open.stdout, open.stderr);
    has(&open.stdout, "opened #1 Fix it");
    let head = git(work, &["rev-parse", "HEAD"]);
    world
        .fake
        .post_status("octo/svc", &head, "ci/circleci: build", "pending");

    let mut cmd = Command::new(slipway_tests::slipway_bin());
    cmd.args(["pr", "watch", "--json"]).current_dir(work);
    let mut child = world
        .env(cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let next = |what: &str| -> serde_json::Value {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line from `pr watch` for {what}"));
        serde_json::from_str(&line).unwrap()
    };
    let first = next("the first look");
    assert_eq!(first["checks"]["state"], "pending");
    // Nothing changes for two more polls: they cost nothing.
    let charged = world.fake.github_rate().charged;
    let polls = || {
        world
            .fake
            .requests()
            .iter()
            .filter(|r| r.ends_with("/status"))
            .count()
    };
    let seen = polls();
    slipway_tests::wait_until("two more polls", Duration::from_secs(30), || {
        polls() >= seen + 2
    });
    assert_eq!(
        world.fake.github_rate().charged,
        charged,
        "unchanged polls were free"
    );
    world
        .fake
        .post_status("octo/svc", &head, "ci/circleci: build", "success");
    let last = next("the checks passing");
    assert_eq!(last["checks"]["state"], "success");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn the_list_covers_the_projects_added_to_the_app() {
    let world = signed_in("ghp_list", "repo");
    let dir = tempfile::tempdir().unwrap();
    let mut projects = Vec::new();
    for name in ["api", "web"] {
        let bare = world.fake.github_repo("octo", name, "main");
        let work = dir.path().join(name);
        std::fs::create_dir_all(&work).unwrap();
        repo_named(
            &work,
            "main",
            &format!("git@github.com:octo/{name}.git"),
            &bare,
        );
        git(&work, &["commit", "-q", "--allow-empty", "-m", "first"]);
        git(&work, &["push", "-q", "origin", "main"]);
        git(&work, &["switch", "-q", "-c", &format!("{name}-change")]);
        git(
            &work,
            &[
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                &format!("Change {name}"),
            ],
        );
        let open = slipway_in(&world, &work, &["pr", "open", "--no-preflight"]);
        assert_eq!(open.code, 0, "{}", open.stderr);
        projects.push(work);
    }
    // The app's project list, in the shared config folder.
    std::fs::write(
        world.config_dir().join("projects.json"),
        serde_json::json!({ "paths": projects }).to_string(),
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let list = slipway_in(&world, elsewhere.path(), &["pr", "list", "--json"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let rows: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let seen: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["repo"].as_str().unwrap().to_string(),
                r["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("octo/api".to_string(), "Change api".to_string()),
            ("octo/web".to_string(), "Change web".to_string())
        ]
    );
    // Nowhere to look: said, with what to do.
    std::fs::remove_file(world.config_dir().join("projects.json")).unwrap();
    let none = slipway_in(&world, elsewhere.path(), &["pr", "list"]);
    assert_eq!(none.code, 2, "{}", none.stderr);
    has(
        &none.stderr,
        "no GitHub repository here or among your projects",
    );
}
