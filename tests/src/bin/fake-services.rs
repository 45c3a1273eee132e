//! The fake GitHub and CircleCI as a process, for the desktop tests.
//!
//!     fake-services [--github TOKEN=LOGIN[:SCOPES]]... [--circleci TOKEN=LOGIN]...
//!
//! Prints its base URL on the first line, then answers commands on stdin,
//! one per line, with one line each:
//!
//!     repo OWNER NAME DEFAULT_BRANCH [auto-merge] → the bare git folder to push to
//!     auto-merge OWNER/NAME NUMBER          → the method GitHub's auto-merge is on with, or off
//!     status OWNER/NAME SHA CONTEXT STATE   → ok (a commit status, as CircleCI posts)
//!     check OWNER/NAME SHA NAME STATUS [CONCLUSION] → the check run's id
//!     hub-url TOKEN                         → a Docker Hub build trigger URL
//!     hub-count TOKEN                       → how many requests the trigger with TOKEN got
//!     hub-last-ms TOKEN                     → when its last one arrived (ms since the epoch)
//!     github-requests                       → how many requests GitHub's API got so far
//!     protect OWNER/NAME BRANCH CONTEXT...  → ok (branch protection requiring these checks)
//!     ruleset OWNER/NAME BRANCH CONTEXT...  → ok (a ruleset requiring these checks)
//!
//! When stdin closes it exits, 1 if it got a request it does not know
//! (and lists them).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test tool: a bad argument is a failed test.

use std::io::{BufRead, Write};

use slipway_tests::fake::FakeServices;

fn main() {
    let fake = FakeServices::start();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().expect("a value after the flag");
        let (token, who) = value.split_once('=').expect("TOKEN=LOGIN");
        match flag.as_str() {
            "--github" => {
                let (login, scopes) = match who.split_once(':') {
                    Some((login, scopes)) => (login, Some(scopes)),
                    None => (who, None),
                };
                fake.github_token(token, login, scopes);
            }
            "--circleci" => {
                fake.circleci_token(token, who);
            }
            other => panic!("unknown flag {other}"),
        }
    }
    println!("{}", fake.url());
    let mut out = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["repo", owner, name, default, rest @ ..] => {
                let bare = fake.github_repo(owner, name, default);
                let full = format!("{owner}/{name}");
                fake.with_repo(&full, |r| r.allow_auto_merge = rest == ["auto-merge"]);
                bare.display().to_string()
            }
            ["auto-merge", repo, number] => fake.with_repo(repo, |r| {
                r.pulls
                    .iter()
                    .find(|p| p.number.to_string() == *number)
                    .and_then(|p| p.auto_merge.clone())
                    .unwrap_or_else(|| "off".into())
            }),
            ["status", repo, sha, context, state] => {
                fake.post_status(repo, sha, context, state);
                "ok".to_string()
            }
            ["check", repo, sha, name, status, rest @ ..] => fake
                .check_run(repo, sha, name, status, rest.first().copied())
                .to_string(),
            ["hub-url", token] => fake.hub_trigger_url(token),
            ["hub-count", token] => fake
                .hub_requests()
                .iter()
                .filter(|r| r.token == *token)
                .count()
                .to_string(),
            ["hub-last-ms", token] => fake
                .hub_requests()
                .iter()
                .rev()
                .find(|r| r.token == *token)
                .map_or("none".to_string(), |r| r.at_ms.to_string()),
            ["protect", repo, branch, contexts @ ..] => {
                fake.protect(repo, branch, contexts);
                "ok".to_string()
            }
            ["ruleset", repo, branch, contexts @ ..] => {
                fake.ruleset(repo, branch, contexts);
                "ok".to_string()
            }
            ["review", repo, number, login, state] => {
                fake.review(repo, number.parse().expect("number"), login, state);
                "ok".to_string()
            }
            ["require-approvals", repo, branch, count] => {
                fake.require_approvals(repo, branch, count.parse().expect("count"));
                "ok".to_string()
            }
            ["actions-fail", repo, sha, name, step @ ..] => {
                let step = &step.join(" ");
                let log = format!(
                    "2026-12-01T10:00:00.0000000Z ##[group]Run actions/checkout@v4\n\
                     2026-12-01T10:00:01.0000000Z Fetching the repository\n\
                     2026-12-01T10:00:02.0000000Z ##[endgroup]\n\
                     2026-12-01T10:00:03.0000000Z ##[group]Run {step}\n\
                     2026-12-01T10:00:04.0000000Z ##[endgroup]\n\
                     2026-12-01T10:00:05.0000000Z ./app.py:12:80: E501 line too long (91 > 79 characters)\n\
                     2026-12-01T10:00:06.0000000Z ##[error]Process completed with exit code 1.\n"
                );
                fake.actions_job(
                    repo,
                    sha,
                    name,
                    &[("Set up job", "success"), (step, "failure")],
                    &log,
                    &[("app.py", 12, "E501 line too long (91 > 79 characters)")],
                )
                .to_string()
            }
            ["actions-reruns", repo] => fake.actions_reruns(repo).join(","),
            ["github-charged"] => fake.github_rate().charged.to_string(),
            ["github-requests"] => fake
                .requests()
                .iter()
                .filter(|r| {
                    r.split_whitespace()
                        .nth(1)
                        .is_some_and(|p| p.starts_with("/github/"))
                })
                .count()
                .to_string(),
            [] => continue,
            other => panic!("unknown command {other:?}"),
        };
        writeln!(out, "{answer}").expect("stdout");
        out.flush().expect("stdout");
    }
    let unknown = fake.unknown();
    eprintln!("fake-services: {} requests", fake.requests().len());
    if !unknown.is_empty() {
        eprintln!("fake-services: unknown requests: {unknown:?}");
        std::process::exit(1);
    }
}
