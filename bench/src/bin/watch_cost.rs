//! What watching costs in rate limit: 10 projects, each with an open PR
//! whose checks have finished and a green default branch, their PRs
//! (checks and reviews) and default branches (the radar) watched for one
//! simulated hour with nothing changing, against the fake GitHub (which
//! charges what GitHub would; a 304 is free). Prints the requests charged
//! after the first round.
//!
//!     cargo run --release -p slipway-bench --bin watch-cost [PRS]

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench: a failed expectation ends it.

use std::time::Duration;

use slipway_core::github::GithubClient;
use slipway_core::github::pulls::NewPull;
use slipway_core::github::watch::PullWatch;
use slipway_core::radar::BranchWatch;
use slipway_core::secrets::Secret;
use slipway_tests::fake::FakeServices;
use slipway_tests::git;

#[tokio::main]
async fn main() {
    let prs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let fake = FakeServices::start();
    fake.github_token("ghp_bench", "octo", Some("repo"));
    let github = GithubClient::build("github.com", &fake.github_api(), &Secret::new("ghp_bench"))
        .expect("client");

    // `prs` projects, each a repository with a green default branch and a
    // green PR, watched as the window does: the PR (its checks and
    // reviews) and the default branch (the radar).
    let dir = tempfile::tempdir().expect("temp dir");
    let mut pulls = Vec::new();
    let mut branches = Vec::new();
    for n in 0..prs {
        let name = format!("app{n}");
        let full = format!("octo/{name}");
        let bare = fake.github_repo("octo", &name, "master");
        let repo = slipway_core::github::GithubRepo::from_remote(
            &format!("https://github.com/{full}.git"),
            &[],
        )
        .expect("a GitHub URL");
        let work = dir.path().join(&name);
        std::fs::create_dir_all(&work).expect("mkdir");
        slipway_tests::clone_of(&work, &bare, "master");
        let master = git(&work, &["rev-parse", "HEAD"]);
        fake.post_status(&full, &master, "ci/circleci: build", "success");
        git(&work, &["switch", "-q", "-c", "feature/x"]);
        git(&work, &["commit", "-q", "--allow-empty", "-m", "a change"]);
        git(&work, &["push", "-q", "origin", "feature/x"]);
        let head = git(&work, &["rev-parse", "HEAD"]);
        let new = NewPull {
            title: format!("change {n}"),
            body: String::new(),
            head: "feature/x".into(),
            base: "master".into(),
            draft: false,
        };
        let pull = github.create_pull(&repo, &new).await.expect("PR opened");
        fake.post_status(&full, &head, "ci/circleci: build", "success");
        fake.check_run(&full, &head, "tests", "completed", Some("success"));
        fake.review(&full, pull.number, "carol", "APPROVED");
        let expect = github
            .expectations(&repo, "master", &head)
            .await
            .expect("expectations");
        let pull = github.pull(&repo, pull.number).await.expect("the PR");
        pulls.push(PullWatch::new(repo.clone(), pull, expect));
        branches.push(BranchWatch::new(repo, "master", true));
    }

    let before_first = fake.github_rate().charged;
    for watch in &mut pulls {
        watch.poll(&github).await.expect("first poll");
    }
    for watch in &mut branches {
        watch.poll(&github).await.expect("first poll");
    }
    let first = fake.github_rate().charged - before_first;
    let requests_before = fake.requests().len();

    // One hour, at the interval each watch asks for (all done: idle).
    let hour = Duration::from_secs(3600);
    let interval = pulls[0]
        .interval(&github)
        .min(branches[0].interval(&github));
    let rounds = (hour.as_secs() / interval.as_secs().max(1)) as usize;
    let after_first = fake.github_rate().charged;
    for _ in 0..rounds {
        for watch in &mut pulls {
            let update = watch.poll(&github).await.expect("poll");
            assert_eq!(
                update,
                Default::default(),
                "nothing changed, so nothing is reported"
            );
        }
        for watch in &mut branches {
            assert!(!watch.poll(&github).await.expect("poll"), "nothing changed");
        }
    }
    let charged = fake.github_rate().charged - after_first;
    let requests = fake.requests().len() - requests_before;
    println!(
        "{prs} PRs and {prs} default branches, all green: first round charged {first} requests; \
         then {rounds} rounds ({}s apart) in one simulated hour: {requests} requests, {charged} charged",
        interval.as_secs()
    );
}
