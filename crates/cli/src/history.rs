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
    let removed = slipway_core::pipeline::clean(&engine, project.as_deref())
        .await
        .map_err(|e| e.problem())?;
    if removed.is_empty() {
        out!("nothing to clean");
    } else {
        for name in &removed {
            out!("removed {name}");
        }
    }
    Ok(EXIT_PASSED)
}
