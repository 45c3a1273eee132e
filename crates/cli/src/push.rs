//! `slipway push`: the image the pipeline built, pushed to the project's
//! registry under the tags of its `[push]` scheme, layer by layer.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use slipway_core::engine::Engine;
use slipway_core::push::{self, LayerState, PushEvent};
use slipway_core::{ErrorCode, Problem};

use crate::EXIT_PASSED;

pub async fn run(dir: &Path, tag: Option<String>, json: bool) -> Result<u8, Problem> {
    let pipeline = slipway_core::project::pipeline(dir).map_err(|e| e.problem())?;
    let engine = Engine::connect().await.map_err(|e| e.problem())?;
    let plan = push::plan(&engine, &pipeline, tag.as_deref())
        .await
        .map_err(|mut problem| {
            // Refusals of the tag scheme: a tag of the user's choice still works.
            let scheme = problem.code == ErrorCode::Conflict
                || problem.message.starts_with("no tag to push");
            if tag.is_none() && scheme {
                let hint = problem.hint.take().unwrap_or_default();
                problem = problem.with_hint(format!(
                    "{hint} Or push under a tag of your choice with --tag."
                ));
            }
            problem
        })?;
    let credentials = push::credentials(&plan.registry).await?;
    if json {
        out!("{}", serde_json::json!({ "kind": "plan", "plan": plan }));
    } else {
        eprintln!(
            "pushing {} to {} as {}{}",
            plan.image,
            plan.repository,
            plan.tags.join(", "),
            credentials
                .as_ref()
                .map(|c| format!(" (signed in as {})", c.username))
                .unwrap_or_default()
        );
        for note in &plan.notes {
            eprintln!("  not tagged {note}");
        }
    }
    let mut view = LayerView::new(json);
    let report = push::push(&engine, &plan, credentials.as_ref(), |event| {
        view.show(&event)
    })
    .await;
    view.finish();
    let report = report?;
    if json {
        out!(
            "{}",
            serde_json::json!({ "kind": "report", "report": report })
        );
    } else {
        for tag in &report.tags {
            out!("pushed {}:{}  {}", report.repository, tag.tag, tag.digest);
        }
        eprintln!(
            "{} layer{} uploaded, {} already there, in {:.1} s",
            report.uploaded,
            if report.uploaded == 1 { "" } else { "s" },
            report.existing,
            report.ms as f64 / 1000.0
        );
    }
    Ok(EXIT_PASSED)
}

/// Each layer's progress: a bar per layer on a terminal, a line per
/// change of state otherwise, a JSON line per event with `--json`.
struct LayerView {
    json: bool,
    bars: Option<MultiProgress>,
    layers: BTreeMap<String, (LayerState, Option<ProgressBar>)>,
}

impl LayerView {
    fn new(json: bool) -> Self {
        let bars = (!json && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        LayerView {
            json,
            bars,
            layers: BTreeMap::new(),
        }
    }

    fn show(&mut self, event: &PushEvent) {
        if self.json {
            out!("{}", serde_json::to_string(event).unwrap_or_default());
            return;
        }
        match event {
            PushEvent::Tag { tag } => {
                self.finish();
                self.layers.clear();
                eprintln!("{tag}:");
            }
            PushEvent::Layer {
                id,
                state,
                current,
                total,
            } => self.layer(id, *state, *current, *total),
            PushEvent::Status { text } => eprintln!("  {text}"),
            PushEvent::Pushed { .. } => {}
        }
    }

    fn layer(&mut self, id: &str, state: LayerState, current: u64, total: u64) {
        let word = word(state);
        let Some(bars) = &self.bars else {
            let changed = self.layers.get(id).map(|(s, _)| *s) != Some(state);
            if changed {
                self.layers.insert(id.to_string(), (state, None));
                eprintln!("  {id} {word}");
            }
            return;
        };
        let entry = self.layers.entry(id.to_string()).or_insert_with(|| {
            let bar = bars.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template(
                    "  {prefix} {msg:<20} {wide_bar} {bytes}/{total_bytes}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_prefix(id.to_string());
            (state, Some(bar))
        });
        entry.0 = state;
        if let Some(bar) = &entry.1 {
            bar.set_message(word);
            if total > 0 {
                bar.set_length(total);
                bar.set_position(current.min(total));
            }
            if state.is_done() {
                bar.set_position(bar.length().unwrap_or(0));
            }
        }
    }

    fn finish(&mut self) {
        for (_, bar) in self.layers.values() {
            if let Some(bar) = bar {
                bar.finish();
            }
        }
    }
}

fn word(state: LayerState) -> &'static str {
    match state {
        LayerState::Preparing => "preparing",
        LayerState::Waiting => "waiting",
        LayerState::Pushing => "pushing",
        LayerState::Pushed => "pushed",
        LayerState::Exists => "already there",
        LayerState::Retrying => "retrying",
    }
}
