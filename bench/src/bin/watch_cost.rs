//! What watching pull requests costs in rate limit: 10 open PRs whose
//! checks have finished, watched for one simulated hour with nothing
//! changing, against the fake GitHub (which charges what GitHub would; a
//! 304 is free). Prints the requests charged after the first round.
//!
//!     cargo run --release -p slipway-bench --bin watch-cost [PRS]

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench: a failed expectation ends it.

use std::time::Duration;

use slipway_core::github::GithubClient;
use slipway_core::github::pulls::NewPull;
use slipway_core::github::watch::ChecksWatch;
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
    let bare = fake.github_repo("octo", "app", "master");
    let repo =
        slipway_core::github::GithubRepo::from_remote("https://github.com/octo/app.git", &[])
            .expect("a GitHub URL");
    let github = GithubClient::build("github.com", &fake.github_api(), &Secret::new("ghp_bench"))
        .expect("client");

    // A repository with `prs` feature branches, each with a green PR.
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path();
    slipway_tests::clone_of(work, &bare, "master");
    let mut watches = Vec::new();
    for n in 0..prs {
        let branch = format!("feature/{n}");
        git(work, &["switch", "-q", "-c", &branch, "master"]);
        git(
            work,
            &[
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                &format!("change {n}"),
            ],
        );
        git(work, &["push", "-q", "origin", &branch]);
        let head = git(work, &["rev-parse", "HEAD"]);
        let new = NewPull {
            title: format!("change {n}"),
            body: String::new(),
            head: branch,
            base: "master".into(),
            draft: false,
        };
        github.create_pull(&repo, &new).await.expect("PR opened");
        fake.post_status("octo/app", &head, "ci/circleci: build", "success");
        fake.check_run("octo/app", &head, "tests", "completed", Some("success"));
        watches.push(ChecksWatch::new(repo.clone(), &head, Default::default()));
    }

    let before_first = fake.github_rate().charged;
    for watch in &mut watches {
        watch.poll(&github).await.expect("first poll");
    }
    let first = fake.github_rate().charged - before_first;
    let requests_before = fake.requests().len();

    // One hour, at the interval each watch asks for (checks done: idle).
    let hour = Duration::from_secs(3600);
    let interval = watches[0].interval(&github);
    let rounds = (hour.as_secs() / interval.as_secs().max(1)) as usize;
    let after_first = fake.github_rate().charged;
    for _ in 0..rounds {
        for watch in &mut watches {
            let changed = watch.poll(&github).await.expect("poll");
            assert!(changed.is_none(), "nothing changed, so nothing is reported");
        }
    }
    let charged = fake.github_rate().charged - after_first;
    let requests = fake.requests().len() - requests_before;
    println!(
        "{prs} PRs, checks done: first round charged {first} requests; then {rounds} rounds \
         ({}s apart) in one simulated hour: {requests} requests, {charged} charged",
        interval.as_secs()
    );
}
