//! From a status change on GitHub to `slipway pr watch` printing it: a PR
//! whose checks are running gets its CircleCI status changed to success at
//! a random moment; the figure is the time until the watch prints the
//! change. Against the fake GitHub, with the real CLI, a real keychain and a
//! bare git remote. Prints each sample, then the median and the maximum.
//!
//!     cargo build --release -p slipway-cli -p slipway-bench
//!     target/release/pr-latency [SAMPLES]

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench: a failed expectation ends it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use slipway_tests::git;
use slipway_tests::services::Keyring;
use slipway_tests::world::World;

fn main() {
    let samples: usize = std::env::args()
        .nth(1)
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
        let latency = one_change(&world, &slipway, work, &head, n);
        println!("sample {n}: {:.0} ms", latency.as_secs_f64() * 1000.0);
        latencies.push(latency);
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let max = latencies[latencies.len() - 1];
    println!(
        "status change to `pr watch` printing it: median {:.2} s, max {:.2} s ({samples} samples)",
        median.as_secs_f64(),
        max.as_secs_f64()
    );
}

/// Starts `pr watch`, waits for its first look, changes the status at a
/// moment that varies with `n`, and times until the watch prints it.
fn one_change(world: &World, slipway: &Path, work: &Path, head: &str, n: usize) -> Duration {
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
    world
        .fake
        .post_status("octo/svc", head, "ci/circleci: build", "success");
    let changed = Instant::now();
    let last = lines.next().unwrap().unwrap();
    let latency = changed.elapsed();
    assert!(last.contains("\"success\""), "{last}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    latency
}
