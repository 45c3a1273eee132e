//! The services a run's app needs (`[[service]]`): a network of the run's
//! own, each service's container on it under its name (and its probe port
//! published on 127.0.0.1), all started together at the first service
//! step; each step then waits for its service to be ready. A service that
//! exits or never gets ready fails the run with its last output. The
//! containers and the network carry the run's labels and go with it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
    PortBinding,
};
use bollard::query_parameters::CreateContainerOptions;
use tokio::sync::watch;

use super::readiness::{Attempt, ProbeTarget, ReadinessProbe};
use super::{Runner, StepEnd};
use crate::config::{ServiceReady, ServiceSpec};
use crate::engine::EngineError;
use crate::{ErrorCode, Problem};

/// How long between two looks at a service that is not ready yet.
const PROBE_EVERY: Duration = Duration::from_millis(100);
/// Lines of a failed service's output shown.
const LAST_LINES: usize = 20;

/// A service's container, started.
#[derive(Debug, Clone)]
pub(crate) struct RunningService {
    pub(crate) name: String,
    /// `SLIPWAY_SERVICE_DB`: its variables' prefix in host steps.
    pub(crate) env_prefix: String,
    pub(crate) id: String,
    /// Its probe port on the host, when it publishes one.
    pub(crate) host_port: Option<u16>,
    pub(crate) exited: watch::Receiver<Option<i64>>,
}

/// The service step for `spec`: starts every service on the first one,
/// then waits until `spec`'s is ready.
pub(super) async fn run(runner: &mut Runner, spec: &ServiceSpec) -> StepEnd {
    if runner.network.is_none()
        && let Err(end) = start_all(runner).await
    {
        return end;
    }
    let Some(service) = runner
        .services
        .iter()
        .find(|s| s.name == spec.name)
        .cloned()
    else {
        return StepEnd::Error(Problem::new(
            ErrorCode::DockerError,
            format!("service {} did not start", spec.name),
        ));
    };
    wait_ready(runner, spec, service).await
}

/// Builds the services that have a Dockerfile, creates the run's network
/// and starts every service on it, together.
async fn start_all(runner: &mut Runner) -> Result<(), StepEnd> {
    let docker = runner.engine.docker().clone();
    let steps: HashMap<String, usize> = runner
        .plan
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.spec {
            super::StepSpec::Service(spec) => Some((spec.name.clone(), i)),
            _ => None,
        })
        .collect();
    let built = futures_util::future::join_all(
        runner
            .pipeline
            .services
            .iter()
            .filter(|s| s.build.is_some())
            .map(|spec| {
                let step = steps.get(&spec.name).copied().unwrap_or_default();
                build(runner, spec, step)
            }),
    )
    .await;
    let mut images: HashMap<String, String> = HashMap::new();
    for result in built {
        let (name, image) = result?;
        images.insert(name, image);
    }
    let network = format!(
        "slipway-{}-{}",
        runner.pipeline.project.replace('/', "-"),
        runner.out.run_id.short()
    );
    let labels = super::container::run_labels(runner);
    super::engine_call(
        "create network",
        docker.create_network(NetworkCreateRequest {
            name: network.clone(),
            labels: Some(labels.clone()),
            ..Default::default()
        }),
    )
    .await
    .map_err(|e| StepEnd::Error(runner.engine.error(e).problem()))?;
    runner.network = Some(network.clone());
    let mut specs = runner.pipeline.services.clone();
    for spec in &mut specs {
        if let Some(image) = images.remove(&spec.name) {
            spec.image = image;
        }
    }
    let started = futures_util::future::join_all(specs.iter().map(|spec| {
        let docker = docker.clone();
        let labels = labels.clone();
        let network = network.clone();
        let name = format!(
            "slipway-{}-{}-{}",
            runner.pipeline.project.replace('/', "-"),
            runner.out.run_id.short(),
            spec.name
        );
        async move { start_one(&docker, spec, name, &network, labels).await }
    }))
    .await;
    let mut first_problem = None;
    for (spec, result) in specs.iter().zip(started) {
        let (id, host_port) = match result {
            (Some(id), Ok(port)) => (id, port),
            (id, Err(e)) => {
                runner.containers.extend(id);
                let problem = service_problem(&runner.engine.error(e), spec);
                first_problem.get_or_insert(problem);
                continue;
            }
            (None, Ok(_)) => continue,
        };
        runner.containers.push(id.clone());
        let (exit_tx, exit_rx) = watch::channel(None);
        runner
            .background
            .push(tokio::spawn(super::container::watch_exit(
                docker.clone(),
                id.clone(),
                exit_tx,
            )));
        if let Some(step) = steps.get(&spec.name) {
            runner
                .background
                .push(tokio::spawn(super::container::follow_logs(
                    docker.clone(),
                    id.clone(),
                    runner.out.clone(),
                    *step,
                )));
        }
        runner.services.push(RunningService {
            name: spec.name.clone(),
            env_prefix: spec.env_prefix(),
            id,
            host_port,
            exited: exit_rx,
        });
    }
    match first_problem {
        Some(problem) => Err(StepEnd::Error(problem)),
        None => Ok(()),
    }
}

/// Builds `spec`'s Dockerfile (with the classic builder), its output in
/// its step's log; the service's name and the image's tag.
async fn build(
    runner: &Runner,
    spec: &ServiceSpec,
    step: usize,
) -> Result<(String, String), StepEnd> {
    use futures_util::StreamExt;
    let Some(build) = &spec.build else {
        return Ok((spec.name.clone(), spec.image.clone()));
    };
    let tag = format!(
        "slipway-service/{}-{}:latest",
        runner.pipeline.project.replace('/', "-"),
        spec.name
    );
    let archive = crate::context::ContextArchive::new(&build.context, &build.dockerfile)
        .map_err(|e| StepEnd::Error(e.problem()))?;
    let options = bollard::query_parameters::BuildImageOptions {
        dockerfile: build.dockerfile.clone(),
        t: Some(tag.clone()),
        rm: true,
        forcerm: true,
        labels: Some(HashMap::from([(
            super::LABEL_PROJECT.to_string(),
            runner.pipeline.project.clone(),
        )])),
        version: bollard::query_parameters::BuilderVersion::BuilderV1,
        ..Default::default()
    };
    let docker = runner.engine.docker().clone();
    let mut stream = docker.build_image(
        options,
        None,
        Some(bollard::body_try_stream(archive.into_stream())),
    );
    let mut lines = super::lines::LineSplitter::default();
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream {
                    let out = lines.push(text.as_bytes());
                    runner
                        .log_lines(step, crate::event::LogStream::Build, out)
                        .await;
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(StepEnd::Failed {
                    message: format!("service {}: its build failed: {error}", spec.name),
                    exit_code: None,
                });
            }
            Err(e) => {
                let mut problem = runner.engine.error(e).problem();
                problem.message = format!("service {}: {}", spec.name, problem.message);
                return Err(StepEnd::Error(problem));
            }
        }
    }
    Ok((spec.name.clone(), tag))
}

/// Creates and starts one service's container; its id (once created) and
/// its probe port on the host.
async fn start_one(
    docker: &bollard::Docker,
    spec: &ServiceSpec,
    name: String,
    network: &str,
    labels: HashMap<String, String>,
) -> (Option<String>, Result<Option<u16>, bollard::errors::Error>) {
    let port_key = spec.port().map(|p| format!("{p}/tcp"));
    let port_bindings = port_key.as_ref().map(|key| {
        HashMap::from([(
            key.clone(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(String::new()),
            }]),
        )])
    });
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(labels),
        exposed_ports: port_key.clone().map(|k| vec![k]),
        host_config: Some(HostConfig {
            port_bindings,
            network_mode: Some(network.to_string()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.to_string(),
                EndpointSettings {
                    aliases: Some(vec![spec.name.clone()]),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    };
    let created = super::engine_call(
        "create service container",
        docker.create_container(
            Some(CreateContainerOptions {
                name: Some(name),
                ..Default::default()
            }),
            body,
        ),
    )
    .await;
    let id = match created {
        Ok(c) => c.id,
        Err(e) => return (None, Err(e)),
    };
    if let Err(e) =
        super::engine_call("start service container", docker.start_container(&id, None)).await
    {
        return (Some(id), Err(e));
    }
    let port = match (&port_key, docker.inspect_container(&id, None).await) {
        (None, _) => Ok(None),
        (Some(key), Ok(info)) => Ok(info
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|ports| ports.get(key).cloned().flatten())
            .and_then(|bindings| bindings.into_iter().find_map(|b| b.host_port?.parse().ok()))),
        (Some(_), Err(e)) => Err(e),
    };
    (Some(id), port)
}

/// The engine's refusal, naming the service; an image it does not have
/// says how to get it.
fn service_problem(err: &EngineError, spec: &ServiceSpec) -> Problem {
    let text = err.to_string();
    let lower = text.to_lowercase();
    if lower.contains("no such image") || lower.contains("not found") && lower.contains("image") {
        return Problem::new(
            ErrorCode::DockerError,
            format!(
                "service {}: the engine has no image {}",
                spec.name, spec.image
            ),
        )
        .with_hint(format!(
            "Get it first: `docker pull {}` (or `docker load` from a saved image); Slipway pulls nothing itself.",
            spec.image
        ));
    }
    let mut problem = err.problem();
    problem.message = format!("service {}: {}", spec.name, problem.message);
    problem
}

/// Waits until `service` is ready, it exits, or its timeout passes.
async fn wait_ready(runner: &Runner, spec: &ServiceSpec, service: RunningService) -> StepEnd {
    let began = Instant::now();
    let host = runner.engine.published_host("127.0.0.1");
    let mut exited = service.exited.clone();
    loop {
        let code = *exited.borrow_and_update();
        if let Some(code) = code {
            let output = super::container::last_logs(&runner.engine, &service.id, LAST_LINES).await;
            return StepEnd::Failed {
                message: format!(
                    "service {} exited ({code}) before it was ready{}",
                    spec.name,
                    shown(&output)
                ),
                exit_code: Some(code),
            };
        }
        if probe(runner, spec, &service, &host).await {
            return StepEnd::Passed { exit_code: None };
        }
        if began.elapsed() >= spec.timeout {
            let output = super::container::last_logs(&runner.engine, &service.id, LAST_LINES).await;
            return StepEnd::Failed {
                message: format!(
                    "service {} was not ready after {}{}",
                    spec.name,
                    crate::duration::display(spec.timeout),
                    shown(&output)
                ),
                exit_code: None,
            };
        }
        tokio::select! {
            _ = tokio::time::sleep(PROBE_EVERY) => {}
            _ = exited.changed() => {}
        }
    }
}

/// `:\n<last lines>`, or nothing when the service said nothing.
fn shown(output: &str) -> String {
    let output = output.trim_end();
    if output.is_empty() {
        " (it wrote nothing)".into()
    } else {
        format!("; its last output:\n{output}")
    }
}

/// One look: whether the service answers its probe (the app's readiness
/// probe: a TCP connection must stay open, as a proxy accepts for a port
/// nobody listens on yet).
async fn probe(runner: &Runner, spec: &ServiceSpec, service: &RunningService, host: &str) -> bool {
    let target = match (&spec.ready, service.host_port) {
        (ServiceReady::Started, _) => return true,
        (ServiceReady::Command(command), _) => {
            return super::test_step::exec_exit_code(&runner.engine, &service.id, &command.argv())
                .await
                .is_some_and(|code| code == 0);
        }
        (_, None) => return false,
        (ServiceReady::Tcp(_), Some(port)) => ProbeTarget::Tcp {
            addr: format!("{host}:{port}"),
        },
        (ServiceReady::Http { path, .. }, Some(port)) => ProbeTarget::Http {
            url: format!("http://{host}:{port}{path}"),
            status: crate::config::StatusRange::SUCCESS,
        },
    };
    ReadinessProbe::new(target).attempt().await == Attempt::Ready
}
