//! The service container: created with the run's labels, its ports
//! published, its logs followed, its exit watched; removed at cleanup or by
//! `slipway clean`.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, LogsOptions, RemoveContainerOptions,
};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::lines::{LineSplitter, ReadPace};
use super::{Runner, Service, StepEnd};
use crate::engine::{Engine, EngineError};
use crate::event::{Event, LogStream, PublishedPort, StepStatus};
use crate::{ErrorCode, Problem};

/// Label holding the run id on every container a run creates.
pub const LABEL_RUN: &str = "dev.slipway.run";
/// Label holding the project name.
pub const LABEL_PROJECT: &str = "dev.slipway.project";
/// Label holding the project folder.
pub const LABEL_ROOT: &str = "dev.slipway.root";
/// Label holding the process that owns the run ([`crate::owner`]).
pub const LABEL_OWNER: &str = "dev.slipway.owner";

pub(super) async fn start(runner: &mut Runner, step: usize) -> StepEnd {
    let spec = runner.pipeline.run.clone();
    if runner.engine.endpoint().host.starts_with("unix://")
        && let Some(problem) = first_taken_port(&spec.ports)
    {
        return StepEnd::Error(problem);
    }
    let image = runner
        .image_id
        .clone()
        .unwrap_or_else(|| runner.pipeline.image.to_string());
    let name = format!(
        "slipway-{}-{}",
        runner.pipeline.project.replace('/', "-"),
        runner.out.run_id.short()
    );
    let mut bindings: HashMap<String, Vec<PortBinding>> = HashMap::new();
    for p in &spec.ports {
        bindings
            .entry(format!("{}/tcp", p.container_port))
            .or_default()
            .push(PortBinding {
                host_ip: Some(p.host_ip.clone()),
                host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
            });
    }
    let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = bindings
        .into_iter()
        .map(|(port, b)| (port, Some(b)))
        .collect();
    let labels = run_labels(runner);
    let mut env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for (name, id) in &spec.secrets {
        match crate::secrets::Secrets::os().get(id.clone()).await {
            Ok(secret) => env.push(format!("{name}={}", secret.expose())),
            Err(e) => {
                let mut problem = e.problem();
                problem.message = format!("{} ([run.secrets] {name} needs it)", problem.message);
                return StepEnd::Error(problem);
            }
        }
    }
    let body = ContainerCreateBody {
        image: Some(image),
        env: Some(env),
        cmd: spec.command.clone(),
        labels: Some(labels),
        exposed_ports: Some(port_bindings.keys().cloned().collect()),
        host_config: Some(HostConfig {
            port_bindings: Some(port_bindings),
            // On the run's network, the services answer by their names.
            network_mode: runner.network.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let docker = runner.engine.docker().clone();
    let created = match super::engine_call(
        "create container",
        docker.create_container(
            Some(CreateContainerOptions {
                name: Some(name.clone()),
                ..Default::default()
            }),
            body,
        ),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            let err = runner.engine.error(e);
            return StepEnd::Error(image_problem(&err).unwrap_or_else(|| err.problem()));
        }
    };
    let id = created.id;
    runner.containers.push(id.clone());

    if let Err(e) = super::engine_call("start container", docker.start_container(&id, None)).await {
        let err = runner.engine.error(e);
        return StepEnd::Error(
            port_problem(&err)
                .or_else(|| image_problem(&err))
                .unwrap_or_else(|| err.problem()),
        );
    }

    let (exit_tx, exit_rx) = watch::channel(None);
    runner.background.push(tokio::spawn(watch_exit(
        docker.clone(),
        id.clone(),
        exit_tx,
    )));
    runner.background.push(tokio::spawn(follow_logs(
        docker.clone(),
        id.clone(),
        runner.out.clone(),
        step,
    )));

    let ports =
        match super::engine_call("inspect container", docker.inspect_container(&id, None)).await {
            Ok(info) => published_ports(&info),
            Err(e) => return StepEnd::Error(runner.engine.error(e).problem()),
        };
    let url = ports.first().map(|p| {
        format!(
            "http://{}:{}",
            runner.engine.published_host(&p.host_ip),
            p.host_port
        )
    });
    runner.service = Some(Service {
        id: id.clone(),
        ports: ports.clone(),
        exited: exit_rx,
    });
    runner
        .emit(Event::ContainerStarted {
            step,
            container_id: id,
            name,
            ports,
            url,
        })
        .await;
    StepEnd::Passed { exit_code: None }
}

/// Removes the networks run `run` created (its services'); what is still
/// in use stays.
pub async fn remove_networks_of(engine: &Engine, run: &str) {
    let options = bollard::query_parameters::ListNetworksOptions {
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_RUN}={run}")],
        )])),
    };
    let Ok(networks) = engine.docker().list_networks(Some(options)).await else {
        return;
    };
    for network in networks {
        let Some(name) = network.name else { continue };
        if let Err(e) = engine.docker().remove_network(&name).await {
            tracing::warn!(network = %name, error = %e, "could not remove a run's network");
        }
    }
}

/// The labels of everything a run creates: its run, project, folder and owner.
pub(super) fn run_labels(runner: &Runner) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_RUN.to_string(), runner.out.run_id.to_string()),
        (LABEL_PROJECT.to_string(), runner.pipeline.project.clone()),
        (
            LABEL_ROOT.to_string(),
            runner.pipeline.root.display().to_string(),
        ),
        (LABEL_OWNER.to_string(), crate::owner::current()),
    ])
}

/// The first fixed host port that something else already listens on.
fn first_taken_port(ports: &[crate::config::PortMapping]) -> Option<Problem> {
    ports
        .iter()
        .filter_map(|p| p.host_port.map(|h| (p.host_ip.as_str(), h)))
        .find_map(|(ip, port)| match std::net::TcpListener::bind((ip, port)) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Some(port_in_use(ip, port)),
            _ => None,
        })
}

fn port_in_use(ip: &str, port: u16) -> Problem {
    Problem::new(ErrorCode::PortInUse, format!("port {port} on {ip} is already in use"))
        .with_hint(format!(
            "Stop what listens on {port} (`ss -ltnp 'sport = :{port}'` shows it), or publish another port in slipway.toml, e.g. \"{}:CONTAINER\", or just \"CONTAINER\" for a free one.",
            port.saturating_add(1)
        ))
}

/// Recognises the engine's "port is already allocated" / "address already
/// in use" errors.
/// An engine refusal whose cause is the image or the pipeline file, not
/// the engine: bad input, with the Dockerfile line or key to change.
fn image_problem(err: &EngineError) -> Option<Problem> {
    let EngineError::Api { message, .. } = err else {
        return None;
    };
    let lower = message.to_lowercase();
    let (what, hint) = if lower.contains("no command specified") {
        (
            "the image has no command to run",
            "Add a CMD (or ENTRYPOINT) line to the Dockerfile, or set `command` under [run] in slipway.toml.",
        )
    } else if lower.contains("unable to find user")
        || lower.contains("no matching entries in passwd")
    {
        (
            "the image has no such user",
            "The Dockerfile's USER line names a user the image lacks: create it (RUN adduser …) or change USER.",
        )
    } else if lower.contains("executable file not found") || lower.contains("exec format error") {
        (
            "the container's command cannot be started",
            "Check the Dockerfile's CMD and ENTRYPOINT lines (or `command` under [run] in slipway.toml): the program must exist in the image and be built for it.",
        )
    } else if lower.contains("invalid port") || lower.contains("invalid containerport") {
        (
            "a published port is invalid",
            "Fix `ports` under [run] in slipway.toml.",
        )
    } else {
        return None;
    };
    Some(Problem::new(ErrorCode::BadConfig, format!("{what}: {}", message.trim())).with_hint(hint))
}

fn port_problem(err: &EngineError) -> Option<Problem> {
    let EngineError::Api { message, .. } = err else {
        return None;
    };
    if !(message.contains("address already in use")
        || message.contains("port is already allocated"))
    {
        return None;
    }
    // "... listen tcp4 127.0.0.1:8080: bind: address already in use"
    // "Bind for 127.0.0.1:8080 failed: port is already allocated"
    let addr = message
        .split_whitespace()
        .map(|w| w.trim_end_matches(':'))
        .filter_map(|w| w.rsplit_once(':'))
        .find(|(_, p)| p.parse::<u16>().is_ok());
    Some(match addr {
        Some((ip, port)) => port_in_use(ip, port.parse().unwrap_or_default()),
        None => Problem::new(ErrorCode::PortInUse, message.clone()),
    })
}

fn published_ports(info: &bollard::models::ContainerInspectResponse) -> Vec<PublishedPort> {
    let mut ports: Vec<PublishedPort> = info
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(key, bindings)| {
            let container_port = key.split('/').next()?.parse().ok()?;
            Some((container_port, bindings.clone().unwrap_or_default()))
        })
        .flat_map(|(container_port, bindings)| {
            bindings.into_iter().filter_map(move |b| {
                Some(PublishedPort {
                    container_port,
                    host_ip: b.host_ip.unwrap_or_default(),
                    host_port: b.host_port?.parse().ok()?,
                })
            })
        })
        .filter(|p| !p.host_ip.contains(':'))
        .collect();
    ports.sort_by_key(|p| (p.container_port, p.host_port));
    ports
}

pub(super) async fn watch_exit(
    docker: bollard::Docker,
    id: String,
    exited: watch::Sender<Option<i64>>,
) {
    let mut wait =
        docker.wait_container(&id, None::<bollard::query_parameters::WaitContainerOptions>);
    let code = match wait.next().await {
        Some(Ok(r)) => r.status_code,
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => {
            tracing::debug!(container = %id, error = %e, "wait ended");
            return;
        }
        None => return,
    };
    // Nobody may be watching any more; that is fine.
    exited.send_replace(Some(code));
}

pub(crate) async fn follow_logs(
    docker: bollard::Docker,
    id: String,
    out: super::emit::EventSender,
    step: usize,
) {
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut logs = docker.logs(&id, Some(options));
    let mut stdout = LineSplitter::default();
    let mut stderr = LineSplitter::default();
    let mut pace = ReadPace::default();
    while let Some(Ok(chunk)) = pace.next(&mut logs).await {
        let lines = match &chunk {
            bollard::container::LogOutput::StdErr { message } => stderr.push(message),
            other => stdout.push(other.as_ref()),
        };
        if !out.lines(step, LogStream::Container, lines).await {
            return;
        }
    }
}

/// The last `lines` lines the container wrote.
pub(crate) async fn last_logs(engine: &Engine, id: &str, lines: usize) -> String {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: lines.to_string(),
        ..Default::default()
    };
    let mut logs = engine.docker().logs(id, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        text.push_str(&String::from_utf8_lossy(chunk.as_ref()));
    }
    text.trim_end().to_string()
}

/// Removes a container and its anonymous volumes, killing it if it runs.
pub(crate) async fn remove(engine: &Engine, id: &str) -> Result<(), EngineError> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match super::engine_call(
        "remove container",
        engine.docker().remove_container(id, Some(options)),
    )
    .await
    {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        // Another request (a run that ended mid-cleanup) is removing it.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message,
        }) if message.contains("already in progress") => Ok(()),
        Err(e) => Err(engine.error(e)),
    }
}

/// Removes `ids` together (each with [`remove`]); what could not be
/// removed, a line each (its short id and why).
pub(crate) async fn remove_all(engine: &Engine, ids: &[String]) -> Vec<String> {
    let removals = ids.iter().map(|id| async move {
        remove(engine, id).await.map_err(|e| {
            tracing::warn!(container = %id, error = %e, "could not remove container");
            format!("{}: {e}", &id[..id.len().min(12)])
        })
    });
    futures_util::future::join_all(removals)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect()
}

/// A run's cleanup step as it ended: passed, or failed naming what is left.
pub(crate) fn cleanup_end(failures: &[String]) -> (StepStatus, Option<String>) {
    match failures.is_empty() {
        true => (StepStatus::Passed, None),
        false => (
            StepStatus::Failed,
            Some(format!(
                "could not remove {}; run `slipway clean`",
                failures.join("; ")
            )),
        ),
    }
}

/// A container a run left running, as the desktop app lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContainerInfo {
    /// Container id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// The run that created it.
    pub run_id: String,
    /// Engine state, e.g. `running`, `exited`.
    pub state: String,
    /// Human status, e.g. `Up 5 minutes`.
    pub status: String,
    /// Published ports.
    pub ports: Vec<PublishedPort>,
    /// URL of the first published port.
    pub url: Option<String>,
}

/// Every container (running or not) carrying `label` (`KEY` or `KEY=VALUE`).
async fn labelled(
    engine: &Engine,
    label: String,
) -> Result<Vec<bollard::models::ContainerSummary>, EngineError> {
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".to_string(), vec![label])])),
        ..Default::default()
    };
    engine
        .docker()
        .list_containers(Some(options))
        .await
        .map_err(|e| engine.error(e))
}

/// The name a container is shown by: its name, else its short id.
fn shown_name(names: Option<Vec<String>>, id: &str) -> String {
    names
        .and_then(|n| n.into_iter().next())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_else(|| id[..id.len().min(12)].to_string())
}

/// The containers Slipway created for `project` that still exist.
pub async fn containers(engine: &Engine, project: &str) -> Result<Vec<ContainerInfo>, EngineError> {
    let list = labelled(engine, format!("{LABEL_PROJECT}={project}")).await?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let labels = c.labels.unwrap_or_default();
            let run_id = labels.get(LABEL_RUN)?.clone();
            let ports: Vec<PublishedPort> = c
                .ports
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| {
                    Some(PublishedPort {
                        container_port: p.private_port,
                        host_ip: p.ip.clone()?,
                        host_port: p.public_port?,
                    })
                })
                .filter(|p| !p.host_ip.contains(':'))
                .collect();
            let url = ports.first().map(|p| {
                format!(
                    "http://{}:{}",
                    engine.published_host(&p.host_ip),
                    p.host_port
                )
            });
            Some(ContainerInfo {
                id: c.id?,
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                run_id,
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                status: c.status.unwrap_or_default(),
                ports,
                url,
            })
        })
        .collect())
}

/// Stops and removes one of Slipway's containers. Refuses containers
/// Slipway did not create.
pub async fn stop(engine: &Engine, id: &str) -> Result<(), EngineError> {
    let info = engine
        .docker()
        .inspect_container(id, None)
        .await
        .map_err(|e| engine.error(e))?;
    let ours = info
        .config
        .and_then(|c| c.labels)
        .is_some_and(|l| l.contains_key(LABEL_RUN));
    if !ours {
        return Err(EngineError::Api {
            status: 403,
            message: format!("container {id} was not created by Slipway"),
        });
    }
    remove(engine, id).await
}

/// Containers of runs whose process is gone (see [`crate::owner`]): id,
/// name and run id of each.
pub async fn orphans(engine: &Engine) -> Result<Vec<(String, String, String)>, EngineError> {
    let containers = labelled(engine, LABEL_OWNER.to_string()).await?;
    Ok(containers
        .into_iter()
        .filter_map(|c| {
            let labels = c.labels.as_ref()?;
            if crate::owner::is_alive(labels.get(LABEL_OWNER)?) {
                return None;
            }
            let run = labels.get(LABEL_RUN)?.clone();
            let id = c.id?;
            let name = shown_name(c.names, &id);
            Some((id, name, run))
        })
        .collect())
}

/// Removes a container (killing it if it runs).
pub async fn remove_container(engine: &Engine, id: &str) -> Result<(), EngineError> {
    remove(engine, id).await
}

/// What [`clean`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// The names of the containers removed.
    pub removed: Vec<String>,
    /// The runs whose containers were left, as still going.
    pub going: Vec<String>,
}

/// Removes every container Slipway created that is still there (after a
/// crash, or with `cleanup = "never"`), optionally only one project's,
/// except those of the runs `going` says are still going (run id, its
/// owner process).
pub async fn clean(
    engine: &Engine,
    project: Option<&str>,
    going: impl Fn(&str, Option<&str>) -> bool,
) -> Result<Cleaned, EngineError> {
    let label = match project {
        Some(p) => format!("{LABEL_PROJECT}={p}"),
        None => LABEL_RUN.to_string(),
    };
    let containers = labelled(engine, label).await?;
    let mut removed = Vec::new();
    let mut left: Vec<String> = Vec::new();
    let mut runs: Vec<String> = Vec::new();
    for c in containers {
        let Some(id) = c.id else { continue };
        let Some(run) = c.labels.as_ref().and_then(|l| l.get(LABEL_RUN)).cloned() else {
            continue;
        };
        let owner = c.labels.as_ref().and_then(|l| l.get(LABEL_OWNER));
        if going(&run, owner.map(String::as_str)) {
            if !left.contains(&run) {
                left.push(run);
            }
            continue;
        }
        remove(engine, &id).await?;
        removed.push(shown_name(c.names, &id));
        if !runs.contains(&run) {
            runs.push(run);
        }
    }
    // The networks of their services, once their containers are gone.
    for run in runs {
        remove_networks_of(engine, &run).await;
    }
    Ok(Cleaned {
        removed,
        going: left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_port_errors_name_the_port() {
        let err = EngineError::Api {
            status: 500,
            message: "driver failed programming external connectivity on endpoint x: Error starting userland proxy: listen tcp4 127.0.0.1:8080: bind: address already in use".into(),
        };
        let p = port_problem(&err).unwrap();
        assert_eq!(p.code, ErrorCode::PortInUse);
        assert_eq!(p.message, "port 8080 on 127.0.0.1 is already in use");
        let err = EngineError::Api {
            status: 500,
            message: "Bind for 0.0.0.0:9000 failed: port is already allocated".into(),
        };
        assert_eq!(
            port_problem(&err).unwrap().message,
            "port 9000 on 0.0.0.0 is already in use"
        );
    }

    #[test]
    fn taken_port_is_found_before_the_engine_tries() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mapping = crate::config::PortMapping {
            host_ip: "127.0.0.1".into(),
            host_port: Some(port),
            container_port: 80,
        };
        let p = first_taken_port(&[mapping]).unwrap();
        assert!(p.message.contains(&port.to_string()));
    }
}
