//! The engine going away under a run: the time from `kill -9` or
//! `kill -STOP` of the engine (a private dockerd) to `slipway run` ending,
//! with the run mid-build, mid-readiness and mid-test; median and max of
//! ROUNDS each.
//!
//!     cargo build --release -p slipway-cli -p slipway-bench
//!     target/release/engine-loss [ROUNDS]

use std::time::{Duration, Instant};

use slipway_tests::services::PrivateEngine;
use slipway_tests::{Project, Stage};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    for frozen in [false, true] {
        for stage in [Stage::Build, Stage::Ready, Stage::Test] {
            let mut times: Vec<Duration> = (0..rounds)
                .map(|round| ends_after(stage, frozen, round))
                .collect();
            times.sort();
            let how = if frozen { "frozen" } else { "killed" };
            println!(
                "engine {how} mid-{stage:?}: the run ended after {:.2} s median, {:.2} s max",
                times[times.len() / 2].as_secs_f64(),
                times[times.len() - 1].as_secs_f64()
            );
        }
    }
}

/// How long after the engine stopped answering the run ended.
fn ends_after(stage: Stage, frozen: bool, round: usize) -> Duration {
    let mut engine = PrivateEngine::start();
    let project = Project::hello(&format!("engineloss{round}"));
    stage.apply(&project);
    let (mut live, _, _) = stage.start(&project, &[("DOCKER_HOST", &engine.host())]);
    let stopped = Instant::now();
    if frozen {
        engine.freeze();
    } else {
        engine.kill();
    }
    let code = live.wait_exit(Duration::from_secs(60));
    let took = stopped.elapsed();
    assert_eq!(code, 3, "the run should end as the engine's failure");
    took
}
