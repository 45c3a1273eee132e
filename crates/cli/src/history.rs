//! `slipway history`, `slipway logs` and `slipway clean`: past runs, one
//! run's steps and log, and what runs left behind.

use slipway_core::engine::Engine;
use slipway_core::store::History;
use slipway_core::{ErrorCode, Problem};

use crate::EXIT_PASSED;
use crate::render;

fn open_history() -> Result<History, Problem> {
    let history = History::open_default().map_err(|e| e.problem())?;
    if let Some(aside) = history.moved_aside() {
        eprintln!(
            "note: the history was damaged; it is kept at {} and a new one is started",
            aside.display()
        );
    }
    Ok(history)
}

pub fn history(project: Option<String>, limit: usize, json: bool) -> Result<u8, Problem> {
    let runs = open_history()?
        .list(limit, project.as_deref())
        .map_err(|e| e.problem())?;
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&runs).unwrap_or_default()
        );
    } else {
        render::history(&runs);
    }
    Ok(EXIT_PASSED)
}

pub fn logs(reference: &str, json: bool) -> Result<u8, Problem> {
    let history = open_history()?;
    let run = history
        .find(reference)
        .map_err(|e| e.problem())?
        .ok_or_else(|| {
            Problem::new(
                ErrorCode::NotFound,
                format!("no run {reference:?} in the history"),
            )
            .with_hint("`slipway history` lists the runs; pass a number like 12, or `last`.")
        })?;
    let steps = history.steps(run.seq).map_err(|e| e.problem())?;
    let (lines, dropped) = history.logs(run.seq).map_err(|e| e.problem())?;
    let tests = history.test_cases(run.seq).map_err(|e| e.problem())?;
    if json {
        let value = serde_json::json!({ "run": run, "steps": steps, "logs": lines, "dropped_lines": dropped, "test_cases": tests });
        out!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        render::logs(&run, &steps, &lines, dropped);
        render::test_cases(&tests);
    }
    Ok(EXIT_PASSED)
}

pub async fn clean(project: Option<String>, caches: bool) -> Result<u8, Problem> {
    if caches && let Some(store) = slipway_core::workflow::CacheStore::user() {
        let (count, bytes) = store.clear();
        out!(
            "emptied the cache store: {count} cache{}, {:.1} MiB",
            if count == 1 { "" } else { "s" },
            bytes as f64 / (1024.0 * 1024.0)
        );
    }
    let engine = Engine::connect().await.map_err(|e| e.problem())?;
    // A run still going in another process (its owner alive, its history
    // not finished) keeps its containers.
    let history = open_history().ok();
    let going = |run: &str, owner: Option<&str>| {
        owner.is_some_and(slipway_core::owner::is_alive)
            && history.as_ref().is_some_and(|h| {
                h.find(run).ok().flatten().is_some_and(|r| {
                    r.id.0.as_ref() == run && r.result == slipway_core::store::RunResult::Running
                })
            })
    };
    let cleaned = slipway_core::pipeline::clean(&engine, project.as_deref(), going)
        .await
        .map_err(|e| e.problem())?;
    if cleaned.removed.is_empty() {
        out!("nothing to clean");
    }
    for name in &cleaned.removed {
        out!("removed {name}");
    }
    for run in &cleaned.going {
        out!(
            "left the containers of run {} (still going; cancel it to remove them)",
            &run[run.len().saturating_sub(8)..]
        );
    }
    Ok(EXIT_PASSED)
}
