//! `slipway deploy` against the fake GitHub and a stand-in Docker Hub
//! build trigger: the gate (pending, red, a stale SHA, the override), once
//! per commit (again only when asked, concurrent commands, an unknown
//! outcome after a timeout), the deploy history, and no secret anywhere.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use slipway_tests::fake::hub::HubAnswer;
use slipway_tests::git;
use slipway_tests::services::Keyring;
use slipway_tests::world::{Run, World, has};

const TOKEN: &str = "hubtokendeploysecret0123456789";

fn slipway_in(world: &World, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(slipway_tests::slipway_bin());
    cmd.args(args).current_dir(dir);
    world.finish(world.env(cmd), "")
}

/// A new commit on master, pushed; its SHA.
fn commit(dir: &Path, message: &str) -> String {
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["push", "-q", "origin", "master"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A world signed in to GitHub, and a project folder `name` whose origin
/// is the fake's `octo/NAME` (through a url.insteadOf rewrite), with a
/// Dockerfile and `toml` committed and pushed on `branch`; the folder's
/// parent (kept as long as it is), the folder and the commit.
fn project_on_github(
    name: &str,
    branch: &str,
    toml: &str,
) -> (World, tempfile::TempDir, std::path::PathBuf, String) {
    let world = World::new(Keyring::Unlocked);
    world.fake.github_token("ghp_deploy", "octo", Some("repo"));
    let login = world.slipway(&["login", "github", "--with-token"], "ghp_deploy");
    assert_eq!(login.code, 0, "{}", login.stderr);
    let bare = world.fake.github_repo("octo", name, branch);
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\nEXPOSE 80\n").unwrap();
    std::fs::write(dir.join("slipway.toml"), toml).unwrap();
    let url = format!("https://github.com/octo/{name}");
    git(&dir, &["init", "-q", "-b", branch]);
    git(&dir, &["remote", "add", "origin", &url]);
    git(
        &dir,
        &["config", &format!("url.{}.insteadOf", bare.display()), &url],
    );
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "first"]);
    git(&dir, &["push", "-q", "origin", branch]);
    let sha = git(&dir, &["rev-parse", "HEAD"]);
    (world, parent, dir, sha)
}

#[test]
fn the_gate_and_once_per_commit() {
    let (world, _parent, dir, first) = project_on_github(
        "svc",
        "master",
        "[deploy.hub]\nkind = \"dockerhub\"\nbranch = \"master\"\n",
    );

    // Pending, then red: refused with the reason, exit 4, nothing sent.
    world
        .fake
        .post_status("octo/svc", &first, "ci/circleci: build", "pending");
    let pending = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(pending.code, 4, "{}", pending.stderr);
    has(&pending.stderr, "is still being checked (0 of 1 passed)");
    world
        .fake
        .post_status("octo/svc", &first, "ci/circleci: build", "failure");
    let red = slipway_in(&world, &dir, &["deploy", "--trigger", "hub"]);
    assert_eq!(red.code, 4);
    has(&red.stderr, "is red: ci/circleci: build failed");
    assert!(world.fake.hub_requests().is_empty());

    // Green, but the trigger's URL (the secret) is not set: nothing claimed.
    world
        .fake
        .post_status("octo/svc", &first, "ci/circleci: build", "success");
    let missing = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    has(&missing.stderr, "slipway secret set deploy-trigger");
    let set = world.slipway(
        &["secret", "set", "deploy-trigger", "svc/hub"],
        &world.fake.hub_trigger_url(TOKEN),
    );
    assert_eq!(set.code, 0, "{}", set.stderr);

    // Green: sent once, as Docker Hub wants it.
    let stale = slipway_in(&world, &dir, &["deploy", "--sha", "0000000"]);
    assert_eq!(stale.code, 4);
    has(&stale.stderr, "0000000 is not the tip of master on GitHub");
    let sent = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(sent.code, 0, "{}\n{}", sent.stdout, sent.stderr);
    has(
        &sent.stdout,
        &format!("deployed {} (master) via hub", &first[..7]),
    );
    let hub = world.fake.hub_requests();
    assert_eq!(hub.len(), 1);
    assert_eq!(
        (
            hub[0].token.as_str(),
            hub[0].content_type.as_str(),
            hub[0].body.as_str()
        ),
        (TOKEN, "application/x-www-form-urlencoded", "build=true")
    );

    // The same commit again needs --again.
    let twice = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(twice.code, 4);
    has(&twice.stderr, "was deployed via hub already (succeeded)");
    has(&twice.stderr, "--again");
    assert_eq!(world.fake.hub_requests().len(), 1);
    let again = slipway_in(&world, &dir, &["deploy", "--again"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(world.fake.hub_requests().len(), 2);

    // Four commands at once for a new green commit: one request.
    let second = commit(&dir, "second");
    world
        .fake
        .post_status("octo/svc", &second, "ci/circleci: build", "success");
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = Command::new(slipway_tests::slipway_bin());
            cmd.arg("deploy").current_dir(&dir);
            world
                .env(cmd)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut codes: Vec<i32> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap_or(-1))
        .collect();
    codes.sort();
    assert_eq!(codes, [0, 4, 4, 4]);
    assert_eq!(world.fake.hub_requests().len(), 3);

    // No answer in time: unknown, shown as such, and not retried by itself.
    let third = commit(&dir, "third");
    world
        .fake
        .post_status("octo/svc", &third, "ci/circleci: build", "success");
    world.fake.hub_answer(HubAnswer {
        status: None,
        delay: Some(Duration::from_secs(12)),
    });
    let late = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(late.code, 1);
    has(&late.stdout, "outcome unknown");
    world.fake.hub_answer(HubAnswer::default());
    let retry = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(retry.code, 4);
    has(&retry.stderr, "its outcome is unknown");
    assert_eq!(world.fake.hub_requests().len(), 4);

    // The override skips a red gate, and says so in the history.
    let fourth = commit(&dir, "fourth");
    world
        .fake
        .post_status("octo/svc", &fourth, "ci/circleci: build", "failure");
    let forced = slipway_in(&world, &dir, &["deploy", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    has(&forced.stdout, "forced past the gate");
    let listed = world.slipway(&["deploys", "--json"], "");
    assert_eq!(listed.code, 0);
    let deploys: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let rows = deploys.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["sha"], fourth);
    assert!(rows[0]["forced"].as_str().unwrap().contains("is red"));
    assert_eq!(rows[1]["state"], "unknown");
    assert_eq!(
        (rows[3]["attempt"].as_i64(), rows[3]["origin"].as_str()),
        (Some(2), Some("cli"))
    );
    let table = world.slipway(&["deploys"], "");
    has(&table.stdout, "(forced)");

    // The trigger URL is nowhere: outputs (with trace logs), files.
    for output in world.outputs() {
        assert!(!output.contains(TOKEN), "the trigger URL leaked: {output}");
    }
    for (path, text) in world.file_texts() {
        assert!(
            !text.contains(TOKEN),
            "the trigger URL leaked into {}",
            path.display()
        );
    }
}

#[test]
fn a_signed_webhook_carries_the_commit() {
    const KEY: &str = "whsec_deploysigningkey0000000001";
    let template = r#"[image]
name = "octo/shipper"
tag = "ci"

[deploy.ship]
kind = "webhook"
method = "PUT"
url = "URL"
headers = { "Content-Type" = "application/json", "X-Project" = "{project}" }
body = '{"sha": "{sha}", "branch": "{branch}", "image": "{image}", "tag": "{tag}"}'
signature = "X-Hub-Signature-256"
"#;
    let (world, _parent, dir, sha) = project_on_github("shipper", "main", template);
    // The receiver's address is known once the fake runs.
    let toml = template.replace("\"URL\"", &format!("{:?}", world.fake.webhook_url("ship")));
    std::fs::write(dir.join("slipway.toml"), toml).unwrap();
    world
        .fake
        .post_status("octo/shipper", &sha, "ci/circleci: build", "success");
    world.fake.webhook_key(KEY);
    let set = world.slipway(&["secret", "set", "webhook-secret", "shipper/ship"], KEY);
    assert_eq!(set.code, 0, "{}", set.stderr);

    // The default branch (main, from GitHub), green: one signed request.
    let sent = slipway_in(&world, &dir, &["deploy", "--json"]);
    assert_eq!(sent.code, 0, "{}\n{}", sent.stdout, sent.stderr);
    let record: serde_json::Value = serde_json::from_str(sent.stdout.trim()).unwrap();
    assert_eq!(
        (record["kind"].as_str(), record["branch"].as_str()),
        (Some("webhook"), Some("main"))
    );
    assert_eq!(record["image"], format!("octo/shipper:{}", &sha[..7]));
    let hooks = world.fake.webhooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].method, "PUT");
    assert_eq!(hooks[0].signature_valid, Some(true));
    let body: serde_json::Value = serde_json::from_str(&hooks[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "sha": sha, "branch": "main", "image": format!("octo/shipper:{}", &sha[..7]), "tag": &sha[..7] })
    );
    let header = |name: &str| {
        hooks[0]
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("x-project").as_deref(), Some("shipper"));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));

    // A wrong key: the receiver refuses it, and the deploy says so.
    let set = world.slipway(
        &["secret", "set", "webhook-secret", "shipper/ship"],
        "not-the-key",
    );
    assert_eq!(set.code, 0);
    let refused = slipway_in(&world, &dir, &["deploy", "--again"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    has(&refused.stdout, "the webhook answered HTTP 401");
    for output in world.outputs() {
        assert!(!output.contains(KEY), "the webhook key leaked: {output}");
    }
}

#[test]
fn github_workflows_and_dispatches_as_triggers() {
    let (world, _parent, dir, sha) = project_on_github(
        "actions",
        "main",
        r#"[image]
name = "octo/actions"

[deploy.release]
kind = "github-workflow"
workflow = "deploy.yml"
inputs = { sha = "{sha}", image = "{image}" }

[deploy.notify]
kind = "github-dispatch"
event = "deploy"
inputs = { sha = "{sha}", project = "{project}" }
"#,
    );
    world
        .fake
        .post_status("octo/actions", &sha, "ci/circleci: build", "success");

    // The workflow is dispatched on the branch and followed to success.
    let several = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(several.code, 2, "two triggers: name one");
    has(&several.stderr, "--trigger");
    let release = slipway_in(&world, &dir, &["deploy", "--trigger", "release"]);
    assert_eq!(release.code, 0, "{}\n{}", release.stdout, release.stderr);
    has(
        &release.stdout,
        "deploy.yml success: https://github.com/octo/actions/actions/runs/9000",
    );
    has(&release.stderr, "deploy.yml: in_progress");
    let runs = world
        .fake
        .with_repo("octo/actions", |r| r.workflow_runs.clone());
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].workflow.as_str(), runs[0].branch.as_str()),
        ("deploy.yml", "main")
    );
    assert_eq!(
        runs[0].inputs,
        serde_json::json!({ "sha": sha, "image": format!("octo/actions:{}", &sha[..7]) })
    );

    // A failing run fails the deploy, with its link.
    world
        .fake
        .with_repo("octo/actions", |r| r.workflow_conclusion = "failure".into());
    let failed = slipway_in(&world, &dir, &["deploy", "--trigger", "release", "--again"]);
    assert_eq!(failed.code, 1);
    has(
        &failed.stdout,
        "deploy.yml failure: https://github.com/octo/actions/actions/runs/9001",
    );

    // A repository dispatch carries its payload.
    let notify = slipway_in(&world, &dir, &["deploy", "--trigger", "notify"]);
    assert_eq!(notify.code, 0, "{}", notify.stderr);
    let dispatches = world
        .fake
        .with_repo("octo/actions", |r| r.dispatches.clone());
    assert_eq!(
        dispatches,
        [serde_json::json!({
            "event_type": "deploy",
            "client_payload": { "sha": sha, "project": "actions" }
        })]
    );
}

#[test]
fn a_circleci_pipeline_followed_to_its_end() {
    let (world, _parent, dir, sha) = project_on_github(
        "circled",
        "master",
        "[deploy.ci]\nkind = \"circleci\"\ninputs = { deploy_sha = \"{sha}\" }\n",
    );
    world
        .fake
        .post_status("octo/circled", &sha, "ci/circleci: build", "success");
    // Not signed in to CircleCI: said, with how, and nothing claimed.
    let out = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    has(&out.stderr, "not signed in to CircleCI");
    has(&out.stderr, "slipway login circleci");
    world
        .fake
        .circleci_token("circle_deploy_token", "circle-dev");
    let login = world.slipway(
        &["login", "circleci", "--with-token"],
        "circle_deploy_token",
    );
    assert_eq!(login.code, 0, "{}", login.stderr);

    let sent = slipway_in(&world, &dir, &["deploy", "--again"]);
    assert_eq!(sent.code, 0, "{}\n{}", sent.stdout, sent.stderr);
    has(
        &sent.stdout,
        "deploy success: https://app.circleci.com/pipelines/gh/octo/circled/100",
    );
    has(&sent.stderr, "deploy running");
    let pipelines = world.fake.circleci_pipelines();
    assert_eq!(pipelines.len(), 1);
    assert_eq!(
        (pipelines[0].slug.as_str(), pipelines[0].branch.as_str()),
        ("gh/octo/circled", "master")
    );
    assert_eq!(
        pipelines[0].parameters,
        serde_json::json!({ "deploy_sha": sha })
    );

    world.fake.circleci_conclusion("failed");
    let failed = slipway_in(&world, &dir, &["deploy", "--again"]);
    assert_eq!(failed.code, 1);
    has(
        &failed.stdout,
        "deploy failed: https://app.circleci.com/pipelines/gh/octo/circled/101",
    );
}

/// Whether any process's arguments hold `needle`.
fn in_any_cmdline(needle: &str) -> bool {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|args| String::from_utf8_lossy(&args).contains(needle))
}

#[test]
fn a_secret_command_deploys_with_its_environment_out_of_other_users_sight() {
    let (world, _parent, dir, first) = project_on_github(
        "shipcmd",
        "master",
        "[deploy.script]\nkind = \"command\"\nbranch = \"master\"\n",
    );
    world
        .fake
        .post_status("octo/shipcmd", &first, "ci/circleci: build", "success");
    let marker = "shipcmdsecretmarker0451";
    let secret = format!(
        "sleep 2; echo {marker} >/dev/null; touch \"deployed-$SLIPWAY_DEPLOY_SHA-$SLIPWAY_DEPLOY_BRANCH-$SLIPWAY_PROJECT-$SLIPWAY_DEPLOY_TRIGGER\"; echo done"
    );
    let set = world.slipway(
        &["secret", "set", "deploy-trigger", "shipcmd/script"],
        &secret,
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    let mut cmd = Command::new(slipway_tests::slipway_bin());
    cmd.args(["deploy"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = world.env(cmd).spawn().unwrap();
    let deployed = dir.join(format!("deployed-{first}-master-shipcmd-script"));
    let mut looked = 0;
    while child.try_wait().unwrap().is_none() {
        if !deployed.exists() {
            assert!(
                !in_any_cmdline(marker),
                "the secret command is in a process's arguments"
            );
            looked += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(looked > 10, "looked while it ran ({looked} times)");
    assert!(
        deployed.exists(),
        "the command saw SLIPWAY_DEPLOY_SHA, _BRANCH, _TRIGGER and SLIPWAY_PROJECT"
    );
    has(&stdout, &format!("deployed {}", &first[..7]));
}

#[test]
fn a_deploy_killed_while_its_trigger_runs_is_unknown_and_goes_again() {
    let (world, _parent, dir, first) = project_on_github(
        "killed",
        "master",
        "[deploy.script]\nkind = \"command\"\nbranch = \"master\"\n",
    );
    world
        .fake
        .post_status("octo/killed", &first, "ci/circleci: build", "success");
    let set = |command: &str| {
        let set = world.slipway(
            &["secret", "set", "deploy-trigger", "killed/script"],
            command,
        );
        assert_eq!(set.code, 0, "{}", set.stderr);
    };
    set("sleep 20");
    let mut cmd = Command::new(slipway_tests::slipway_bin());
    cmd.args(["deploy"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = world.env(cmd).spawn().unwrap();
    let firing = || {
        let listed = slipway_in(&world, &dir, &["deploys", "--json"]);
        serde_json::from_str::<serde_json::Value>(&listed.stdout)
            .ok()
            .and_then(|rows| rows.get(0).map(|r| r["state"] == "firing"))
            .unwrap_or(false)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !firing() {
        assert!(
            std::time::Instant::now() < deadline,
            "the deploy never fired"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // The next command marks it unknown, and says so once.
    let listed = slipway_in(&world, &dir, &["deploys"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    has(
        &listed.stderr,
        &format!(
            "the deploy of {} via script (killed) was interrupted",
            &first[..7]
        ),
    );
    has(&listed.stdout, "unknown");
    let again = slipway_in(&world, &dir, &["deploys"]);
    assert!(
        !again.stderr.contains("interrupted"),
        "told once: {}",
        again.stderr
    );
    // Unknown: refused without asking, and --again sends it.
    let twice = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(twice.code, 4, "{}", twice.stderr);
    has(&twice.stderr, "outcome is unknown");
    set("echo sent again");
    let sent = slipway_in(&world, &dir, &["deploy", "--again"]);
    assert_eq!(sent.code, 0, "{}\n{}", sent.stdout, sent.stderr);
    has(&sent.stdout, "sent again");
}

#[test]
fn a_trigger_secret_is_named_and_told_as_the_pipeline_declares_it() {
    let (world, _parent, dir, _) = project_on_github(
        "named",
        "master",
        "[deploy.script]\nkind = \"command\"\nbranch = \"master\"\n",
    );
    let set = |name: &str, value: &str| {
        let mut cmd = Command::new(slipway_tests::slipway_bin());
        cmd.args(["secret", "set", "deploy-trigger", name])
            .current_dir(&dir);
        world.finish(world.env(cmd), value)
    };
    let bad = set("named/hub`,", "x");
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    has(
        &bad.stderr,
        "\"hub`,\" in \"named/hub`,\" is not a project or trigger name",
    );
    let command = set("named/script", "echo hi");
    assert_eq!(command.code, 0, "{}", command.stderr);
    has(
        &command.stdout,
        "stored the deploy command \"script\" of project named in the keychain",
    );
    let unknown = set("named/nope", "x");
    assert_eq!(unknown.code, 0, "{}", unknown.stderr);
    has(&unknown.stderr, "declares no deploy trigger named \"nope\"");
    has(&unknown.stderr, "It declares: script.");
}

#[test]
fn a_command_that_fails_is_failed_and_one_past_its_timeout_is_stopped_and_unknown() {
    let (world, _parent, dir, first) = project_on_github(
        "cmdends",
        "master",
        "[deploy.script]\nkind = \"command\"\nbranch = \"master\"\n\n\
         [deploy.slow]\nkind = \"command\"\nbranch = \"master\"\n\
         run = \"sleep 300 & echo $! > sleeper.pid; wait\"\ntimeout = \"1s\"\n",
    );
    world
        .fake
        .post_status("octo/cmdends", &first, "ci/circleci: build", "success");
    let token = "cmdendstoken0123456789";
    let secret =
        format!("echo \"POST https://hooks.example/trigger/{token}/\"; echo refused >&2; exit 3");
    let set = world.slipway(
        &["secret", "set", "deploy-trigger", "cmdends/script"],
        &secret,
    );
    assert_eq!(set.code, 0, "{}", set.stderr);

    // A non-zero exit: failed, with its last lines, the secret's URL hidden.
    let failed = slipway_in(&world, &dir, &["deploy", "--trigger", "script"]);
    assert_eq!(failed.code, 1, "{}\n{}", failed.stdout, failed.stderr);
    has(&failed.stdout, "failed: the command exited with code 3");
    has(&failed.stdout, "POST [secret]");
    has(&failed.stdout, "refused");
    let listed = slipway_in(&world, &dir, &["deploys", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(rows[0]["state"], "failed", "{rows}");
    assert_eq!(rows[0]["trigger"], "script", "{rows}");

    // Past its timeout: stopped, with what it started, and unknown.
    let slow = slipway_in(&world, &dir, &["deploy", "--trigger", "slow"]);
    assert_eq!(slow.code, 1, "{}\n{}", slow.stdout, slow.stderr);
    has(&slow.stdout, "ran over its timeout (1 s)");
    let listed = slipway_in(&world, &dir, &["deploys", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(rows[0]["state"], "unknown", "{rows}");
    let pid = std::fs::read_to_string(dir.join("sleeper.pid")).unwrap();
    let alive = || std::path::Path::new(&format!("/proc/{}", pid.trim())).exists();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while alive() {
        assert!(
            std::time::Instant::now() < deadline,
            "what the command started still runs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The token is in no output and not in the history.
    for output in world.outputs() {
        assert!(!output.contains(token), "printed the token: {output}");
    }
    for entry in std::fs::read_dir(world.data_dir()).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(token),
            "{} holds the token",
            entry.path().display()
        );
    }
}

#[test]
fn the_classic_deploy_imported_fires_once_when_master_is_green() {
    let (world, parent, _dir, _) = project_on_github("classicdeploy", "master", "");
    // The tutorial's repository as it is: its circle.yml, imported.
    let dir = parent.path().join("classicdeploy");
    let example = slipway_tests::Project::example("classic-flask", "classicdeploy-src");
    std::fs::copy(example.path().join("circle.yml"), dir.join("circle.yml")).unwrap();
    std::fs::remove_file(dir.join("slipway.toml")).unwrap();
    let import = slipway_in(&world, &dir, &["import", "--write"]);
    assert_eq!(import.code, 0, "{}\n{}", import.stdout, import.stderr);
    let told = import
        .stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("slipway secret set "))
        .unwrap_or_else(|| panic!("import names the secret to set: {}", import.stderr));
    let told = told.split('#').next().unwrap().trim();
    assert_eq!(told, "deploy-trigger classicdeploy/hub");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "Import circle.yml"]);
    git(&dir, &["push", "-q", "origin", "master"]);
    let head = git(&dir, &["rev-parse", "HEAD"]);

    // $DEPLOY, stored with the command import printed.
    let hub_token = "classicdeployhubtoken0123";
    let deploy = format!(
        "curl -fsS --data \"build=true\" -X POST {}",
        world.fake.hub_trigger_url(hub_token)
    );
    let mut args = vec!["secret", "set"];
    args.extend(told.split_whitespace());
    let mut cmd = Command::new(slipway_tests::slipway_bin());
    cmd.args(&args).current_dir(&dir);
    let set = world.finish(world.env(cmd), &deploy);
    assert_eq!(set.code, 0, "{}", set.stderr);
    has(
        &set.stdout,
        "stored the deploy command \"hub\" of project classicdeploy",
    );
    let sent = || {
        world
            .fake
            .hub_requests()
            .into_iter()
            .filter(|r| r.token == hub_token)
            .collect::<Vec<_>>()
    };

    // Not while master's checks run; once when they are green; not twice.
    world
        .fake
        .post_status("octo/classicdeploy", &head, "ci/circleci: build", "pending");
    let early = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(early.code, 4, "{}\n{}", early.stdout, early.stderr);
    assert!(sent().is_empty());
    world
        .fake
        .post_status("octo/classicdeploy", &head, "ci/circleci: build", "success");
    let fired = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(fired.code, 0, "{}\n{}", fired.stdout, fired.stderr);
    has(&fired.stdout, &format!("deployed {}", &head[..7]));
    let once = slipway_in(&world, &dir, &["deploy"]);
    assert_eq!(once.code, 4, "{}\n{}", once.stdout, once.stderr);
    let requests = sent();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].body, "build=true");
    for output in world.outputs() {
        assert!(!output.contains(hub_token), "printed the token: {output}");
    }
}
