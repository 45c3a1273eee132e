//! The fake GitHub and CircleCI as a process, for the desktop tests.
//!
//!     fake-services [--github TOKEN=LOGIN[:SCOPES]]... [--circleci TOKEN=LOGIN]...
//!
//! Prints its base URL on the first line, serves until stdin closes, then
//! exits 1 if it got a request it does not know (and lists them).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test tool: a bad argument is a failed test.

use std::io::Read;

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
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    let unknown = fake.unknown();
    eprintln!("fake-services: {} requests", fake.requests().len());
    if !unknown.is_empty() {
        eprintln!("fake-services: unknown requests: {unknown:?}");
        std::process::exit(1);
    }
}
