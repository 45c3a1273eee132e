//! Cancellation, Ctrl-C and a dropped run handle all leave no container.

use std::time::Duration;

use slipway_core::event::{Event, Outcome, StepKind, StepStatus};
use slipway_tests::{LiveRun, Project, Stage, containers_of_run, wait_for_containers, wait_until};

fn slow_project(name: &str) -> Project {
    let project = Project::hello(name);
    project.append_toml("[[test]]\nname = \"slow\"\nrun = \"sleep 120\"\n");
    project
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_removes_its_container() {
    let project = slow_project("cancel");
    let pipeline = slipway_core::project::pipeline(project.path()).unwrap();
    let engine = slipway_core::engine::Engine::connect().await.unwrap();
    let (handle, mut events) = slipway_core::pipeline::start(engine, pipeline.clone(), None);
    let run_id = handle.run_id().clone();
    let slow_step = slipway_core::pipeline::plan(&pipeline)
        .position_named(StepKind::Test, "slow")
        .unwrap();

    let mut saw_container = false;
    tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(ev) = events.recv().await {
            match ev.event {
                Event::ContainerStarted { .. } => saw_container = true,
                Event::StepStarted { step } if step == slow_step => break,
                _ => {}
            }
        }
    })
    .await
    .expect("the slow step should start");
    assert!(saw_container);
    assert_eq!(containers_of_run(&run_id).len(), 1);

    handle.cancel();
    let mut last = None;
    let mut cancelled_step = None;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(60), events.recv())
        .await
        .expect("events keep coming")
    {
        if let Event::StepFinished { step, status, .. } = &ev.event
            && *step == slow_step
        {
            cancelled_step = Some(*status);
        }
        last = Some(ev.event);
    }
    assert_eq!(cancelled_step, Some(StepStatus::Cancelled));
    assert!(
        matches!(
            last,
            Some(Event::RunFinished {
                outcome: Outcome::Cancelled,
                ..
            })
        ),
        "{last:?}"
    );
    assert_eq!(handle.wait().await, Outcome::Cancelled);
    assert!(containers_of_run(&run_id).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_and_events_stops_and_cleans_up() {
    let project = slow_project("dropped");
    let pipeline = slipway_core::project::pipeline(project.path()).unwrap();
    let engine = slipway_core::engine::Engine::connect().await.unwrap();
    let plan = slipway_core::pipeline::plan(&pipeline);
    assert_eq!(plan.steps().last().unwrap().kind(), StepKind::Cleanup);
    let (handle, mut events) = slipway_core::pipeline::start(engine, pipeline, None);
    let run_id = handle.run_id().clone();
    tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(ev) = events.recv().await {
            if matches!(ev.event, Event::ContainerStarted { .. }) {
                break;
            }
        }
    })
    .await
    .expect("the container should start");
    drop(events);
    drop(handle);
    let id = run_id.clone();
    tokio::task::spawn_blocking(move || {
        wait_until(
            "the dropped run's container to be removed",
            Duration::from_secs(60),
            || containers_of_run(&id).is_empty(),
        )
    })
    .await
    .unwrap();
}

/// `slipway run --json` of a slow project, once its slow step has begun.
fn start_until_slow(project: &Project) -> (LiveRun, slipway_core::event::RunId) {
    start_until_slow_with(project, &[])
}

fn start_until_slow_with(
    project: &Project,
    env: &[(&str, &str)],
) -> (LiveRun, slipway_core::event::RunId) {
    let mut live = LiveRun::start_with(project, env);
    let plan = live.wait_for("the run to start", Duration::from_secs(30), |e| {
        matches!(e.event, Event::RunStarted { .. })
    });
    let Event::RunStarted { steps, .. } = &plan.event else {
        unreachable!()
    };
    let slow = steps.iter().position(|s| s.name == "slow").unwrap();
    let run_id = plan.run_id.clone();
    live.wait_for(
        "the slow test step",
        Duration::from_secs(120),
        |e| matches!(e.event, Event::StepStarted { step } if step == slow),
    );
    (live, run_id)
}

#[test]
fn ctrl_c_cancels_the_cli_and_removes_the_container() {
    let project = slow_project("ctrlc");
    let (mut live, run_id) = start_until_slow(&project);
    // The engine may list the container a moment after the step starts.
    wait_for_containers(&run_id, 1, Duration::from_secs(10));

    live.signal("INT");
    assert_eq!(live.wait_exit(Duration::from_secs(60)), 130);
    let events = live.drain();
    let last = &events.last().unwrap().event;
    assert!(
        matches!(
            last,
            Event::RunFinished {
                outcome: Outcome::Cancelled,
                ..
            }
        ),
        "{last:?}"
    );
    assert!(containers_of_run(&run_id).is_empty());
}

#[test]
fn a_killed_run_is_finished_by_the_next_command() {
    let project = slow_project("killed");
    let history = |project: &Project| {
        let out = project.slipway(&["history", "--json"]).output().unwrap();
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (runs, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (mut live, run_id) = start_until_slow(&project);
    wait_for_containers(&run_id, 1, Duration::from_secs(10));

    // A run going on in another process is left alone.
    let (runs, note) = history(&project);
    assert_eq!(runs[0]["result"], "running", "{runs}");
    assert!(!note.contains("interrupted"), "{note}");
    assert_eq!(containers_of_run(&run_id).len(), 1);

    live.signal("KILL");
    live.wait_exit(Duration::from_secs(30));
    assert_eq!(containers_of_run(&run_id).len(), 1, "kill -9 leaves it");

    // The next command finishes it, and says so once.
    let (runs, note) = history(&project);
    assert!(
        note.contains("was interrupted")
            && note.contains("(during slow)")
            && note.contains("removed 1 container"),
        "{note}"
    );
    assert_eq!(runs[0]["result"], "interrupted", "{runs}");
    assert_eq!(runs[0]["failed_step"], "slow");
    assert!(containers_of_run(&run_id).is_empty());
    let (_, again) = history(&project);
    assert!(!again.contains("interrupted"), "{again}");
}

#[test]
fn a_container_kept_on_purpose_is_not_reaped() {
    let project = Project::hello("keptonpurpose");
    let toml = format!("cleanup = \"never\"\n{}", project.read("slipway.toml"));
    project.write("slipway.toml", &toml);
    let run = project.run_json(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(containers_of_run(&run.run_id()).len(), 1);
    let out = project.slipway(&["history"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(containers_of_run(&run.run_id()).len(), 1, "kept, as asked");
    let clean = project
        .slipway(&[
            "clean",
            "--project",
            &slipway_core::config::default_name(project.path()),
        ])
        .output()
        .unwrap();
    assert!(clean.status.success());
    assert!(containers_of_run(&run.run_id()).is_empty());
}

/// How the engine goes away.
#[derive(Clone, Copy, Debug)]
enum Loss {
    Killed,
    Frozen,
}

/// The engine (a dockerd of the test's own) is killed or frozen while a
/// run is at `stage`: the run ends within 10 s with one sentence naming the
/// engine, the history keeps it, and with the engine back the next command
/// reaps what it left and the next run passes.
fn engine_goes_away(name: &str, stage: Stage, loss: Loss) {
    let mut engine = slipway_tests::services::PrivateEngine::start();
    let host = engine.host();
    let project = Project::hello(name);
    let unchanged = (project.read("Dockerfile"), project.read("slipway.toml"));
    stage.apply(&project);
    let (mut live, run_id, lingering) = stage.start(&project, &[("DOCKER_HOST", &host)]);
    let expected = usize::from(lingering);
    wait_until("the run's container", Duration::from_secs(10), || {
        engine_containers(&engine, &run_id).len() == expected
    });

    let stopped = std::time::Instant::now();
    match loss {
        Loss::Killed => engine.kill(),
        Loss::Frozen => engine.freeze(),
    }
    let code = live.wait_exit(Duration::from_secs(10));
    eprintln!(
        "{stage:?}, {loss:?}: the run ended {:?} after the engine stopped answering",
        stopped.elapsed()
    );
    assert_eq!(code, 3, "exit code");
    let events = live.drain();
    let Some(Event::RunFinished {
        outcome: Outcome::Error { problem, .. },
        ..
    }) = events.last().map(|e| &e.event)
    else {
        panic!("{:?}", events.last());
    };
    // One sentence naming the engine: the watchdog's, or the step's own
    // when its connection broke first.
    assert!(
        problem
            .message
            .contains(&format!("Docker engine at {host}"))
            && !problem.message.contains('\n'),
        "{}",
        problem.message
    );
    let history = || {
        let out = project
            .slipway(&["history", "--json"])
            .env("DOCKER_HOST", &host)
            .output()
            .unwrap();
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (runs, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (runs, _) = history();
    assert_eq!(runs[0]["result"], "error", "{runs}");

    // The engine back: the next command reaps what the run left.
    engine.resume();
    let (_, note) = history();
    if expected > 0 {
        assert!(note.contains("removed 1 container"), "{note}");
    }
    assert!(engine_containers(&engine, &run_id).is_empty());
    project.write("Dockerfile", &unchanged.0);
    project.write("slipway.toml", &unchanged.1);
    let next = project.run_json(&[("DOCKER_HOST", &host)]);
    assert_eq!(next.code, 0, "{}", next.stderr);
}

/// The run's containers on a private engine.
fn engine_containers(
    engine: &slipway_tests::services::PrivateEngine,
    run_id: &slipway_core::event::RunId,
) -> Vec<String> {
    engine.containers_labelled(slipway_core::pipeline::LABEL_RUN, &run_id.0)
}

#[test]
fn an_engine_killed_mid_build_ends_the_run() {
    engine_goes_away("killedbuild", Stage::Build, Loss::Killed);
}

#[test]
fn an_engine_frozen_mid_build_ends_the_run() {
    engine_goes_away("frozenbuild", Stage::Build, Loss::Frozen);
}

#[test]
fn an_engine_killed_mid_readiness_ends_the_run_and_the_next_run_reaps_it() {
    engine_goes_away("killedready", Stage::Ready, Loss::Killed);
}

#[test]
fn an_engine_frozen_mid_readiness_ends_the_run_and_the_next_run_reaps_it() {
    engine_goes_away("frozenready", Stage::Ready, Loss::Frozen);
}

#[test]
fn an_engine_killed_mid_test_ends_the_run_and_the_next_run_reaps_it() {
    engine_goes_away("killedtest", Stage::Test, Loss::Killed);
}

#[test]
fn an_engine_frozen_mid_test_ends_the_run_and_the_next_run_reaps_it() {
    engine_goes_away("frozentest", Stage::Test, Loss::Frozen);
}

#[test]
fn the_verdict_comes_before_cleanup_and_stays_if_the_process_dies_after_it() {
    let project = Project::hello("verdictfirst");
    let history = |project: &Project| {
        let out = project.slipway(&["history", "--json"]).output().unwrap();
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        runs
    };
    let mut live = LiveRun::start(&project);
    let verdict = live.wait_for("the verdict", Duration::from_secs(120), |e| {
        matches!(e.event, Event::Verdict { .. })
    });
    // Stopped at once: the run is past its verdict, its cleanup not told done.
    live.signal("STOP");
    let Event::RunStarted { steps, .. } = &live.seen[0].event else {
        panic!("{:?}", live.seen[0])
    };
    let cleanup = steps
        .iter()
        .position(|s| s.kind == StepKind::Cleanup)
        .unwrap();
    assert!(
        !live
            .seen
            .iter()
            .any(|e| matches!(e.event, Event::StepStarted { step } if step == cleanup)),
        "cleanup started before the verdict: {:#?}",
        live.seen
    );
    assert!(matches!(
        verdict.event,
        Event::Verdict {
            outcome: Outcome::Passed,
            ..
        }
    ));
    // The history has the result before cleanup is done...
    let runs = history(&project);
    assert_eq!(runs[0]["result"], "passed", "{runs}");
    // ...and keeps it when the process dies during cleanup; nothing is left.
    live.signal("KILL");
    live.wait_exit(Duration::from_secs(30));
    let runs = history(&project);
    assert_eq!(runs[0]["result"], "passed", "{runs}");
    // Removed by the next command, or by the engine finishing a removal
    // the run had asked for.
    wait_until("the run's containers gone", Duration::from_secs(10), || {
        containers_of_run(&verdict.run_id).is_empty()
    });
}
