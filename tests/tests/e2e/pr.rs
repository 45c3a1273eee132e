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

/// A world signed in to GitHub, with `octo/NAME` on the fake whose master
/// has a Dockerfile and `toml`, checked out in a folder on a pushed feature
/// branch with one more commit, its pull request opened; the folder's
/// parent, the folder, the bare repository and the head.
fn opened(
    name: &str,
    toml: &str,
) -> (
    World,
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    String,
) {
    let world = signed_in("ghp_armed", "repo");
    let bare = world.fake.github_repo("octo", name, "master");
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\nEXPOSE 80\n").unwrap();
    std::fs::write(dir.join("slipway.toml"), toml).unwrap();
    repo_named(
        &dir,
        "master",
        &format!("https://github.com/octo/{name}"),
        &bare,
    );
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "first"]);
    git(&dir, &["push", "-q", "origin", "master"]);
    git(&dir, &["switch", "-q", "-c", "feature/x"]);
    git(&dir, &["commit", "-q", "--allow-empty", "-m", "The change"]);
    let open = slipway_in(&world, &dir, &["pr", "open", "--no-preflight"]);
    assert_eq!(open.code, 0, "{}\n{}", open.stdout, open.stderr);
    let head = git(&dir, &["rev-parse", "HEAD"]);
    (world, parent, dir, bare, head)
}

/// `slipway ARGS` started in `dir`, its output going to files (a pipe
/// nobody reads would stop it once full).
fn spawn_in(world: &World, dir: &Path, args: &[&str]) -> Started {
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new(slipway_tests::slipway_bin());
    cmd.args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap());
    Started {
        child: world.env(cmd).spawn().unwrap(),
        out,
        err,
    }
}

/// A command started, and the files its output goes to.
struct Started {
    child: std::process::Child,
    out: tempfile::NamedTempFile,
    err: tempfile::NamedTempFile,
}

/// Waits for `done` to hold, up to `secs`.
fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The command's exit code and output, once it ends (within `secs`).
fn finished(started: Started, secs: u64) -> Run {
    let Started {
        mut child,
        out,
        err,
    } = started;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut status = None;
    while status.is_none() && std::time::Instant::now() < deadline {
        status = child.try_wait().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if status.is_none() {
        child.kill().unwrap();
    }
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let run = Run {
        code,
        stdout: std::fs::read_to_string(out.path()).unwrap(),
        stderr: std::fs::read_to_string(err.path()).unwrap(),
    };
    assert!(
        status.is_some(),
        "still running after {secs} s:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    run
}

/// The armed merges as the CLI and the window keep them.
fn armed(world: &World) -> serde_json::Value {
    std::fs::read(world.config_dir().join("armed-merges.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::json!([]))
}

const AFTER_MERGE: &str =
    "[deploy.hub]\nkind = \"dockerhub\"\nbranch = \"master\"\nafter-merge = true\n";

/// `pr merge --when-green` from pending to merged, then the after-merge
/// trigger fires once the merge commit is green.
fn merges_when_green_then_deploys(name: &str, auto_merge: bool) {
    let (world, _parent, dir, bare, head) = opened(name, AFTER_MERGE);
    let full = format!("octo/{name}");
    world
        .fake
        .with_repo(&full, |r| r.allow_auto_merge = auto_merge);
    let url = world.fake.hub_trigger_url("hubtokenarmed0123456789");
    let set = world.slipway(
        &["secret", "set", "deploy-trigger", &format!("{name}/hub")],
        &url,
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    // master's required checks: one from branch protection, one from a
    // ruleset, both read with a token that is not an admin's.
    world.fake.protect(&full, "master", &["ci/circleci: build"]);
    world.fake.ruleset(&full, "master", &["lint"]);
    world
        .fake
        .post_status(&full, &head, "ci/circleci: build", "pending");
    let master = git(&bare, &["rev-parse", "master"]);

    let child = spawn_in(&world, &dir, &["pr", "merge", "--when-green"]);
    wait_until("the arming", 30, || armed(&world)[0]["number"] == 1);
    assert_eq!(armed(&world)[0]["sha"], head.as_str());
    assert_eq!(armed(&world)[0]["auto_merge"], auto_merge);
    // Armed and pending: two more looks, and the default branch has not moved.
    let looks = || {
        world
            .fake
            .requests()
            .iter()
            .filter(|r| r.contains("/pulls/1 ") || r.ends_with("/pulls/1"))
            .count()
    };
    let before = looks();
    wait_until("two looks while pending", 30, || looks() >= before + 2);
    assert_eq!(git(&bare, &["rev-parse", "master"]), master);

    world
        .fake
        .post_status(&full, &head, "ci/circleci: build", "success");
    // The ruleset's check has not reported: still not merged.
    let before = looks();
    wait_until("two looks without lint", 30, || looks() >= before + 2);
    assert_eq!(git(&bare, &["rev-parse", "master"]), master);
    world
        .fake
        .check_run(&full, &head, "lint", "completed", Some("success"));
    wait_until("the merge", 30, || {
        git(&bare, &["rev-parse", "master"]) != master
    });
    let merge = git(&bare, &["rev-parse", "master"]);
    assert!(
        world.fake.hub_requests().is_empty(),
        "not before it is green"
    );
    world
        .fake
        .post_status(&full, &merge, "ci/circleci: build", "success");
    world
        .fake
        .check_run(&full, &merge, "lint", "completed", Some("success"));
    let run = finished(child, 60);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    has(&run.stdout, "armed #1 to merge when");
    has(&run.stdout, "merged #1 into master");
    has(&run.stdout, &format!("deployed {}", &merge[..7]));
    assert_eq!(world.fake.hub_requests().len(), 1, "fired once");
    assert_eq!(armed(&world), serde_json::json!([]));
    assert!(
        !world
            .fake
            .requests()
            .iter()
            .any(|r| r.contains("/protection")),
        "the admin-only protection endpoint was asked"
    );
    assert!(
        world.fake.unknown().is_empty(),
        "{:?}",
        world.fake.unknown()
    );
}

#[test]
fn merge_when_green_merges_and_deploys_after_merge() {
    merges_when_green_then_deploys("armed", false);
}

#[test]
fn merge_when_green_uses_githubs_auto_merge_and_deploys_after_merge() {
    merges_when_green_then_deploys("armauto", true);
}

#[test]
fn an_arming_detaches_disarms_and_a_push_disarms_it() {
    let (world, _parent, dir, bare, head) = opened("detach", "");
    world
        .fake
        .post_status("octo/detach", &head, "ci/circleci: build", "pending");
    let detached = slipway_in(&world, &dir, &["pr", "merge", "--when-green", "--detach"]);
    assert_eq!(detached.code, 8, "{}\n{}", detached.stdout, detached.stderr);
    has(&detached.stdout, "armed #1");
    assert_eq!(armed(&world)[0]["number"], 1);
    let disarm = slipway_in(&world, &dir, &["pr", "disarm"]);
    assert_eq!(disarm.code, 0, "{}", disarm.stderr);
    has(&disarm.stdout, "disarmed #1");
    assert_eq!(armed(&world), serde_json::json!([]));

    // Ctrl-C while following: exit 130, and the arming stays (it says so).
    let child = spawn_in(&world, &dir, &["pr", "merge", "--when-green"]);
    wait_until("the arming", 30, || armed(&world)[0]["number"] == 1);
    let looks = || {
        world
            .fake
            .requests()
            .iter()
            .filter(|r| r.ends_with("/pulls/1"))
            .count()
    };
    let before = looks();
    wait_until("a look while armed", 30, || looks() > before);
    let pid = child.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopped = finished(child, 10);
    assert_eq!(stopped.code, 130, "{}\n{}", stopped.stdout, stopped.stderr);
    has(&stopped.stderr, "stays armed to merge when green");
    assert_eq!(armed(&world)[0]["number"], 1);
    let disarm = slipway_in(&world, &dir, &["pr", "disarm"]);
    assert_eq!(disarm.code, 0, "{}", disarm.stderr);

    // A new push while armed disarms it: nothing merged, exit 1.
    let master = git(&bare, &["rev-parse", "master"]);
    let child = spawn_in(&world, &dir, &["pr", "merge", "--when-green"]);
    wait_until("the arming", 30, || armed(&world)[0]["number"] == 1);
    git(&dir, &["commit", "-q", "--allow-empty", "-m", "More"]);
    git(&dir, &["push", "-q", "origin", "feature/x"]);
    let run = finished(child, 30);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    has(&run.stderr, "new commits were pushed");
    assert_eq!(git(&bare, &["rev-parse", "master"]), master);
    assert_eq!(armed(&world), serde_json::json!([]));
}

#[test]
fn the_preflight_tests_the_commit_pushed_not_the_working_tree() {
    let world = signed_in("ghp_preflight", "repo");
    let bare = world.fake.github_repo("octo", "exact", "master");
    let project = Project::hello("exact");
    let dir = project.path();
    repo_named(dir, "master", "https://github.com/octo/exact", &bare);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "The hello service"]);
    git(dir, &["push", "-q", "origin", "master"]);
    git(dir, &["switch", "-q", "-c", "feature/data"]);
    // The commit loses Seattle; the working tree has it back, uncommitted.
    let good = project.read("www/cities.json");
    project.write("www/cities.json", &good.replace("Seattle", "Tacoma"));
    git(dir, &["commit", "-q", "-am", "Data"]);
    project.write("www/cities.json", &good);
    let status = git(dir, &["status", "--porcelain"]);

    let red = slipway_in(&world, dir, &["pr", "open"]);
    assert_eq!(red.code, 2, "{}\n{}", red.stdout, red.stderr);
    has(&red.stderr, "not committed and will not be pushed");
    has(&red.stderr, "temporary worktree");
    has(&red.stderr, "nothing was pushed");
    has(&red.stdout, "FAILED");
    assert!(
        git(&bare, &["branch", "--list", "feature/data"]).is_empty(),
        "nothing reached the remote"
    );
    // The user's files are as they were, and no worktree is left.
    assert_eq!(project.read("www/cities.json"), good);
    assert_eq!(git(dir, &["status", "--porcelain"]), status);
    assert_eq!(git(dir, &["worktree", "list"]).lines().count(), 1);

    // Committed, the same change passes and is pushed.
    git(dir, &["commit", "-q", "-am", "Seattle back"]);
    let open = slipway_in(&world, dir, &["pr", "open"]);
    assert_eq!(open.code, 0, "{}\n{}", open.stdout, open.stderr);
    has(&open.stdout, "opened #1");
    // Without a terminal, a line per step and none of git's progress.
    has(&open.stderr, "pushing feature/data to origin");
    assert!(!open.stderr.contains("objects"), "{}", open.stderr);
}

#[test]
fn the_signed_in_account_serves_git_over_https_when_the_user_lets_it() {
    let token = "ghp_serves_git_0123456789";
    let world = World::new(Keyring::Unlocked);
    world.fake.github_token(token, "octo", Some("repo"));
    world.fake.github_repo("octo", "creds", "master");
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // An https origin that git reaches at the fake GitHub's git over HTTP.
    git(dir, &["init", "-q", "-b", "master"]);
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/octo/creds.git",
        ],
    );
    let rewrite = format!("url.{}/git/.insteadOf", world.fake.url());
    git(dir, &["config", &rewrite, "https://github.com/"]);
    std::fs::write(dir.join("README"), "creds\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    let git_in_world = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(dir)
            .env("GIT_TERMINAL_PROMPT", "0");
        world.finish(world.env(cmd), "")
    };

    // Signed in without a terminal: told how, nothing set up.
    let login = world.slipway(&["login", "github", "--with-token"], token);
    assert_eq!(login.code, 0, "{}", login.stderr);
    has(&login.stderr, "slipway login github --git");
    assert_eq!(git_in_world(&["push", "-q", "origin", "master"]).code, 128);
    git(dir, &["switch", "-q", "-c", "feature/creds"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", "A change"]);
    let refused = slipway_in(&world, dir, &["pr", "open", "--no-preflight"]);
    assert_eq!(refused.code, 2, "{}\n{}", refused.stdout, refused.stderr);
    has(&refused.stderr, "slipway login github --git");
    assert!(
        world.fake.git_http().0.is_empty(),
        "git got in without a token"
    );

    // Let: git asks Slipway, the push and the pull request go through.
    let login = world.slipway(&["login", "github", "--with-token", "--git"], token);
    assert_eq!(login.code, 0, "{}", login.stderr);
    has(&login.stdout, "git now asks Slipway");
    assert_eq!(git_in_world(&["push", "-q", "origin", "master"]).code, 0);
    let open = slipway_in(&world, dir, &["pr", "open", "--no-preflight", "--json"]);
    assert_eq!(open.code, 0, "{}\n{}", open.stdout, open.stderr);
    has(&open.stdout, "\"opened\":true");
    let (served, _) = world.fake.git_http();
    assert!(
        served.iter().all(|l| l == "octo") && !served.is_empty(),
        "{served:?}"
    );
    // Asked again: nothing to add.
    let again = world.slipway(&["login", "github", "--with-token", "--git"], token);
    has(&again.stdout, "already pushes over https");

    // The token is in no config, URL or output; the helper answers only
    // for the account's hosts, and only over https (or to this machine).
    let gitconfig = world.bus.home().join(".gitconfig");
    for file in [gitconfig.clone(), dir.join(".git/config")] {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!text.contains(token), "{} holds the token", file.display());
    }
    has(
        &std::fs::read_to_string(&gitconfig).unwrap(),
        "git-credential",
    );
    for output in world.outputs() {
        assert!(!output.contains(token), "printed the token: {output}");
    }
    let ask = |asked: &str| {
        let mut cmd = Command::new(slipway_tests::slipway_bin());
        cmd.args(["git-credential", "get"]);
        let mut child = world
            .env(cmd)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(asked.as_bytes())
                .unwrap();
        }
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    let answer = ask("protocol=https\nhost=github.com\npath=octo/creds.git\n\n");
    assert_eq!(answer, format!("username=octo\npassword={token}\n"));
    assert_eq!(ask("protocol=https\nhost=gitlab.com\n\n"), "");
    assert_eq!(ask("protocol=http\nhost=github.com\n\n"), "");
}

#[test]
fn a_pull_request_that_conflicts_says_so_and_is_not_merged() {
    let (world, _parent, dir, bare, _) = opened("clashcli", "");
    // The branch and master change the same file in different ways.
    std::fs::write(dir.join("CITY"), "Paris\n").unwrap();
    git(&dir, &["add", "CITY"]);
    git(&dir, &["commit", "-q", "-m", "Paris"]);
    git(&dir, &["push", "-q", "origin", "feature/x"]);
    let head = git(&dir, &["rev-parse", "HEAD"]);
    git(&dir, &["switch", "-q", "master"]);
    std::fs::write(dir.join("CITY"), "Lyon\n").unwrap();
    git(&dir, &["add", "CITY"]);
    git(&dir, &["commit", "-q", "-m", "Lyon"]);
    git(&dir, &["push", "-q", "origin", "master"]);
    git(&dir, &["switch", "-q", "feature/x"]);
    world
        .fake
        .post_status("octo/clashcli", &head, "ci/circleci: build", "success");
    let master = git(&bare, &["rev-parse", "master"]);

    let status = slipway_in(&world, &dir, &["pr", "status"]);
    assert_eq!(status.code, 0, "{}\n{}", status.stdout, status.stderr);
    has(
        &status.stdout,
        "conflicts with master: merge it into feature/x",
    );
    let merge = slipway_in(&world, &dir, &["pr", "merge"]);
    assert_eq!(merge.code, 1, "{}\n{}", merge.stdout, merge.stderr);
    has(
        &merge.stderr,
        "#1 has conflicts with master, so it was not merged",
    );
    has(&merge.stderr, "Merge master into feature/x");
    assert_eq!(git(&bare, &["rev-parse", "master"]), master);
}

#[test]
fn the_preflight_result_is_published_for_reviewers_when_asked() {
    let world = signed_in("ghp_publish_preflight", "repo");
    let bare = world.fake.github_repo("octo", "shown", "master");
    let project = Project::hello("shown");
    let dir = project.path();
    repo_named(dir, "master", "https://github.com/octo/shown", &bare);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "The hello service"]);
    git(dir, &["push", "-q", "origin", "master"]);
    git(dir, &["switch", "-q", "-c", "feature/shown"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", "A change"]);

    let refused = slipway_in(
        &world,
        dir,
        &["pr", "open", "--publish-preflight", "--no-preflight"],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let open = slipway_in(&world, dir, &["pr", "open", "--publish-preflight"]);
    assert_eq!(open.code, 0, "{}\n{}", open.stdout, open.stderr);
    has(&open.stderr, "is on GitHub as the status slipway/preflight");
    let status = slipway_in(&world, dir, &["pr", "status", "--json"]);
    let checks: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let published = checks["checks"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "slipway/preflight")
        .cloned()
        .unwrap_or_else(|| panic!("no slipway/preflight among {checks}"));
    assert_eq!(published["state"], "success", "{published}");
    assert!(
        published["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("passed locally"),
        "{published}"
    );
    assert_eq!(
        checks["checks"]["sha"],
        git(dir, &["rev-parse", "HEAD"]).as_str()
    );
}

#[test]
fn a_pull_request_waits_for_every_check_its_base_branch_reports() {
    let (world, _parent, _dir, bare, head) = opened("expected", "");
    let dir = _dir;
    let master = git(&bare, &["rev-parse", "master"]);
    // master's commits report a CircleCI status and an Actions check run.
    let fake = &world.fake;
    fake.post_status("octo/expected", &master, "ci/circleci: build", "success");
    fake.post_status("octo/expected", &master, "ci/circleci: test", "success");
    fake.check_run(
        "octo/expected",
        &master,
        "lint",
        "completed",
        Some("success"),
    );

    // The head has only one of them: green so far, still pending.
    fake.post_status("octo/expected", &head, "ci/circleci: build", "success");
    let status = slipway_in(&world, &dir, &["pr", "status"]);
    assert_eq!(status.code, 8, "{}\n{}", status.stdout, status.stderr);
    has(
        &status.stdout,
        "waiting for ci/circleci: test (not reported yet), lint (not reported yet)",
    );
    let json = slipway_in(&world, &dir, &["pr", "status", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["checks"]["state"], "pending");
    assert!(
        value["checks"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "lint" && c["source"] == "expected"),
        "{value}"
    );

    // The first suite finishes; a second one (lint) is still to come.
    fake.post_status("octo/expected", &head, "ci/circleci: test", "success");
    let status = slipway_in(&world, &dir, &["pr", "status"]);
    assert_eq!(status.code, 8, "{}\n{}", status.stdout, status.stderr);
    has(&status.stdout, "waiting for lint (not reported yet)");
    fake.check_run("octo/expected", &head, "lint", "in_progress", None);
    let status = slipway_in(&world, &dir, &["pr", "status"]);
    assert_eq!(status.code, 8, "{}\n{}", status.stdout, status.stderr);
    has(&status.stdout, "waiting for lint\n");
    fake.check_run("octo/expected", &head, "lint", "completed", Some("success"));
    let status = slipway_in(&world, &dir, &["pr", "status"]);
    assert_eq!(status.code, 0, "{}\n{}", status.stdout, status.stderr);
    has(&status.stdout, "checks passed (3/3 passed)");
}

#[test]
fn reviews_show_in_status_and_list_and_merge_when_green_waits_for_them() {
    let (world, _parent, dir, bare, head) = opened("reviewed", "");
    let fake = &world.fake;
    fake.require_approvals("octo/reviewed", "master", 1);
    fake.request_review("octo/reviewed", 1, "carol");
    fake.review("octo/reviewed", 1, "dave", "COMMENTED");
    fake.review_threads("octo/reviewed", 1, &[false, true]);
    fake.post_status("octo/reviewed", &head, "ci/circleci: build", "success");

    // Green checks, an approval missing: exit 0 for the checks, and the wait said.
    let status = slipway_in(&world, &dir, &["pr", "status"]);
    assert_eq!(status.code, 0, "{}\n{}", status.stdout, status.stderr);
    has(
        &status.stdout,
        "reviews: review required: 0 of 1 approvals; asked: carol · 1 unresolved thread",
    );
    has(&status.stdout, "waiting for 1 approving review");
    let json = slipway_in(&world, &dir, &["pr", "status", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["reviews"]["decision"], "review_required", "{value}");
    assert_eq!(value["reviews"]["required"], 1);
    assert_eq!(value["reviews"]["unresolved_threads"], 1);
    assert_eq!(value["reviews"]["reviewers"][0]["login"], "carol");
    assert_eq!(value["reviews"]["reviewers"][1]["state"], "commented");
    let list = slipway_in(&world, &dir, &["pr", "list"]);
    has(&list.stdout, "review required; asked: carol");

    // Armed, it waits for the approval, then merges.
    let master = git(&bare, &["rev-parse", "master"]);
    let child = spawn_in(
        &world,
        &dir,
        &["pr", "merge", "--when-green", "--no-deploy"],
    );
    wait_until("the arming", 30, || armed(&world)[0]["number"] == 1);
    let looks = || {
        fake.requests()
            .iter()
            .filter(|r| r.ends_with("/pulls/1/reviews"))
            .count()
    };
    let before = looks();
    wait_until("two looks while armed", 30, || looks() > before + 1);
    assert_eq!(
        git(&bare, &["rev-parse", "master"]),
        master,
        "merged unapproved"
    );
    fake.review("octo/reviewed", 1, "carol", "APPROVED");
    let run = finished(child, 30);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    has(&run.stdout, "reviews: approved by carol");
    has(&run.stdout, "merged #1 into master");

    // A request for changes disarms an armed pull request.
    git(&dir, &["switch", "-q", "-c", "feature/y"]);
    git(
        &dir,
        &["commit", "-q", "--allow-empty", "-m", "Another change"],
    );
    let open = slipway_in(&world, &dir, &["pr", "open", "--no-preflight"]);
    assert_eq!(open.code, 0, "{}\n{}", open.stdout, open.stderr);
    let child = spawn_in(
        &world,
        &dir,
        &["pr", "merge", "--when-green", "--no-deploy"],
    );
    wait_until("the arming", 30, || armed(&world)[0]["number"] == 2);
    fake.review("octo/reviewed", 2, "carol", "CHANGES_REQUESTED");
    let run = finished(child, 30);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    has(
        &run.stderr,
        "#2 was not merged: changes were requested by carol",
    );
    assert_eq!(armed(&world), serde_json::json!([]));
}

#[test]
fn a_failed_check_says_why_once_and_runs_again() {
    let (world, _parent, dir, _bare, head) = opened("whyred", "");
    let fake = &world.fake;
    let log = "2026-12-01T10:00:00.0000000Z ##[group]Run actions/checkout@v4\n\
               2026-12-01T10:00:01.0000000Z Fetching the repository\n\
               2026-12-01T10:00:02.0000000Z ##[endgroup]\n\
               2026-12-01T10:00:03.0000000Z ##[group]Run flake8 .\n\
               2026-12-01T10:00:04.0000000Z flake8 .\n\
               2026-12-01T10:00:05.0000000Z ##[endgroup]\n\
               2026-12-01T10:00:06.0000000Z ./app.py:12:80: E501 line too long (91 > 79 characters)\n\
               2026-12-01T10:00:07.0000000Z ##[error]Process completed with exit code 1.\n\
               2026-12-01T10:00:08.0000000Z Post job cleanup.\n";
    let job = fake.actions_job(
        "octo/whyred",
        &head,
        "lint",
        &[("Set up job", "success"), ("Run flake8 .", "failure")],
        log,
        &[("app.py", 12, "E501 line too long (91 > 79 characters)")],
    );
    fake.circleci_job(
        "octo/whyred",
        &head,
        "ci/circleci: test",
        45,
        "5034460f-c7c4-4c43-9457-de07e2029e7b",
        &[
            ("Spin up environment", false, "Starting container\n"),
            (
                "Run tests",
                true,
                "F..\nAssertionError: 'Lyon' != 'Paris'\r\nFAILED (failures=1)\n",
            ),
        ],
    );

    // Not signed in to CircleCI: its job says how to read it, and is not kept.
    let checks = slipway_in(&world, &dir, &["pr", "checks"]);
    assert_eq!(checks.code, 1, "{}\n{}", checks.stdout, checks.stderr);
    has(
        &checks.stdout,
        "Sign in to CircleCI (`slipway login circleci`)",
    );
    fake.circleci_token("circle_why", "octo");
    let login = world.slipway(&["login", "circleci", "--with-token"], "circle_why");
    assert_eq!(login.code, 0, "{}", login.stderr);

    let checks = slipway_in(&world, &dir, &["pr", "checks"]);
    assert_eq!(checks.code, 1, "{}\n{}", checks.stdout, checks.stderr);
    has(&checks.stdout, "failed at: Run flake8 .");
    has(
        &checks.stdout,
        "│ ./app.py:12:80: E501 line too long (91 > 79 characters)\n           │ Process completed with exit code 1.",
    );
    has(
        &checks.stdout,
        "app.py:12: failure: E501 line too long (91 > 79 characters)",
    );
    has(&checks.stdout, "failed at: Run tests");
    has(
        &checks.stdout,
        "│ AssertionError: 'Lyon' != 'Paris'\n           │ FAILED (failures=1)",
    );
    assert!(
        !checks.stdout.contains("Post job cleanup"),
        "{}",
        checks.stdout
    );
    assert!(!checks.stdout.contains("Fetching"), "{}", checks.stdout);

    // Read once per failed run: a second look reads no log.
    let reads = |what: &str| fake.requests().iter().filter(|r| r.contains(what)).count();
    let json = slipway_in(&world, &dir, &["pr", "checks", "--failed", "--json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let failed = value["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{value}");
    let lint = failed.iter().find(|f| f["name"] == "lint").unwrap();
    assert_eq!(lint["ci"], "actions");
    assert_eq!(lint["annotations"][0]["line"], 12);
    let circle = failed.iter().find(|f| f["ci"] == "circleci").unwrap();
    assert_eq!(circle["step"], "Run tests");
    assert_eq!(reads(&format!("/actions/jobs/{job}/logs")), 1);
    assert_eq!(reads("/blobs/circle-output/45/1"), 1);

    // Re-run: Actions' failed jobs, CircleCI's workflow from failed; pending again.
    let rerun = slipway_in(&world, &dir, &["pr", "rerun"]);
    assert_eq!(rerun.code, 0, "{}\n{}", rerun.stdout, rerun.stderr);
    has(&rerun.stdout, "#1: re-running");
    assert_eq!(
        fake.actions_reruns("octo/whyred"),
        vec![format!("{}/rerun-failed-jobs", 7000 + job)]
    );
    assert_eq!(
        fake.circleci_reruns(),
        vec!["5034460f-c7c4-4c43-9457-de07e2029e7b from_failed"]
    );
    let status = slipway_in(&world, &dir, &["pr", "status"]);
    assert_eq!(status.code, 8, "{}\n{}", status.stdout, status.stderr);
}

#[test]
fn status_lists_every_branch_and_pull_request_in_one_table() {
    let (world, _parent, dir, bare, head) = opened("overview", "");
    let master = git(&bare, &["rev-parse", "master"]);
    let fake = &world.fake;
    fake.post_status("octo/overview", &master, "ci/circleci: build", "failure");
    fake.post_status("octo/overview", &head, "ci/circleci: build", "success");
    fake.review("octo/overview", 1, "carol", "APPROVED");

    let status = slipway_in(&world, &dir, &["status"]);
    assert_eq!(status.code, 0, "{}\n{}", status.stdout, status.stderr);
    let lines: Vec<&str> = status.stdout.lines().collect();
    assert!(lines[0].starts_with("PROJECT"), "{}", status.stdout);
    let row = |what: &str| {
        lines
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what} row in:\n{}", status.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        row("master (default)"),
        "overview master (default) failed ci/circleci: build failed"
    );
    assert_eq!(
        row("feature/x "),
        "overview feature/x passed 1/1 checks passed"
    );
    assert_eq!(
        row("#1 feature/x"),
        "overview #1 feature/x passed 1/1 checks passed · approved by carol"
    );

    let json = slipway_in(&world, &dir, &["status", "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let project = &value[0];
    assert_eq!(project["name"], "overview");
    assert_eq!(project["branches"][0]["default"], true);
    assert_eq!(project["branches"][0]["checks"]["state"], "failure");
    assert_eq!(project["branches"][1]["sha"], head.as_str());
    assert_eq!(project["pulls"][0]["reviews"]["decision"], "approved");
}
