//! The core's remote lifecycles, driven as a front end drives them, against
//! the fake GitHub and a real git remote: the checks follower under each
//! fault (an unchanged answer, a rate limit, an outage, cancellation),
//! publish, an arming merged when green, an arming disarmed by a push, and
//! the deploy after a merge.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipway_core::accounts::{AccountStore, Endpoints};
use slipway_core::deploy::after_merge::{AfterMerge, MergeCommit, after_merge};
use slipway_core::deploy::{DeployState, Outcome, Stores};
use slipway_core::flow::Project;
use slipway_core::flow::armed::{ArmedMerges, DisarmReason};
use slipway_core::flow::budget::Budget;
use slipway_core::flow::follow::{ArmingChange, PullEvent, PullFollow};
use slipway_core::flow::follower::{ChecksNews, FollowNote, Stopped, finished, follow_checks};
use slipway_core::flow::publish::{PublishOptions, Published};
use slipway_core::followed::{Followed, Settings};
use slipway_core::github::checks::CheckState;
use slipway_core::github::pulls::{MergeMethod, PullState};
use slipway_core::github::{GithubClient, GithubRepo};
use slipway_core::secrets::{MemoryStore, Secret, SecretId, Secrets};
use slipway_tests::fake::{FakeServices, GithubFault};
use slipway_tests::git;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "ghp_lifecycle";

/// A repository `octo/NAME` on the fake, cloned in a folder with a
/// Dockerfile and `toml` on master and one commit on `feature/x` (not
/// pushed); the folder's parent, the folder and the bare repository.
fn repository(
    fake: &FakeServices,
    name: &str,
    toml: &str,
) -> (tempfile::TempDir, PathBuf, PathBuf) {
    fake.github_token(TOKEN, "octo", Some("repo"));
    let bare = fake.github_repo("octo", name, "master");
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\nEXPOSE 80\n").unwrap();
    std::fs::write(dir.join("slipway.toml"), toml).unwrap();
    let url = format!("https://github.com/octo/{name}");
    git(&dir, &["init", "-q", "-b", "master"]);
    git(&dir, &["remote", "add", "origin", &url]);
    git(
        &dir,
        &["config", &format!("url.{}.insteadOf", bare.display()), &url],
    );
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "first"]);
    git(&dir, &["push", "-q", "origin", "master"]);
    git(&dir, &["switch", "-q", "-c", "feature/x"]);
    std::fs::write(dir.join("CHANGE"), "a change\n").unwrap();
    git(&dir, &["add", "CHANGE"]);
    git(&dir, &["commit", "-q", "-m", "The change"]);
    (parent, dir, bare)
}

/// The project as a front end opens it, with the fake's client.
async fn project(fake: &FakeServices, dir: &Path, name: &str) -> Project {
    let client =
        GithubClient::build("github.com", &fake.github_api(), &Secret::new(TOKEN)).unwrap();
    let repo = GithubRepo {
        host: "github.com".into(),
        owner: "octo".into(),
        name: name.into(),
    };
    Project {
        root: dir.to_path_buf(),
        info: client.repository(&repo).await.unwrap(),
        branch: slipway_core::git::status(dir).await.unwrap(),
        repo,
        client,
    }
}

/// Publishes without a preflight; the pull request and its head.
async fn published(project: &Project) -> (u64, String) {
    let options = PublishOptions::default();
    let done = project
        .publish(&options, async |_| Ok(true), |_| {})
        .await
        .unwrap();
    let Published::Opened(pull) = done else {
        panic!("{done:?}")
    };
    (pull.number, pull.head_sha)
}

/// The pull request `number` of `project` followed, armings kept in a
/// folder of the test's own (kept as long as it is).
async fn followed(project: Project, number: u64) -> (PullFollow, ArmedMerges, tempfile::TempDir) {
    let folder = tempfile::tempdir().unwrap();
    let store = ArmedMerges::at(&folder.path().join("armed.json"));
    let pull = project.client.pull(&project.repo, number).await.unwrap();
    let follow = PullFollow::start(project, pull, store.clone())
        .await
        .unwrap();
    (follow, store, folder)
}

/// What the follower told, kept for the test to read.
#[derive(Default, Clone)]
struct Told(Arc<Mutex<Vec<String>>>);

impl Told {
    fn push(&self, what: String) {
        self.0.lock().unwrap().push(what);
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Follows `sha` to its end, telling `told`.
async fn follow(
    fake: &FakeServices,
    name: &str,
    sha: &str,
    cancel: &CancellationToken,
    told: &Told,
) -> Result<slipway_core::github::checks::ChecksRollup, Stopped> {
    let client =
        GithubClient::build("github.com", &fake.github_api(), &Secret::new(TOKEN)).unwrap();
    let repo = GithubRepo {
        host: "github.com".into(),
        owner: "octo".into(),
        name: name.into(),
    };
    follow_checks(
        &client,
        &repo,
        sha,
        Default::default(),
        cancel,
        |news| match news {
            ChecksNews::Changed(rollup) => told.push(format!("{:?}", rollup.state)),
            ChecksNews::Note(FollowNote::Outage { problem, .. }) => {
                told.push(format!("outage: {}", problem.message))
            }
            ChecksNews::Note(FollowNote::Back) => told.push("back".into()),
        },
        finished,
    )
    .await
}

/// Waits until `done`, up to `secs`.
async fn until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(secs), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

/// A pushed commit of a new repository `octo/NAME` whose check is pending,
/// followed in a task of its own.
struct Following {
    fake: Arc<FakeServices>,
    _parent: tempfile::TempDir,
    sha: String,
    told: Told,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<slipway_core::github::checks::ChecksRollup, Stopped>>,
}

fn following(name: &str, faults: &[GithubFault]) -> Following {
    let fake = Arc::new(FakeServices::start());
    let (parent, dir, _bare) = repository(&fake, name, "");
    let sha = git(&dir, &["rev-parse", "HEAD"]);
    git(&dir, &["push", "-q", "origin", "feature/x"]);
    fake.post_status(
        &format!("octo/{name}"),
        &sha,
        "ci/circleci: build",
        "pending",
    );
    fake.github_faults(faults);
    let told = Told::default();
    let cancel = CancellationToken::new();
    let task = tokio::spawn({
        let (fake, told, cancel, sha) = (fake.clone(), told.clone(), cancel.clone(), sha.clone());
        let name = name.to_string();
        async move { follow(&fake, &name, &sha, &cancel, &told).await }
    });
    Following {
        fake,
        _parent: parent,
        sha,
        told,
        cancel,
        task,
    }
}

#[tokio::test]
async fn the_checks_follower_spends_nothing_while_nothing_changes() {
    let Following {
        fake,
        sha,
        told,
        task: following,
        ..
    } = following("quiet", &[]);
    until("the first rollup", 10, || !told.all().is_empty()).await;
    let charged = fake.github_rate().charged;
    let looks = || {
        fake.requests()
            .iter()
            .filter(|r| r.contains("/status"))
            .count()
    };
    let before = looks();
    until("three more looks", 15, || looks() >= before + 3).await;
    assert_eq!(
        fake.github_rate().charged,
        charged,
        "unchanged answers are free 304s"
    );
    fake.post_status("octo/quiet", &sha, "ci/circleci: build", "success");
    let rollup = tokio::time::timeout(Duration::from_secs(10), following)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(rollup.state, CheckState::Success);
    assert_eq!(told.all(), ["Pending", "Success"]);
}

#[tokio::test]
async fn the_checks_follower_outlives_an_outage_and_a_rate_limit() {
    for (name, fault, words) in [
        (
            "outage",
            GithubFault::ServerError(502),
            "cannot reach GitHub",
        ),
        (
            "limited",
            GithubFault::PrimaryRateLimit { reset_in: 2 },
            "rate limit",
        ),
    ] {
        let Following {
            fake,
            sha,
            told,
            task: following,
            ..
        } = following(name, &[fault.clone(), fault.clone(), fault]);
        until("the first rollup after the fault", 30, || {
            told.all().iter().any(|t| t == "Pending")
        })
        .await;
        fake.post_status(
            &format!("octo/{name}"),
            &sha,
            "ci/circleci: build",
            "success",
        );
        let rollup = tokio::time::timeout(Duration::from_secs(30), following)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(rollup.state, CheckState::Success);
        let all = told.all();
        let outages: Vec<&String> = all.iter().filter(|t| t.starts_with("outage")).collect();
        assert_eq!(outages.len(), 1, "told once: {all:?}");
        assert!(outages[0].contains(words), "{all:?}");
        assert!(all.contains(&"back".to_string()), "{all:?}");
    }
}

#[tokio::test]
async fn the_checks_follower_stops_when_cancelled() {
    let Following {
        told,
        cancel,
        task: following,
        ..
    } = following("stopped", &[]);
    until("the first rollup", 10, || !told.all().is_empty()).await;
    cancel.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(1), following)
        .await
        .expect("stops at once")
        .unwrap();
    assert_eq!(stopped.unwrap_err(), Stopped::Cancelled);
}

#[tokio::test]
async fn publish_then_an_arming_merges_when_green() {
    let fake = Arc::new(FakeServices::start());
    let (_parent, dir, bare) = repository(&fake, "lifearm", "");
    let project = project(&fake, &dir, "lifearm").await;
    let (number, head) = published(&project).await;
    assert_eq!(git(&bare, &["rev-parse", "feature/x"]), head);
    fake.post_status("octo/lifearm", &head, "ci/circleci: build", "pending");
    let (mut follow, store, _armed) = followed(project, 1).await;
    follow.arm(&head, MergeMethod::Squash).await.unwrap();
    assert_eq!(store.list().len(), 1);
    let master = git(&bare, &["rev-parse", "master"]);
    let events = Arc::new(Mutex::new(Vec::new()));
    let cancel = CancellationToken::new();
    let running = {
        let events = events.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let ran = follow
                .run(&cancel, |e| events.lock().unwrap().push(e), |_| false)
                .await;
            (follow, ran)
        })
    };
    let looks = || {
        fake.requests()
            .iter()
            .filter(|r| r.ends_with(&format!("/pulls/{number}")))
            .count()
    };
    let before = looks();
    until("two looks while pending", 15, || looks() >= before + 2).await;
    assert_eq!(
        git(&bare, &["rev-parse", "master"]),
        master,
        "pending: not merged"
    );
    fake.post_status("octo/lifearm", &head, "ci/circleci: build", "success");
    let Ok(finished) = tokio::time::timeout(Duration::from_secs(30), running).await else {
        panic!("not merged: {:#?}", events.lock().unwrap());
    };
    let (follow, ran) = finished.unwrap();
    ran.unwrap();
    assert_eq!(follow.view().pull.state, PullState::Merged);
    let events = events.lock().unwrap().clone();
    let merged = events
        .iter()
        .find_map(|e| match e {
            PullEvent::Merged { base, sha } => Some((base.clone(), sha.clone())),
            _ => None,
        })
        .expect("told merged");
    assert_eq!(
        merged,
        ("master".to_string(), git(&bare, &["rev-parse", "master"]))
    );
    assert!(events.iter().any(|e| matches!(
        e,
        PullEvent::Changed {
            arming: Some(ArmingChange::Merging { .. }),
            ..
        }
    )));
    // Squash: one commit titled after the pull request.
    assert_eq!(
        git(
            &bare,
            &["rev-list", "--count", &format!("{master}..master")]
        ),
        "1"
    );
    assert!(store.list().is_empty());
}

#[tokio::test]
async fn a_push_disarms_an_arming() {
    let fake = Arc::new(FakeServices::start());
    let (_parent, dir, bare) = repository(&fake, "lifepush", "");
    let project = project(&fake, &dir, "lifepush").await;
    let (_, head) = published(&project).await;
    fake.post_status("octo/lifepush", &head, "ci/circleci: build", "pending");
    let (mut follow, store, _armed) = followed(project, 1).await;
    follow.arm(&head, MergeMethod::Merge).await.unwrap();
    git(&dir, &["commit", "-q", "--allow-empty", "-m", "More"]);
    git(&dir, &["push", "-q", "origin", "feature/x"]);
    let moved = git(&dir, &["rev-parse", "HEAD"]);
    fake.post_status("octo/lifepush", &moved, "ci/circleci: build", "success");
    let mut reasons = Vec::new();
    let cancel = CancellationToken::new();
    tokio::time::timeout(
        Duration::from_secs(15),
        follow.run(
            &cancel,
            |e| {
                if let PullEvent::Changed {
                    arming: Some(ArmingChange::Disarmed(reason)),
                    ..
                } = e
                {
                    reasons.push(reason)
                }
            },
            |view| view.armed.is_none(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(reasons, [DisarmReason::HeadMoved { sha: moved }]);
    assert!(store.list().is_empty());
    assert_eq!(follow.view().pull.state, PullState::Open, "not merged");
    assert_eq!(
        git(&bare, &["rev-parse", "master"]),
        git(&dir, &["rev-parse", "master"])
    );
}

#[tokio::test]
async fn a_merge_is_deployed_once_its_commit_is_green() {
    let fake = Arc::new(FakeServices::start());
    let toml = "[deploy.hub]\nkind = \"dockerhub\"\nbranch = \"master\"\nafter-merge = true\n";
    let (_parent, dir, bare) = repository(&fake, "lifedeploy", toml);
    let project = project(&fake, &dir, "lifedeploy").await;
    let (number, head) = published(&project).await;
    fake.post_status("octo/lifedeploy", &head, "ci/circleci: build", "success");
    let (mut follow, _store, _armed) = followed(project, number).await;
    let events = follow.merge(&head, MergeMethod::Merge).await.unwrap();
    let Some(PullEvent::Merged { base, sha }) = events.into_iter().last() else {
        panic!("told merged")
    };
    assert_eq!(sha, git(&bare, &["rev-parse", "master"]));

    let secrets = Secrets::with_store(Arc::new(MemoryStore::default()));
    secrets
        .set(
            SecretId::DeployTrigger {
                project: "lifedeploy".into(),
                trigger: "hub".into(),
            },
            Secret::new(fake.hub_trigger_url("hubtokenlifecycle0123456789")),
        )
        .await
        .unwrap();
    let history = tempfile::tempdir().unwrap();
    let history = history.path().join("history.db");
    let pipeline = slipway_core::project::pipeline(&dir).unwrap();
    let project = follow.project().clone();
    let accounts_dir = tempfile::tempdir().unwrap();
    let accounts = AccountStore::at(accounts_dir.path(), Endpoints::default());
    let deploying = tokio::spawn(async move {
        let cancel = CancellationToken::new();
        let stores = Stores {
            secrets: &secrets,
            accounts: &accounts,
            history: Some(&history),
        };
        after_merge(
            &project,
            &pipeline,
            MergeCommit {
                base: &base,
                sha: &sha,
            },
            stores,
            &cancel,
            |_| {},
        )
        .await
    });
    let merge = git(&bare, &["rev-parse", "master"]);
    let looks = || {
        fake.requests()
            .iter()
            .filter(|r| r.contains(&format!("{merge}/status")))
            .count()
    };
    until("a look at the merge commit", 10, || looks() >= 1).await;
    assert!(fake.hub_requests().is_empty(), "not before it is green");
    fake.post_status("octo/lifedeploy", &merge, "ci/circleci: build", "success");
    let ended = tokio::time::timeout(Duration::from_secs(15), deploying)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let AfterMerge::Fired(Outcome::Sent(record)) = ended else {
        panic!("{ended:?}")
    };
    assert_eq!(record.state, DeployState::Succeeded);
    assert_eq!(record.sha, merge);
    assert_eq!(fake.hub_requests().len(), 1);
}

#[tokio::test]
async fn a_one_off_read_of_the_checks_is_tried_again_after_a_server_error() {
    let fake = Arc::new(FakeServices::start());
    let (_parent, dir, _bare) = repository(&fake, "flaky", "");
    let sha = git(&dir, &["rev-parse", "HEAD"]);
    git(&dir, &["push", "-q", "origin", "feature/x"]);
    fake.post_status("octo/flaky", &sha, "ci/circleci: build", "success");
    let project = project(&fake, &dir, "flaky").await;
    fake.github_faults(&[GithubFault::ServerError(502)]);
    let rollup = project.commit_checks(&sha, "master").await.unwrap();
    assert_eq!(rollup.state, CheckState::Success, "one 502 is tried again");
    let down = [GithubFault::ServerError(502), GithubFault::ServerError(503)];
    fake.github_faults(&[
        down[0].clone(),
        down[1].clone(),
        down[0].clone(),
        down[1].clone(),
    ]);
    let started = std::time::Instant::now();
    let problem = project.commit_checks(&sha, "master").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "gives up within 10 s"
    );
    assert!(
        problem.message.contains("cannot reach GitHub"),
        "{}",
        problem.message
    );
}

#[tokio::test]
async fn required_checks_come_from_protection_and_rulesets_that_any_token_can_read() {
    let fake = Arc::new(FakeServices::start());
    let (_parent, dir, _bare) = repository(&fake, "guarded", "");
    let sha = git(&dir, &["rev-parse", "HEAD"]);
    git(&dir, &["push", "-q", "origin", "feature/x"]);
    fake.protect("octo/guarded", "master", &["ci/circleci: build"]);
    fake.ruleset("octo/guarded", "master", &["lint", "ci/circleci: build"]);
    fake.post_status("octo/guarded", &sha, "ci/circleci: build", "success");
    // Not an admin: the protection API refuses this token.
    let project = project(&fake, &dir, "guarded").await;
    let rollup = project.commit_checks(&sha, "master").await.unwrap();
    assert_eq!(rollup.state, CheckState::Pending, "lint has not reported");
    let lint = rollup
        .checks
        .iter()
        .find(|c| c.name == "lint")
        .expect("lint");
    assert_eq!(lint.state, CheckState::Pending);
    fake.post_status("octo/guarded", &sha, "lint", "success");
    let rollup = project.commit_checks(&sha, "master").await.unwrap();
    assert_eq!(rollup.state, CheckState::Success);
    assert!(
        !fake.requests().iter().any(|r| r.contains("/protection")),
        "the admin-only endpoint is never asked: {:?}",
        fake.requests()
    );
    // A repository whose rules cannot be read is not an error: nothing required there.
    let unprotected = project.commit_checks(&sha, "no-such-branch").await.unwrap();
    assert_eq!(unprotected.state, CheckState::Success);
}

#[tokio::test]
async fn a_short_secondary_rate_limit_is_waited_out() {
    let fake = Arc::new(FakeServices::start());
    let (_parent, dir, _bare) = repository(&fake, "limited2", "");
    let sha = git(&dir, &["rev-parse", "HEAD"]);
    git(&dir, &["push", "-q", "origin", "feature/x"]);
    fake.post_status("octo/limited2", &sha, "ci/circleci: build", "success");
    let project = project(&fake, &dir, "limited2").await;
    fake.github_faults(&[GithubFault::SecondaryRateLimit {
        status: 429,
        retry_after: 2,
    }]);
    let started = std::time::Instant::now();
    let rollup = project.commit_checks(&sha, "master").await.unwrap();
    assert_eq!(rollup.state, CheckState::Success);
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    // A long one is told in human time, never as an epoch.
    fake.github_faults(&[GithubFault::PrimaryRateLimit { reset_in: 720 }]);
    let problem = project.commit_checks(&sha, "master").await.unwrap_err();
    let hint = problem.hint.unwrap_or_default();
    assert!(
        hint.starts_with("GitHub's hourly limit resets at "),
        "{hint}"
    );
    assert!(hint.ends_with("(in 12 min)."), "{hint}");
}

#[tokio::test]
async fn github_refuses_a_merge_its_rules_do_not_pass_and_nothing_moves() {
    let fake = Arc::new(FakeServices::start());
    let (_parent, dir, bare) = repository(&fake, "strict", "");
    let project = project(&fake, &dir, "strict").await;
    let (number, head) = published(&project).await;
    fake.ruleset("octo/strict", "master", &["ci/circleci: build"]);
    let master = git(&bare, &["rev-parse", "master"]);
    let (mut follow, _store, _armed) = followed(project, number).await;
    // No check yet: GitHub refuses, in its words, and master stays.
    let refused = follow.merge(&head, MergeMethod::Rebase).await.unwrap_err();
    assert!(
        refused
            .message
            .contains("Required status check \"ci/circleci: build\" is expected"),
        "{}",
        refused.message
    );
    assert_eq!(git(&bare, &["rev-parse", "master"]), master);
    // Green: rebase replays the commit onto master, no merge commit.
    fake.post_status("octo/strict", &head, "ci/circleci: build", "success");
    follow.merge(&head, MergeMethod::Rebase).await.unwrap();
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%s", "master"]),
        "The change"
    );
    assert_eq!(
        git(
            &bare,
            &["rev-list", "--count", &format!("{master}..master")]
        ),
        "1"
    );
    assert_eq!(
        git(&bare, &["rev-list", "--merges", "--count", "master"]),
        "0"
    );
}

#[tokio::test]
async fn followed_pull_requests_keep_to_the_budget_and_the_one_shown_keeps_its_pace() {
    let fake = Arc::new(FakeServices::start());
    let mut kept = Vec::new();
    let mut projects = Vec::new();
    for n in 0..4 {
        let name = format!("budget{n}");
        let (parent, dir, _bare) = repository(&fake, &name, "");
        let project = project(&fake, &dir, &name).await;
        let (_, head) = published(&project).await;
        fake.post_status(
            &format!("octo/{name}"),
            &head,
            "ci/circleci: build",
            "pending",
        );
        kept.push(parent);
        projects.push((dir, project));
    }
    let folder = tempfile::tempdir().unwrap();
    let settings = Settings {
        armed: ArmedMerges::at(&folder.path().join("armed.json")),
        accounts: AccountStore::at(folder.path(), Endpoints::default()),
        secrets: Secrets::with_store(Arc::new(MemoryStore::default())),
        history: Some(folder.path().join("history.db")),
        deploy_after_merge: false,
    };
    // Room for the one shown at its pace and a fifth of that for the rest.
    let followed = Followed::new(settings, |_| {}).with_budget(Budget::new(150));
    for (dir, project) in &projects {
        let pull = project.pull_request().await.unwrap().unwrap();
        followed.follow(dir, project.clone(), pull).await.unwrap();
    }
    let looks = |n: usize| {
        let path = format!("/repos/octo/budget{n}/pulls/1");
        fake.requests()
            .iter()
            .filter(|r| r.ends_with(&path))
            .count()
    };
    followed.show(&projects[0].0);
    let others = || (1..4).map(looks).sum::<usize>();
    let (shown, rest) = (looks(0), others());
    until("six looks of the one shown", 20, || looks(0) >= shown + 6).await;
    let theirs = others() - rest;
    assert!(
        theirs <= 3,
        "the others looked {theirs} times while the one shown looked 6 times"
    );

    // Another comes on screen: looked at now, then at its pace.
    let before = looks(2);
    followed.show(&projects[2].0);
    until("the one shown now at its pace", 12, || {
        looks(2) >= before + 4
    })
    .await;
}

#[tokio::test]
async fn a_pull_request_that_conflicts_is_not_merged_and_its_arming_says_why() {
    let fake = Arc::new(FakeServices::start());
    let (_parent, dir, bare) = repository(&fake, "clash", "");
    let project = project(&fake, &dir, "clash").await;
    let (number, head) = published(&project).await;
    // master gets the same file with other words: the branch conflicts.
    git(&dir, &["switch", "-q", "master"]);
    std::fs::write(dir.join("CHANGE"), "another change\n").unwrap();
    git(&dir, &["add", "CHANGE"]);
    git(&dir, &["commit", "-q", "-m", "Another change"]);
    git(&dir, &["push", "-q", "origin", "master"]);
    let master = git(&bare, &["rev-parse", "master"]);
    let pull = project.client.pull(&project.repo, number).await.unwrap();
    assert_eq!(pull.mergeable, Some(false), "GitHub says it conflicts");

    fake.post_status("octo/clash", &head, "ci/circleci: build", "success");
    let (mut follow, store, _armed) = followed(project, number).await;
    let refused = follow.merge(&head, MergeMethod::Squash).await.unwrap_err();
    assert!(
        refused.message.contains("#1 has conflicts with master"),
        "{}",
        refused.message
    );
    assert!(
        refused
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("Merge master into feature/x"),
        "{refused:?}"
    );
    assert_eq!(git(&bare, &["rev-parse", "master"]), master);

    // Armed while green: the merge is refused, so it is disarmed with the reason.
    follow.arm(&head, MergeMethod::Merge).await.unwrap();
    let (events, _) = follow.look().await.unwrap();
    let disarmed = events.iter().find_map(|e| match e {
        PullEvent::Changed {
            arming: Some(ArmingChange::Disarmed(reason)),
            ..
        } => Some(reason.clone()),
        _ => None,
    });
    match disarmed {
        Some(DisarmReason::MergeRefused { message }) => {
            assert!(message.contains("has conflicts with master"), "{message}")
        }
        other => panic!("not disarmed for the conflict: {other:?} in {events:?}"),
    }
    assert!(store.find(&follow.view().repo, number).is_none());
    assert_eq!(git(&bare, &["rev-parse", "master"]), master);
}

#[tokio::test]
async fn the_radar_tells_a_default_branch_turning_red_and_charges_nothing_while_quiet() {
    use slipway_core::radar::{BranchTransition, Radar, RadarEvent};
    let fake = FakeServices::start();
    let (_parent, dir, bare) = repository(&fake, "radar", "");
    let master = git(&bare, &["rev-parse", "master"]);
    fake.post_status("octo/radar", &master, "ci/circleci: build", "pending");
    let project = project(&fake, &dir, "radar").await;
    let told: Arc<Mutex<Vec<RadarEvent>>> = Arc::default();
    let radar = Radar::new(Budget::default(), {
        let told = told.clone();
        move |event| told.lock().unwrap().push(event)
    });
    radar.watch(&dir, &project);
    until("the first look", 10, || !told.lock().unwrap().is_empty()).await;
    let first = told.lock().unwrap()[0].clone();
    let names: Vec<&str> = first.branches.iter().map(|b| b.branch.as_str()).collect();
    assert_eq!(
        names,
        ["master", "feature/x"],
        "the default and the checked-out branch"
    );
    assert_eq!(first.branches[0].state(), Some(CheckState::Pending));
    assert_eq!(first.branches[1].state(), None, "feature/x is not pushed");
    assert_eq!(first.transition, None);

    // Quiet: each look is free.
    let charged = fake.github_rate().charged;
    let looks = || {
        fake.requests()
            .iter()
            .filter(|r| r.ends_with("/branches/master"))
            .count()
    };
    let before = looks();
    until("three more looks", 15, || looks() >= before + 3).await;
    assert_eq!(fake.github_rate().charged, charged, "nothing changed: 304s");
    assert_eq!(told.lock().unwrap().len(), 1, "and nothing told");

    // master turns red: told once, with what failed.
    fake.post_status("octo/radar", &master, "ci/circleci: build", "failure");
    until("red", 10, || {
        told.lock().unwrap().iter().any(|e| e.transition.is_some())
    })
    .await;
    let red = told
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| e.transition.clone())
        .unwrap();
    assert_eq!(red.0.branch, "master");
    assert_eq!(
        red.1,
        BranchTransition::Red {
            failed: vec!["ci/circleci: build".into()]
        }
    );
    assert_eq!(radar.branches(&dir)[0].state(), Some(CheckState::Failure));
}
