//! Test steps: a command in the service container (`docker exec`) or on the
//! host with the service's address in the environment. Output streams as it
//! comes; a non-zero exit fails the run with the output's last lines.

use std::process::Stdio;

use bollard::exec::{CreateExecOptions, StartExecResults};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::lines::{Tail, next_line};
use super::{Runner, StepEnd};
use crate::config::{StepPlace, TestSpec};
use crate::event::LogStream;
use crate::{ErrorCode, Problem};

/// Output lines kept for a failure message.
const FAILURE_LINES: usize = 30;

pub(super) async fn run(runner: &mut Runner, step: usize, spec: &TestSpec) -> StepEnd {
    let stamp = cache_stamp(&runner.pipeline.root, spec);
    if let Some(stamp) = &stamp
        && stamp.is_file()
    {
        let files: Vec<String> = spec.cache.iter().map(|p| p.display().to_string()).collect();
        runner
            .log(
                step,
                LogStream::Stdout,
                format!(
                    "unchanged since it last passed ({}, the command and its environment): not run again",
                    files.join(", ")
                ),
            )
            .await;
        return StepEnd::Passed { exit_code: None };
    }
    let result = match spec.place {
        StepPlace::Container => in_container(runner, step, spec).await,
        StepPlace::Host => on_host(runner, step, spec).await,
    };
    match result {
        Ok((0, _)) => {
            if let Some(stamp) = &stamp
                && let Err(e) = crate::paths::write_atomic(stamp, b"passed\n")
            {
                tracing::debug!(error = %e, "the step's cache stamp was not kept");
            }
            StepEnd::Passed { exit_code: Some(0) }
        }
        Ok((code, tail)) => {
            let mut message = format!("`{}` exited with code {code}", spec.command.display());
            if !tail.is_empty() {
                message.push('\n');
                message.push_str(&tail);
            }
            StepEnd::Failed {
                message,
                exit_code: Some(code),
            }
        }
        Err(end) => end,
    }
}

type StepOutput = Result<(i64, String), StepEnd>;

/// Where a cached host step's "passed" mark is kept: a file named by a
/// digest of the project, the command, its environment (and PATH, which
/// picks the tools) and its cache files' contents. `None` when the step is
/// not cached or there is no data folder.
fn cache_stamp(root: &std::path::Path, spec: &TestSpec) -> Option<std::path::PathBuf> {
    use sha2::{Digest, Sha256};
    if spec.cache.is_empty() || spec.place != StepPlace::Host {
        return None;
    }
    let mut digest = Sha256::new();
    let mut part = |bytes: &[u8]| {
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    };
    part(root.as_os_str().as_encoded_bytes());
    part(spec.command.display().as_bytes());
    for (k, v) in &spec.env {
        part(k.as_bytes());
        part(v.as_bytes());
    }
    part(
        std::env::var_os("PATH")
            .unwrap_or_default()
            .as_encoded_bytes(),
    );
    for file in &spec.cache {
        part(file.as_os_str().as_encoded_bytes());
        match std::fs::read(root.join(file)) {
            Ok(bytes) => part(&bytes),
            Err(_) => part(b"\0missing"),
        }
    }
    let key: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(crate::paths::data_dir()?.join("step-cache").join(key))
}

fn timed_out(spec: &TestSpec, tail: &Tail) -> StepEnd {
    let mut message = format!(
        "`{}` did not finish within {}",
        spec.command.display(),
        crate::duration::display(spec.timeout)
    );
    let output = tail.joined();
    if !output.is_empty() {
        message.push('\n');
        message.push_str(&output);
    }
    StepEnd::Failed {
        message,
        exit_code: None,
    }
}

async fn in_container(runner: &Runner, step: usize, spec: &TestSpec) -> StepOutput {
    let Some(service) = runner.service.as_ref() else {
        return Err(StepEnd::Error(Problem::new(
            ErrorCode::DockerError,
            "no running container to test in",
        )));
    };
    let exited = *service.exited.borrow();
    if let Some(code) = exited {
        return Err(StepEnd::Failed {
            message: format!("the container exited with code {code} before this step"),
            exit_code: None,
        });
    }
    let docker = runner.engine.docker();
    let options = CreateExecOptions {
        cmd: Some(spec.command.argv()),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let exec = super::engine_call("create exec", docker.create_exec(&service.id, options))
        .await
        .map_err(|e| StepEnd::Error(runner.engine.error(e).problem()))?;
    let started = super::engine_call("start exec", docker.start_exec(&exec.id, None))
        .await
        .map_err(|e| StepEnd::Error(runner.engine.error(e).problem()))?;
    let StartExecResults::Attached { mut output, .. } = started else {
        return Err(StepEnd::Error(Problem::new(
            ErrorCode::DockerError,
            "the engine detached the test command",
        )));
    };
    let mut tail = Tail::new(FAILURE_LINES);
    let read = super::lines::read_output(&mut output, None, &mut tail, |stream, lines| {
        runner.log_lines(step, stream, lines)
    });
    match tokio::time::timeout(spec.timeout, read).await {
        Err(_) => return Err(timed_out(spec, &tail)),
        Ok(Err(super::lines::OutputEnd::Engine(e))) => {
            return Err(StepEnd::Error(runner.engine.error(e).problem()));
        }
        Ok(Err(super::lines::OutputEnd::Quiet)) | Ok(Ok(())) => {}
    }
    let inspect = super::engine_call("inspect exec", docker.inspect_exec(&exec.id))
        .await
        .map_err(|e| StepEnd::Error(runner.engine.error(e).problem()))?;
    let code = inspect.exit_code.unwrap_or(-1);
    if code == 126 || code == 127 {
        tail.push(&format!(
            "(exit code {code}: the command was not found or not executable in the container)"
        ));
    }
    Ok((code, tail.joined()))
}

/// The exit code of `argv` run in container `id`, output discarded;
/// `None` when the engine could not run it.
pub(super) async fn exec_exit_code(
    engine: &crate::engine::Engine,
    id: &str,
    argv: &[String],
) -> Option<i64> {
    let docker = engine.docker();
    let options = CreateExecOptions {
        cmd: Some(argv.to_vec()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let exec = docker.create_exec(id, options).await.ok()?;
    if let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec.id, None).await.ok()?
    {
        use futures_util::StreamExt;
        while output.next().await.is_some() {}
    }
    docker.inspect_exec(&exec.id).await.ok()?.exit_code
}

async fn on_host(runner: &Runner, step: usize, spec: &TestSpec) -> StepOutput {
    let argv = spec.command.argv();
    let mut command = tokio::process::Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .current_dir(&runner.pipeline.root)
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    if let Some(port) = runner.service.as_ref().and_then(|s| s.ports.first()) {
        let host = runner.engine.published_host(&port.host_ip);
        command
            .env("SLIPWAY_URL", format!("http://{host}:{}", port.host_port))
            .env("SLIPWAY_HOST", &host)
            .env("SLIPWAY_PORT", port.host_port.to_string());
    }
    if let Some(service) = &runner.service {
        command.env("SLIPWAY_CONTAINER", &service.id);
    }
    // Each service's address on the host.
    let host = runner.engine.published_host("127.0.0.1");
    for service in &runner.services {
        let prefix = &service.env_prefix;
        command.env(format!("{prefix}_HOST"), &host);
        if let Some(port) = service.host_port {
            command.env(format!("{prefix}_PORT"), port.to_string());
        }
    }
    let mut child = command.spawn().map_err(|e| StepEnd::Failed {
        message: format!("cannot start `{}` on the host: {e}", spec.command.display()),
        exit_code: None,
    })?;
    let group = child.id();
    // Kill the whole process group when the step ends early (timeout,
    // cancellation), not just the shell.
    let _group_guard = crate::process_group::GroupGuard(group);
    let mut stdout = child.stdout.take().map(|s| BufReader::new(s).lines());
    let mut stderr = child.stderr.take().map(|s| BufReader::new(s).lines());
    let mut tail = Tail::new(FAILURE_LINES);
    let work = async {
        while stdout.is_some() || stderr.is_some() {
            let (line, stream) = tokio::select! {
                line = next_line(&mut stdout) => (line, LogStream::Stdout),
                line = next_line(&mut stderr) => (line, LogStream::Stderr),
            };
            match line {
                Some(line) => {
                    tail.push(&line);
                    runner.log(step, stream, line).await;
                }
                None if stream == LogStream::Stdout => stdout = None,
                None => stderr = None,
            }
        }
        child.wait().await
    };
    match tokio::time::timeout(spec.timeout, work).await {
        Err(_) => Err(timed_out(spec, &tail)),
        Ok(Err(e)) => Err(StepEnd::Failed {
            message: format!("waiting for `{}` failed: {e}", spec.command.display()),
            exit_code: None,
        }),
        Ok(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt;
            let code = status
                .code()
                .map(i64::from)
                .or(status.signal().map(|s| 128 + i64::from(s)))
                .unwrap_or(-1);
            Ok((code, tail.joined()))
        }
    }
}
