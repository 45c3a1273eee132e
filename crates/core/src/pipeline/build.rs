//! The build step: the context streamed to the engine, the Dockerfile's
//! instructions recognised, numbered and timed as the output arrives.
//!
//! BuildKit is used when the engine offers it (its progress arrives as
//! vertexes named `[2/5] RUN make`); otherwise, or when the pipeline asks
//! for it, the classic builder (`Step 2/5 : RUN make`). Both end up as the
//! same events.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::moby::buildkit::v1::StatusResponse;
use bollard::models::BuildInfoAux;
use bollard::query_parameters::{BuildImageOptions, BuilderVersion};
use futures_util::StreamExt;

use super::lines::{LineSplitter, Tail};
use super::{Runner, StepEnd};
use crate::config::Builder;
use crate::context::ContextArchive;
use crate::event::{Event, LogStream};
use crate::{ErrorCode, Problem};

/// How often context progress is reported while the engine reads it.
/// Label holding the commit an image was built from (with [`DIRTY_SUFFIX`]
/// when the work tree had uncommitted changes).
pub const LABEL_COMMIT: &str = "dev.slipway.commit";
/// Marks a [`LABEL_COMMIT`] built from uncommitted changes.
pub const DIRTY_SUFFIX: &str = "+dirty";

/// The [`LABEL_COMMIT`] value for a build of this work tree.
pub(super) fn commit_label(git: &crate::event::GitInfo) -> String {
    match git.dirty {
        true => format!("{}{DIRTY_SUFFIX}", git.commit),
        false => git.commit.clone(),
    }
}

const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Lines of a failing instruction's output kept for the error.
const FAILURE_LINES: usize = 30;

pub(super) async fn run(runner: &mut Runner, step: usize) -> StepEnd {
    // The .dockerignore and the Dockerfile, read once for all that follows.
    let spec = &runner.pipeline.build;
    let archive = match ContextArchive::new(&spec.context, &spec.dockerfile) {
        Ok(a) => a,
        Err(e) => return StepEnd::Error(e.problem()),
    };
    let dockerfile = std::fs::read_to_string(spec.context.join(&spec.dockerfile)).ok();
    runner.inputs = match &dockerfile {
        Some(text) => super::reuse::inputs(runner, &archive, text).await,
        None => None,
    };
    if let Some(end) = reuse(runner, step).await {
        return end;
    }
    let wanted = runner.pipeline.build.builder;
    // With the Dockerfile or .dockerignore left out by .dockerignore, only
    // the classic builder keeps them out of the image, as `docker build`
    // does; unless the Dockerfile needs BuildKit.
    let excludes_build_files = wanted == Builder::Auto
        && archive.excludes_build_files()
        && dockerfile.is_some_and(|text| !needs_buildkit(&text));
    let first = if wanted == Builder::Classic || excludes_build_files {
        Builder::Classic
    } else {
        Builder::Buildkit
    };
    match build_with(runner, step, first, archive.again()).await {
        Attempted::Done(end) => end,
        Attempted::Unsupported(reason) if wanted == Builder::Auto => {
            runner
                .log(step, LogStream::Build, format!("BuildKit is not available on this engine ({reason}); using the classic builder"))
                .await;
            match build_with(runner, step, Builder::Classic, archive.again()).await {
                Attempted::Done(end) => end,
                Attempted::Unsupported(reason) => {
                    StepEnd::Error(Problem::new(ErrorCode::DockerError, reason))
                }
            }
        }
        Attempted::Unsupported(reason) => StepEnd::Error(
            Problem::new(
                ErrorCode::DockerError,
                format!("the engine cannot build with BuildKit: {reason}"),
            )
            .with_hint("Set `builder = \"classic\"` (or \"auto\") under [build] in slipway.toml."),
        ),
    }
}

/// Whether a Dockerfile uses what only BuildKit builds: a `# syntax`
/// line, `--mount`, `--link`, `--chmod` on COPY/ADD, or a here-document.
fn needs_buildkit(dockerfile: &str) -> bool {
    dockerfile.lines().any(|line| {
        let line = line.trim_start();
        let lower = line.to_ascii_lowercase();
        lower.starts_with("# syntax=")
            || lower.starts_with("#syntax=")
            || (!line.starts_with('#')
                && ["--mount", "--link", "--chmod", "--exclude", "<<"]
                    .iter()
                    .any(|flag| line.contains(flag)))
    })
}

/// The image as it is, when it was built from these very inputs.
async fn reuse(runner: &mut Runner, step: usize) -> Option<StepEnd> {
    let inputs = runner.inputs.clone()?;
    let image = runner.pipeline.image.to_string();
    let info = super::engine_call(
        "inspect image",
        runner.engine.docker().inspect_image(&image),
    )
    .await
    .ok()?;
    let labels = info.config.as_ref()?.labels.as_ref()?;
    if labels.get(super::reuse::LABEL_INPUTS) != Some(&inputs) {
        return None;
    }
    let image_id = info.id?;
    runner
        .log(
            step,
            LogStream::Build,
            format!(
                "unchanged since {image} was built ({}): the context, the base images and the options are the same, so it is used as is",
                image_id.trim_start_matches("sha256:").get(..12).unwrap_or(&image_id)
            ),
        )
        .await;
    runner.image_id = Some(image_id.clone());
    runner.emit(Event::ImageBuilt { step, image_id }).await;
    Some(StepEnd::Passed { exit_code: None })
}

enum Attempted {
    Done(StepEnd),
    /// The engine refused before building anything: try another builder.
    Unsupported(String),
}

/// One Dockerfile instruction being built.
#[derive(Debug)]
struct Instruction {
    number: u32,
    text: String,
    began: Instant,
    cached: bool,
    done: bool,
}

/// What the build has shown so far, whichever builder produced it.
struct BuildOutput {
    step: usize,
    /// Classic: the instruction in progress. BuildKit: by vertex digest.
    current: Option<Instruction>,
    vertexes: HashMap<String, Instruction>,
    /// Output lines per vertex (BuildKit) or of the current step (classic).
    tails: HashMap<String, Tail>,
    splitters: HashMap<String, LineSplitter>,
    image_id: Option<String>,
    failure: Option<(String, Option<String>)>,
    saw_progress: bool,
}

impl BuildOutput {
    fn new(step: usize) -> Self {
        BuildOutput {
            step,
            current: None,
            vertexes: HashMap::new(),
            tails: HashMap::new(),
            splitters: HashMap::new(),
            image_id: None,
            failure: None,
            saw_progress: false,
        }
    }

    fn tail(&mut self, key: &str) -> &mut Tail {
        self.tails
            .entry(key.to_string())
            .or_insert_with(|| Tail::new(FAILURE_LINES))
    }

    /// A line of the classic builder.
    async fn classic_line(&mut self, runner: &Runner, line: String) {
        if let Some((number, total, text)) = parse_classic_step(&line) {
            self.finish_classic(runner).await;
            self.tail("").clear();
            runner
                .emit(Event::BuildStepStarted {
                    step: self.step,
                    number,
                    total,
                    instruction: text.clone(),
                })
                .await;
            self.current = Some(Instruction {
                number,
                text,
                began: Instant::now(),
                cached: false,
                done: false,
            });
        } else if line.trim() == "---> Using cache"
            && let Some(c) = self.current.as_mut()
        {
            c.cached = true;
        }
        if !line.trim().is_empty() {
            self.tail("").push(&line);
        }
        runner.log(self.step, LogStream::Build, line).await;
    }

    async fn finish_classic(&mut self, runner: &Runner) {
        if let Some(c) = self.current.take() {
            let duration_ms = c.began.elapsed().as_millis() as u64;
            runner
                .emit(Event::BuildStepFinished {
                    step: self.step,
                    number: c.number,
                    duration_ms,
                    cached: c.cached,
                })
                .await;
        }
    }

    /// A BuildKit status update.
    async fn buildkit_status(&mut self, runner: &Runner, status: StatusResponse) {
        self.saw_progress = true;
        for vertex in status.vertexes {
            let parsed = parse_buildkit_step(&vertex.name);
            let known = self.vertexes.contains_key(&vertex.digest);
            if !known && vertex.started.is_some() {
                runner
                    .log(self.step, LogStream::Build, format!("#  {}", vertex.name))
                    .await;
                if let Some((number, total, text)) = &parsed {
                    runner
                        .emit(Event::BuildStepStarted {
                            step: self.step,
                            number: *number,
                            total: *total,
                            instruction: text.clone(),
                        })
                        .await;
                }
                let (number, _, text) = parsed.clone().unwrap_or((0, 0, vertex.name.clone()));
                self.vertexes.insert(
                    vertex.digest.clone(),
                    Instruction {
                        number,
                        text,
                        began: Instant::now(),
                        cached: false,
                        done: false,
                    },
                );
            }
            if let Some(instr) = self.vertexes.get_mut(&vertex.digest) {
                instr.cached |= vertex.cached;
                if !instr.done && (vertex.completed.is_some() || !vertex.error.is_empty()) {
                    instr.done = true;
                    let duration_ms = match (&vertex.started, &vertex.completed) {
                        (Some(s), Some(c)) => ((c.seconds - s.seconds) * 1000
                            + i64::from(c.nanos - s.nanos) / 1_000_000)
                            .max(0) as u64,
                        _ => instr.began.elapsed().as_millis() as u64,
                    };
                    if instr.number > 0 {
                        runner
                            .emit(Event::BuildStepFinished {
                                step: self.step,
                                number: instr.number,
                                duration_ms,
                                cached: instr.cached,
                            })
                            .await;
                    }
                }
            }
            if !vertex.error.is_empty() && self.failure.is_none() {
                self.failure = Some((vertex.error.clone(), Some(vertex.digest.clone())));
            }
        }
        for log in status.logs {
            let lines = self
                .splitters
                .entry(log.vertex.clone())
                .or_default()
                .push(&log.msg);
            let tail = self.tail(&log.vertex);
            for line in &lines {
                tail.push(line);
            }
            let stream = if log.stream == 2 {
                LogStream::Stderr
            } else {
                LogStream::Build
            };
            runner.log_lines(self.step, stream, lines).await;
        }
    }

    /// The failure as a step result, naming the instruction and its output.
    fn failed(&mut self, error: String, vertex: Option<String>) -> StepEnd {
        let error = error.trim().to_string();
        let exit_code = ["non-zero code: ", "exit code: "]
            .iter()
            .find_map(|marker| error.rsplit_once(marker))
            .and_then(|(_, code)| {
                code.trim()
                    .trim_end_matches(|c: char| !c.is_ascii_digit())
                    .parse::<i64>()
                    .ok()
            });
        let (instruction, key) = match &vertex {
            Some(digest) => (
                self.vertexes
                    .get(digest)
                    .filter(|i| i.number > 0)
                    .map(|i| (i.number, i.text.clone())),
                digest.clone(),
            ),
            None => (
                self.current.as_ref().map(|c| (c.number, c.text.clone())),
                String::new(),
            ),
        };
        let message = match instruction {
            Some((number, text)) => format!("step {number} ({text}) failed: {error}"),
            None => format!("build failed: {error}"),
        };
        let output = self.tails.get(&key).map(Tail::joined).unwrap_or_default();
        let message = if output.is_empty() {
            message
        } else {
            format!("{message}\n{output}")
        };
        StepEnd::Failed { message, exit_code }
    }
}

async fn build_with(
    runner: &mut Runner,
    step: usize,
    builder: Builder,
    archive: ContextArchive,
) -> Attempted {
    let spec = runner.pipeline.build.clone();
    let progress = archive.progress();
    // A file that could not be read breaks the stream: that, not the
    // engine's view of it, is what the user is told.
    let unread = archive.failure();
    let image = runner.pipeline.image.to_string();
    let buildkit = builder != Builder::Classic;
    let options = BuildImageOptions {
        dockerfile: spec.dockerfile.clone(),
        t: Some(image.clone()),
        buildargs: Some(spec.args.clone().into_iter().collect()),
        target: spec.target.clone().unwrap_or_default(),
        nocache: spec.no_cache,
        rm: true,
        forcerm: true,
        labels: Some(
            [(super::LABEL_PROJECT, Some(runner.pipeline.project.clone()))]
                .into_iter()
                .chain([
                    (LABEL_COMMIT, runner.commit.clone()),
                    (super::reuse::LABEL_INPUTS, runner.inputs.clone()),
                ])
                .filter_map(|(k, v)| Some((k.to_string(), v?)))
                .collect::<HashMap<_, _>>(),
        ),
        version: if buildkit {
            BuilderVersion::BuilderBuildKit
        } else {
            BuilderVersion::BuilderV1
        },
        session: buildkit.then(|| format!("slipway-{}", runner.out.run_id)),
        ..Default::default()
    };
    let docker = runner.engine.docker().clone();
    let mut stream = docker.build_image(
        options,
        None,
        Some(bollard::body_try_stream(archive.into_stream())),
    );

    let mut out = BuildOutput::new(step);
    let mut classic_lines = LineSplitter::default();
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    let mut output_seen = false;

    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = ticker.tick(), if !output_seen => {
                runner.emit(Event::ContextProgress { step, files: progress.files(), bytes: progress.bytes() }).await;
                continue;
            }
        };
        let Some(item) = item else { break };
        if let (Err(_), Some(e)) = (&item, unread.take()) {
            return Attempted::Done(StepEnd::Error(e.problem()));
        }
        let info = match item {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                if buildkit && !out.saw_progress {
                    return Attempted::Unsupported(error);
                }
                let vertex = out.failure.take().and_then(|(_, v)| v);
                return Attempted::Done(out.failed(error, vertex));
            }
            Err(e) => {
                let err = runner.engine.error(e);
                if let crate::engine::EngineError::Api { status, message } = &err {
                    if buildkit && !out.saw_progress && (400..500).contains(status) {
                        return Attempted::Unsupported(message.clone());
                    }
                    if *status == 400 {
                        return Attempted::Done(StepEnd::Error(
                            Problem::new(
                                ErrorCode::BadConfig,
                                format!("the engine rejected the build: {message}"),
                            )
                            .with_hint(
                                "Check the Dockerfile and the [build] section of slipway.toml.",
                            ),
                        ));
                    }
                }
                if buildkit
                    && !out.saw_progress
                    && matches!(err, crate::engine::EngineError::Client(_))
                {
                    return Attempted::Unsupported(err.to_string());
                }
                return Attempted::Done(StepEnd::Error(err.problem()));
            }
        };
        if !output_seen && (info.stream.is_some() || info.aux.is_some()) {
            output_seen = true;
            runner
                .emit(Event::ContextProgress {
                    step,
                    files: progress.files(),
                    bytes: progress.bytes(),
                })
                .await;
        }
        if let Some(text) = info.stream {
            out.saw_progress = true;
            for line in classic_lines.push(text.as_bytes()) {
                out.classic_line(runner, line).await;
            }
        }
        match info.aux {
            Some(BuildInfoAux::BuildKit(status)) => out.buildkit_status(runner, status).await,
            Some(BuildInfoAux::Default(id)) => {
                if let Some(id) = id.id {
                    out.image_id = Some(id);
                }
            }
            None => {}
        }
    }
    if let Some(e) = unread.take() {
        return Attempted::Done(StepEnd::Error(e.problem()));
    }
    if let Some(line) = classic_lines.finish() {
        out.classic_line(runner, line).await;
    }
    if let Some((error, vertex)) = out.failure.take() {
        return Attempted::Done(out.failed(error, vertex));
    }
    out.finish_classic(runner).await;

    let image_id = match out.image_id {
        Some(id) => id,
        None => match super::engine_call("inspect image", docker.inspect_image(&image)).await {
            Ok(info) => info.id.unwrap_or(image.clone()),
            Err(e) => return Attempted::Done(StepEnd::Error(runner.engine.error(e).problem())),
        },
    };
    runner.image_id = Some(image_id.clone());
    runner.emit(Event::ImageBuilt { step, image_id }).await;
    Attempted::Done(StepEnd::Passed { exit_code: None })
}

/// Recognises the classic builder's `Step 2/5 : RUN make`.
fn parse_classic_step(line: &str) -> Option<(u32, u32, String)> {
    let rest = line.strip_prefix("Step ")?;
    let (counts, instruction) = rest.split_once(" : ")?;
    let (n, total) = counts.split_once('/')?;
    Some((
        n.parse().ok()?,
        total.parse().ok()?,
        instruction.trim().to_string(),
    ))
}

/// Recognises BuildKit's `[2/5] RUN make` and `[stage 2/5] RUN make`.
fn parse_buildkit_step(name: &str) -> Option<(u32, u32, String)> {
    let rest = name.strip_prefix('[')?;
    let (counts, instruction) = rest.split_once("] ")?;
    let counts = counts.rsplit(' ').next()?;
    let (n, total) = counts.split_once('/')?;
    Some((
        n.parse().ok()?,
        total.parse().ok()?,
        instruction.trim().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::{parse_buildkit_step, parse_classic_step};

    #[test]
    fn buildkit_only_dockerfiles_are_told_apart() {
        assert!(super::needs_buildkit(
            "# syntax=docker/dockerfile:1\nFROM x\n"
        ));
        assert!(super::needs_buildkit(
            "FROM x\nRUN --mount=type=cache,target=/c make\n"
        ));
        assert!(super::needs_buildkit("FROM x\nCOPY --link a /a\n"));
        assert!(!super::needs_buildkit(
            "FROM x\n# uses --mount one day\nCOPY a /a\n"
        ));
        assert!(!super::needs_buildkit(
            "FROM scratch\nCOPY busybox /bin/busybox\n"
        ));
    }

    #[test]
    fn recognises_classic_steps() {
        assert_eq!(
            parse_classic_step("Step 2/5 : RUN make all"),
            Some((2, 5, "RUN make all".into()))
        );
        assert_eq!(parse_classic_step(" ---> Running in abc"), None);
        assert_eq!(parse_classic_step("Step x/5 : RUN"), None);
    }

    #[test]
    fn recognises_buildkit_steps() {
        assert_eq!(
            parse_buildkit_step("[2/5] RUN make"),
            Some((2, 5, "RUN make".into()))
        );
        assert_eq!(
            parse_buildkit_step("[builder 3/4] COPY . ."),
            Some((3, 4, "COPY . .".into()))
        );
        assert_eq!(parse_buildkit_step("[internal] load .dockerignore"), None);
        assert_eq!(parse_buildkit_step("exporting to image"), None);
    }
}
