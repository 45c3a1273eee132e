//! From a status change on GitHub to `slipway pr watch` printing it: a PR
//! whose checks are running gets its CircleCI status changed to success at
//! a random moment; the figure is the time until the watch prints the
//! change. Against the fake GitHub, with the real CLI, a real keychain and a
//! bare git remote. Prints each sample, then the median and the maximum.
//!
//! With `--outage N`, GitHub answers the watch's next N requests with 502
//! and the change is made meanwhile: the figure is the time from the last
//! 502 to the watch printing the change.
//!
//!     cargo build --release -p slipway-cli -p slipway-bench
//!     target/release/pr-latency [SAMPLES] [--outage N]

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench: a failed expectation ends it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use slipway_tests::fake::GithubFault;
use slipway_tests::git;
use slipway_tests::services::Keyring;
use slipway_tests::world::World;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outage: usize = args
        .iter()
        .position(|a| a == "--outage")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().expect("--outage N"))
        .unwrap_or(0);
    let samples: usize = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let slipway = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .join("slipway");
    assert!(
        slipway.is_file(),
        "build the CLI first: {}",
        slipway.display()
    );
    let world = World::new(Keyring::Unlocked);
    world.fake.github_token("ghp_latency", "octo", Some("repo"));
    let login = world.slipway(&["login", "github", "--with-token"], "ghp_latency");
    assert_eq!(login.code, 0, "{}", login.stderr);
    let bare = world.fake.github_repo("octo", "svc", "main");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let url = "https://github.com/octo/svc";
    git(work, &["init", "-q", "-b", "main"]);
    git(work, &["remote", "add", "origin", url]);
    git(
        work,
        &["config", &format!("url.{}.insteadOf", bare.display()), url],
    );
    git(work, &["commit", "-q", "--allow-empty", "-m", "first"]);
    git(work, &["push", "-q", "origin", "main"]);
    git(work, &["switch", "-q", "-c", "fix"]);

    let mut latencies = Vec::new();
    for n in 0..samples {
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
        let run = |args: &[&str]| {
            let mut cmd = Command::new(&slipway);
            cmd.args(args).current_dir(work);
            world.finish(world.env(cmd), "")
        };
        let open = run(&["pr", "open", "--no-preflight", "--json"]);
        assert_eq!(open.code, 0, "{}", open.stderr);
        let head = git(work, &["rev-parse", "HEAD"]);
        world
            .fake
            .post_status("octo/svc", &head, "ci/circleci: build", "pending");
        let latency = one_change(&world, &slipway, work, &head, n, outage);
        println!("sample {n}: {:.0} ms", latency.as_secs_f64() * 1000.0);
        latencies.push(latency);
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let max = latencies[latencies.len() - 1];
    let after = match outage {
        0 => String::new(),
        n => format!(" after an outage of {n} 502s"),
    };
    println!(
        "status change to `pr watch` printing it{after}: median {:.2} s, max {:.2} s ({samples} samples)",
        median.as_secs_f64(),
        max.as_secs_f64()
    );
}

/// Starts `pr watch`, waits for its first look, changes the status at a
/// moment that varies with `n`, and times until the watch prints it; with
/// an outage, from GitHub's last failed answer.
fn one_change(
    world: &World,
    slipway: &Path,
    work: &Path,
    head: &str,
    n: usize,
    outage: usize,
) -> Duration {
    let mut cmd = Command::new(slipway);
    cmd.args(["pr", "watch", "--json"]).current_dir(work);
    let mut child = world
        .env(cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("\"pending\""), "{first}");
    // Spread the change over a whole polling interval and more.
    std::thread::sleep(Duration::from_millis(200 + (n as u64 * 733) % 3_000));
    if outage > 0 {
        world
            .fake
            .github_faults(&vec![GithubFault::ServerError(502); outage]);
    }
    world
        .fake
        .post_status("octo/svc", head, "ci/circleci: build", "success");
    let mut changed = Instant::now();
    if outage > 0 {
        let watching = std::thread::spawn(move || {
            lines
                .find(|l| l.as_ref().is_ok_and(|l| l.contains("\"success\"")))
                .map(|l| (l.unwrap(), Instant::now()))
        });
        while world.fake.github_faults_left() > 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
        changed = Instant::now();
        let (last, seen) = watching.join().unwrap().expect("the watch printed success");
        assert!(last.contains("\"success\""), "{last}");
        assert_eq!(child.wait().unwrap().code(), Some(0));
        return seen - changed;
    }
    let last = lines.next().unwrap().unwrap();
    let latency = changed.elapsed();
    assert!(last.contains("\"success\""), "{last}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    latency
}
