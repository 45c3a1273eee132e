//! The build step: the context streamed to the engine, the Dockerfile's
//! instructions recognised, numbered and timed as the output arrives.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::lines::{LineSplitter, Tail};
use super::{Runner, StepEnd};
use crate::context::ContextArchive;
use crate::event::{Event, LogStream};
use crate::{ErrorCode, Problem};

/// How often context progress is reported while the engine reads it.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Lines of a failing instruction's output kept for the error.
const FAILURE_LINES: usize = 30;

/// The instruction being built.
struct Current {
    number: u32,
    instruction: String,
    began: Instant,
    cached: bool,
}

pub(super) async fn run(runner: &mut Runner, step: usize) -> StepEnd {
    let spec = runner.pipeline.build.clone();
    let archive = match ContextArchive::new(&spec.context, &spec.dockerfile) {
        Ok(a) => a,
        Err(e) => {
            return StepEnd::Error(
                Problem::new(ErrorCode::BadConfig, e.to_string())
                    .with_hint("Fix the .dockerignore or the Dockerfile path in slipway.toml."),
            );
        }
    };
    let progress = archive.progress();
    let image = runner.pipeline.image.to_string();
    let options = bollard::query_parameters::BuildImageOptions {
        dockerfile: spec.dockerfile.clone(),
        t: Some(image.clone()),
        buildargs: Some(spec.args.clone().into_iter().collect()),
        target: spec.target.clone().unwrap_or_default(),
        nocache: spec.no_cache,
        rm: true,
        forcerm: true,
        labels: Some(HashMap::from([(
            super::LABEL_PROJECT.to_string(),
            runner.pipeline.project.clone(),
        )])),
        ..Default::default()
    };
    let docker = runner.engine.docker().clone();
    let mut stream = docker.build_image(
        options,
        None,
        Some(bollard::body_try_stream(archive.into_stream())),
    );

    let mut splitter = LineSplitter::default();
    let mut tail = Tail::new(FAILURE_LINES);
    let mut current: Option<Current> = None;
    let mut image_id: Option<String> = None;
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    let mut output_seen = false;
    let mut failure: Option<String> = None;

    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = ticker.tick(), if !output_seen => {
                runner.emit(Event::ContextProgress { step, files: progress.files(), bytes: progress.bytes() }).await;
                continue;
            }
        };
        let Some(item) = item else { break };
        match item {
            Ok(info) => {
                if let Some(text) = info.stream {
                    if !output_seen {
                        output_seen = true;
                        runner
                            .emit(Event::ContextProgress {
                                step,
                                files: progress.files(),
                                bytes: progress.bytes(),
                            })
                            .await;
                    }
                    for line in splitter.push(text.as_bytes()) {
                        handle_line(runner, step, &line, &mut current, &mut tail).await;
                    }
                }
                if let Some(aux) = info.aux.and_then(|a| a.id) {
                    image_id = Some(aux);
                }
                if let Some(error) = info.error_detail.and_then(|d| d.message) {
                    failure = Some(error);
                    break;
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                failure = Some(error);
                break;
            }
            Err(e) => {
                let err = runner.engine.error(e);
                return StepEnd::Error(match err {
                    crate::engine::EngineError::Api {
                        status: 400,
                        message,
                    } => Problem::new(
                        ErrorCode::BadConfig,
                        format!("the engine rejected the build: {message}"),
                    )
                    .with_hint("Check the Dockerfile and the [build] section of slipway.toml."),
                    other => other.problem(),
                });
            }
        }
    }
    if let Some(line) = splitter.finish() {
        handle_line(runner, step, &line, &mut current, &mut tail).await;
    }

    if let Some(error) = failure {
        let error = error.trim().to_string();
        let exit_code = error
            .rsplit_once("non-zero code: ")
            .and_then(|(_, code)| code.trim().parse::<i64>().ok());
        let message = match &current {
            Some(c) => format!("step {} ({}) failed: {error}", c.number, c.instruction),
            None => format!("build failed: {error}"),
        };
        let output = tail.joined();
        let message = if output.is_empty() {
            message
        } else {
            format!("{message}\n{output}")
        };
        return StepEnd::Failed { message, exit_code };
    }
    finish_instruction(runner, step, &mut current).await;

    let image_id = match image_id {
        Some(id) => id,
        None => match docker.inspect_image(&image).await {
            Ok(info) => info.id.unwrap_or(image.clone()),
            Err(e) => return StepEnd::Error(runner.engine.error(e).problem()),
        },
    };
    runner.image_id = Some(image_id.clone());
    runner.emit(Event::ImageBuilt { step, image_id }).await;
    StepEnd::Passed { exit_code: None }
}

async fn handle_line(
    runner: &Runner,
    step: usize,
    line: &str,
    current: &mut Option<Current>,
    tail: &mut Tail,
) {
    if let Some((number, total, instruction)) = parse_step(line) {
        finish_instruction(runner, step, current).await;
        tail.clear();
        *current = Some(Current {
            number,
            instruction: instruction.clone(),
            began: Instant::now(),
            cached: false,
        });
        runner
            .emit(Event::BuildStepStarted {
                step,
                number,
                total,
                instruction,
            })
            .await;
    } else if line.trim() == "---> Using cache"
        && let Some(c) = current.as_mut()
    {
        c.cached = true;
    }
    if !line.trim().is_empty() {
        tail.push(line);
    }
    runner.log(step, LogStream::Build, line.to_string()).await;
}

async fn finish_instruction(runner: &Runner, step: usize, current: &mut Option<Current>) {
    if let Some(c) = current.take() {
        runner
            .emit(Event::BuildStepFinished {
                step,
                number: c.number,
                duration_ms: c.began.elapsed().as_millis() as u64,
                cached: c.cached,
            })
            .await;
    }
}

/// Recognises the classic builder's `Step 2/5 : RUN make`.
fn parse_step(line: &str) -> Option<(u32, u32, String)> {
    let rest = line.strip_prefix("Step ")?;
    let (counts, instruction) = rest.split_once(" : ")?;
    let (n, total) = counts.split_once('/')?;
    Some((
        n.parse().ok()?,
        total.parse().ok()?,
        instruction.trim().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_step;

    #[test]
    fn recognises_classic_steps() {
        assert_eq!(
            parse_step("Step 2/5 : RUN make all"),
            Some((2, 5, "RUN make all".into()))
        );
        assert_eq!(parse_step(" ---> Running in abc"), None);
        assert_eq!(parse_step("Step x/5 : RUN"), None);
    }
}
