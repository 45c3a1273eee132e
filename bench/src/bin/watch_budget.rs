//! What following many pull requests costs the app: 10 projects whose PRs'
//! checks keep running, followed as the window follows them (one owner,
//! one of them on screen) for SECONDS, against the fake GitHub. Prints the
//! requests a minute GitHub got and the CPU the followers used (the threads
//! of their runtime only; the fake runs on its own).
//!
//!     cargo run --release -p slipway-bench --bin watch-budget [SECONDS] [PRS] [--budget N]

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench: a failed expectation ends it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slipway_core::accounts::{AccountStore, Endpoints};
use slipway_core::flow::Project;
use slipway_core::flow::armed::ArmedMerges;
use slipway_core::flow::budget::Budget;
use slipway_core::followed::{Followed, Settings};
use slipway_core::github::pulls::NewPull;
use slipway_core::github::{GithubClient, GithubRepo};
use slipway_core::secrets::{MemoryStore, Secret, Secrets};
use slipway_tests::fake::FakeServices;
use slipway_tests::git;

const THREADS: &str = "slipway-follow";

fn main() {
    let mut args = std::env::args().skip(1);
    let mut numbers = Vec::new();
    let mut budget = slipway_core::flow::budget::PER_MINUTE;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--budget" => {
                budget = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--budget N")
            }
            n => numbers.push(n.parse::<u64>().expect("a number")),
        }
    }
    let seconds = numbers.first().copied().unwrap_or(120);
    let prs = numbers.get(1).copied().unwrap_or(10) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(THREADS)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(Duration::from_secs(seconds), prs, budget));
}

async fn run(length: Duration, prs: usize, per_minute: u32) {
    let fake = FakeServices::start();
    fake.github_token("ghp_budget", "octo", Some("repo"));
    let client = GithubClient::build("github.com", &fake.github_api(), &Secret::new("ghp_budget"))
        .expect("client");
    let dirs = tempfile::tempdir().unwrap();
    let mut projects = Vec::new();
    for n in 0..prs {
        let dir = dirs.path().join(format!("app{n}"));
        projects.push(project_with_pull(&fake, &client, &dir, &format!("app{n}")).await);
    }
    let settings = Settings {
        armed: ArmedMerges::at(&dirs.path().join("armed.json")),
        accounts: AccountStore::at(dirs.path(), Endpoints::default()),
        secrets: Secrets::with_store(Arc::new(MemoryStore::default())),
        history: Some(dirs.path().join("history.db")),
        deploy_after_merge: false,
    };
    let followed = Followed::new(settings, |_| {}).with_budget(Budget::new(per_minute));
    for (dir, project) in &projects {
        let pull = project.pull_request().await.unwrap().expect("an open PR");
        followed.follow(dir, project.clone(), pull).await.unwrap();
    }
    followed.show(&projects[0].0);

    // Settle past the first looks, then measure.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let requests = fake.requests().len();
    let cpu = follower_cpu();
    let start = Instant::now();
    tokio::time::sleep(length).await;
    let elapsed = start.elapsed().as_secs_f64();
    let sent = fake.requests().len() - requests;
    let used = follower_cpu() - cpu;
    println!(
        "{prs} PRs with checks running, budget {per_minute}/min, {:.0} s: {:.0} requests a minute to GitHub, CPU {:.2} %",
        elapsed,
        sent as f64 * 60.0 / elapsed,
        used.as_secs_f64() * 100.0 / elapsed
    );
    assert!(fake.unknown().is_empty(), "{:?}", fake.unknown());
}

/// `octo/NAME` with a pull request from `feature/x` whose checks run.
async fn project_with_pull(
    fake: &FakeServices,
    client: &GithubClient,
    dir: &Path,
    name: &str,
) -> (PathBuf, Project) {
    let bare = fake.github_repo("octo", name, "master");
    std::fs::create_dir_all(dir).unwrap();
    let url = format!("https://github.com/octo/{name}");
    git(dir, &["init", "-q", "-b", "master"]);
    git(dir, &["remote", "add", "origin", &url]);
    git(
        dir,
        &["config", &format!("url.{}.insteadOf", bare.display()), &url],
    );
    git(dir, &["commit", "-q", "--allow-empty", "-m", "first"]);
    git(dir, &["push", "-q", "origin", "master"]);
    git(dir, &["switch", "-q", "-c", "feature/x"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", "change"]);
    git(dir, &["push", "-q", "origin", "feature/x"]);
    let repo = GithubRepo {
        host: "github.com".into(),
        owner: "octo".into(),
        name: name.into(),
    };
    let new = NewPull {
        title: "change".into(),
        body: String::new(),
        head: "feature/x".into(),
        base: "master".into(),
        draft: false,
    };
    client.create_pull(&repo, &new).await.unwrap();
    let head = git(dir, &["rev-parse", "HEAD"]);
    fake.post_status(
        &format!("octo/{name}"),
        &head,
        "ci/circleci: build",
        "pending",
    );
    let project = Project {
        root: dir.to_path_buf(),
        info: client.repository(&repo).await.unwrap(),
        branch: slipway_core::git::status(dir).await.unwrap(),
        repo,
        client: client.clone(),
    };
    (dir.to_path_buf(), project)
}

/// CPU time of the followers' threads so far.
fn follower_cpu() -> Duration {
    let ticks = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // comm is in parentheses and may hold spaces; fields follow it.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        if !head.ends_with(THREADS) {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields[11].parse().unwrap();
        let stime: u64 = fields[12].parse().unwrap();
        total += utime + stime;
    }
    Duration::from_secs_f64(total as f64 / ticks)
}
