//! The on-disk format of `slipway.toml` and its conversion to a [`Pipeline`].
//!
//! Values that need checking are read as [`Spanned`] so that every error can
//! point at the exact line and column.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::{
    BuildSpec, Builder, CleanupPolicy, CommandLine, ConfigError, HttpTarget, ImageRef, Location,
    Pipeline, PipelineSource, PortMapping, Probe, Readiness, RunSpec, ServiceReady, ServiceSpec,
    StatusRange, StepPlace, TestSpec,
};

/// The default readiness timeout.
pub(crate) const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The default longest wait between two readiness attempts.
pub(crate) const DEFAULT_READY_INTERVAL: Duration = Duration::from_millis(50);
/// The default timeout of a test step.
pub(crate) const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(600);

/// `slipway.toml`: a project's local pipeline.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(
    title = "slipway.toml",
    description = "Slipway pipeline: build, run, wait until ready, test."
)]
pub struct PipelineFile {
    /// The image to build.
    #[serde(default)]
    pub image: ImageSection,
    /// How the image is built.
    #[serde(default)]
    pub build: BuildSection,
    /// How the container runs.
    #[serde(default)]
    pub run: RunSection,
    /// How to tell the service is up. Omit it to skip the readiness step.
    #[serde(default)]
    pub ready: Option<ReadySection>,
    /// Test steps, run in order after the service is ready.
    #[serde(default, rename = "test")]
    pub tests: Vec<TestSection>,
    /// Services the app needs (`[[service]]`): started together before it
    /// on the run's own network, reachable by name, removed with the run.
    #[serde(default, rename = "service")]
    pub services: Vec<ServiceSection>,
    /// When the run's containers are removed.
    #[serde(default)]
    pub cleanup: CleanupPolicy,
    /// Deploy triggers, by name (`[deploy.hub]`). Their secret parts are
    /// in the keychain: `slipway secret set deploy-trigger PROJECT/NAME`.
    #[serde(default)]
    pub deploy: BTreeMap<String, DeploySection>,
    /// Where `slipway push` publishes the built image, and its tags.
    #[serde(default)]
    pub push: PushSection,
}

/// `[push]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PushSection {
    /// The repository to push to, with its registry's host unless it is
    /// Docker Hub ("registry.example.com:5000/shop/web"). Defaults to the
    /// [image] name.
    #[schemars(with = "Option<String>")]
    pub repository: Option<Spanned<String>>,
    /// The tags to push: "{branch}" (the branch, made a valid tag) and
    /// "{sha}" (the commit's short SHA) are filled in. Defaults to
    /// ["{branch}", "{sha}"].
    #[schemars(with = "Option<Vec<String>>")]
    pub tags: Option<Spanned<Vec<String>>>,
    /// Also push "latest" from the repository's default branch. Defaults to true.
    pub latest: Option<bool>,
}

/// `[deploy.NAME]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeploySection {
    /// "dockerhub" (a build trigger: the URL is the secret) or "command"
    /// (a shell command on this machine: `run`, or the secret itself).
    #[schemars(with = "super::DeployKind")]
    pub kind: Spanned<super::DeployKind>,
    /// The branch it deploys. Defaults to the repository's default branch.
    pub branch: Option<String>,
    /// For "command": the command, when it is not a secret.
    #[schemars(with = "Option<String>")]
    pub run: Option<Spanned<String>>,
    /// For "command": how long it may run ("10m" by default). Past it, it
    /// is stopped and the deploy's outcome is unknown.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// For "webhook": the method ("POST" by default; "PUT", "PATCH", "GET").
    pub method: Option<String>,
    /// For "webhook": the URL. Omit it to keep the URL itself secret
    /// (`slipway secret set deploy-trigger PROJECT/NAME`).
    #[schemars(with = "Option<String>")]
    pub url: Option<Spanned<String>>,
    /// For "webhook": extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// For "webhook": the body; {sha}, {branch}, {image}, {tag} and {project}
    /// are filled in ({image} is the commit's image, REPOSITORY:TAG from
    /// [push]; {tag} its tag, the short SHA by default).
    pub body: Option<String>,
    /// For "github-workflow": the workflow's file name ("deploy.yml") or id.
    pub workflow: Option<String>,
    /// For "github-dispatch": the repository_dispatch event type.
    pub event: Option<String>,
    /// For "circleci": the project slug ("gh/OWNER/NAME"); by default the
    /// GitHub repository of `origin`.
    pub project_slug: Option<String>,
    /// For "github-workflow": its inputs; for "github-dispatch": the client
    /// payload. Values may use {sha}, {branch}, {image}, {tag}, {project}.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Deploy as soon as a merge when green lands and the merge commit is
    /// green on the branch (the window does it).
    #[serde(default)]
    pub after_merge: bool,
    /// For "webhook": a header ("X-Hub-Signature-256") that carries
    /// "sha256=" and the HMAC-SHA256 of the body, keyed with the webhook
    /// secret (`slipway secret set webhook-secret PROJECT/NAME`).
    pub signature: Option<String>,
}

/// `[image]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageSection {
    /// Repository name, e.g. "user/app". Defaults to the folder's name.
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    /// Tag. Defaults to "latest".
    #[schemars(with = "Option<String>")]
    pub tag: Option<Spanned<String>>,
}

/// `[build]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildSection {
    /// Dockerfile path, relative to the context. Defaults to "Dockerfile".
    pub dockerfile: Option<String>,
    /// Build context folder, relative to the project. Defaults to ".".
    #[schemars(with = "Option<String>")]
    pub context: Option<Spanned<String>>,
    /// Build arguments (`--build-arg`).
    #[serde(default)]
    pub args: BTreeMap<String, String>,
    /// Multi-stage build target.
    pub target: Option<String>,
    /// Build without the layer cache.
    #[serde(default)]
    pub no_cache: bool,
    /// "auto" (BuildKit when the engine offers it), "buildkit" or "classic".
    #[serde(default)]
    pub builder: Builder,
}

/// `[run]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunSection {
    /// Published ports: "HOST:CONTAINER" ("8080:80"), "CONTAINER" (a free host port),
    /// or "IP:HOST:CONTAINER". Bound to 127.0.0.1 unless an IP is given.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub ports: Vec<Spanned<String>>,
    /// Environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Environment variables whose values come from the OS keychain, by
    /// reference: "deploy-trigger/NAME" or "webhook-secret/NAME" (this
    /// project's, set with `slipway secret set`), "github-token/HOST",
    /// "circleci-token/HOST", "registry/HOST".
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub secrets: BTreeMap<String, Spanned<String>>,
    /// Command override: a shell line or an argv array.
    pub command: Option<CommandField>,
}

/// A command: a shell line or an argv array.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CommandField {
    /// Run through `/bin/sh -c`.
    Shell(String),
    /// Run as is.
    Argv(Vec<String>),
}

/// `[ready]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReadySection {
    /// HTTP probe: a path ("/health") on the published port, or a full URL.
    #[schemars(with = "Option<String>")]
    pub http: Option<Spanned<String>>,
    /// TCP probe: a published container port.
    #[schemars(with = "Option<u16>")]
    pub tcp: Option<Spanned<u16>>,
    /// Container port the HTTP path is probed on. Defaults to the first published port.
    #[schemars(with = "Option<u16>")]
    pub port: Option<Spanned<u16>>,
    /// Accepted HTTP status: 200, "200-299" or "2xx". Defaults to "200-399".
    #[schemars(with = "Option<StatusField>")]
    pub status: Option<Spanned<StatusField>>,
    /// Give up after this long, e.g. "60s".
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// Longest wait between attempts, e.g. "50ms".
    #[schemars(with = "Option<String>")]
    pub interval: Option<Spanned<String>>,
}

/// `[[service]]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceSection {
    /// Its name: the host name the app reaches it by ("db"), and
    /// SLIPWAY_SERVICE_DB_HOST / _PORT for host test steps.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The image it runs ("postgres:16"); the engine must have it.
    #[schemars(with = "Option<String>")]
    pub image: Option<Spanned<String>>,
    /// Or a Dockerfile of the project to build it from ("db/Dockerfile"),
    /// its folder the build's context.
    #[schemars(with = "Option<String>")]
    pub build: Option<Spanned<String>>,
    /// Its environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How to tell it is ready: { tcp = 5432 }, { http = "/health", port =
    /// 8080 } or { command = "pg_isready" }, with a timeout ("60s").
    pub ready: Option<ServiceReadySection>,
}

/// A service's `ready`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceReadySection {
    /// TCP probe: the container port, published on 127.0.0.1.
    #[schemars(with = "Option<u16>")]
    pub tcp: Option<Spanned<u16>>,
    /// HTTP probe: a path on `port`.
    #[schemars(with = "Option<String>")]
    pub http: Option<Spanned<String>>,
    /// The container port of the HTTP probe.
    #[schemars(with = "Option<u16>")]
    pub port: Option<Spanned<u16>>,
    /// A command run in the service's container; ready once it exits 0.
    #[schemars(with = "Option<String>")]
    pub command: Option<Spanned<String>>,
    /// Give up after this long. Defaults to "60s".
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
}

/// An HTTP status or range.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusField {
    /// One code.
    Code(u16),
    /// "200-299" or "2xx".
    Range(String),
}

/// `[[test]]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestSection {
    /// Name shown in the timeline. Defaults to the command.
    pub name: Option<String>,
    /// The command: a shell line or an argv array.
    #[schemars(with = "CommandField")]
    pub run: Spanned<CommandField>,
    /// "container" (docker exec, the default) or "host" (with SLIPWAY_URL,
    /// SLIPWAY_HOST and SLIPWAY_PORT set).
    #[serde(default, rename = "in")]
    pub place: StepPlace,
    /// Extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Fail the step after this long. Defaults to "10m".
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// Host steps only: files (like "requirements.txt") whose contents, with
    /// the command and its environment, decide whether the step is unchanged
    /// since it last passed; an unchanged step is not run again.
    #[schemars(with = "Option<Vec<String>>")]
    pub cache: Option<Spanned<Vec<String>>>,
}

/// The JSON Schema of `slipway.toml`, for editors.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PipelineFile)).unwrap_or_default()
}

/// Parses and checks `text`, the contents of `path`, for the project at `root`.
pub(crate) fn parse(root: &Path, path: &Path, text: &str) -> Result<Pipeline, ConfigError> {
    let at = |offset: usize| Some(Location::at(path, text, offset));
    let file: PipelineFile = toml::from_str(text).map_err(|e| ConfigError {
        location: e.span().and_then(|s| at(s.start)),
        message: e.message().trim().to_string(),
        hint: Some(format!(
            "Fix {} (the JSON Schema from `slipway schema` lets editors check it as you type).",
            super::FILE_NAME
        )),
    })?;
    let err = |span: std::ops::Range<usize>, message: String| ConfigError {
        location: at(span.start),
        message,
        hint: None,
    };
    resolve(
        root,
        PipelineSource::File {
            path: path.to_path_buf(),
        },
        file,
        &err,
    )
    .map_err(|mut e| {
        if e.location.is_none() && e.message.starts_with('[') {
            e.location = at(section_offset(text, &e.message));
        }
        e
    })
}

/// Where the section a message names (`[ready] needs …`) starts in `text`
/// (else the file's start), so that mistake points into the file too.
fn section_offset(text: &str, message: &str) -> usize {
    let Some(section) = message
        .strip_prefix('[')
        .and_then(|m| m.split_once(']'))
        .map(|(name, _)| name)
    else {
        return 0;
    };
    let header = format!("[{section}]");
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with(&header) {
            return offset + (line.len() - line.trim_start().len());
        }
        offset += line.len();
    }
    text.find(section).unwrap_or(0)
}

/// Turns a parsed file into a pipeline, checking every value.
pub(crate) fn resolve(
    root: &Path,
    source: PipelineSource,
    file: PipelineFile,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Pipeline, ConfigError> {
    let default_name = super::default_name(root);
    let image = resolve_image(file.image, &default_name, err)?;
    let build = resolve_build(root, file.build, err)?;
    let run = resolve_run(file.run, &default_name, err)?;
    let ready = match file.ready {
        None => None,
        Some(section) => Some(resolve_ready(section, &run, err)?),
    };
    let tests = file
        .tests
        .into_iter()
        .map(|t| resolve_test(t, &run, err))
        .collect::<Result<Vec<_>, _>>()?;
    let deploys = file
        .deploy
        .into_iter()
        .map(|(name, section)| resolve_deploy(name, section, &default_name, err))
        .collect::<Result<Vec<_>, _>>()?;
    let push = resolve_push(file.push, &image, err)?;
    let mut services: Vec<ServiceSpec> = Vec::new();
    for section in file.services {
        let span = section.name.span();
        let service = resolve_service(root, section, err)?;
        if services.iter().any(|s| s.name == service.name) {
            return Err(err(
                span,
                format!(
                    "two services are called {:?}: give each its own name",
                    service.name
                ),
            ));
        }
        services.push(service);
    }
    Ok(Pipeline {
        project: default_name,
        root: root.to_path_buf(),
        source,
        push,
        image,
        build,
        run,
        ready,
        services,
        tests,
        cleanup: file.cleanup,
        deploys,
    })
}

/// `[[service]]`: a name the app can reach, an image, how it is ready.
fn resolve_service(
    root: &Path,
    section: ServiceSection,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<ServiceSpec, ConfigError> {
    let name = section.name.get_ref();
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid {
        return Err(err(
            section.name.span(),
            format!(
                "invalid service name {name:?}: the app reaches it by this host name, so use lower-case letters, digits and '-'"
            ),
        ));
    }
    let (image, build) = match (section.image, section.build) {
        (Some(image), None) => {
            let text = image.get_ref();
            if text.trim().is_empty() || text.contains(char::is_whitespace) {
                return Err(err(
                    image.span(),
                    format!("invalid image {text:?} for service {name:?}"),
                ));
            }
            (image.into_inner(), None)
        }
        (None, Some(build)) => {
            let file = root.join(build.get_ref());
            let (Some(context), Some(dockerfile)) = (file.parent(), file.file_name()) else {
                return Err(err(
                    build.span(),
                    format!("service {name:?}: `build` names no file"),
                ));
            };
            if !file.is_file() {
                return Err(err(
                    build.span(),
                    format!(
                        "service {name:?}: no Dockerfile at {:?} under {}",
                        build.get_ref(),
                        root.display()
                    ),
                ));
            }
            let build = crate::config::ServiceBuild {
                context: context.to_path_buf(),
                dockerfile: dockerfile.to_string_lossy().into_owned(),
            };
            (String::new(), Some(build))
        }
        (Some(image), Some(_)) => {
            return Err(err(
                image.span(),
                format!("service {name:?}: give it an `image` or a `build`, not both"),
            ));
        }
        (None, None) => {
            return Err(err(
                section.name.span(),
                format!("service {name:?} needs an `image` (or a `build` Dockerfile)"),
            ));
        }
    };
    let section_ready = section.ready.unwrap_or_default();
    let given = [
        section_ready.tcp.is_some(),
        section_ready.http.is_some(),
        section_ready.command.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given > 1 {
        return Err(ConfigError::new(format!(
            "[[service]] {name:?}: give `ready` one of tcp, http or command"
        )));
    }
    let ready = if let Some(port) = section_ready.tcp {
        ServiceReady::Tcp(*port.get_ref())
    } else if let Some(path) = section_ready.http {
        let Some(port) = section_ready.port else {
            return Err(err(
                path.span(),
                format!("[[service]] {name:?}: an http probe needs the container `port` it asks"),
            ));
        };
        let path = path.into_inner();
        ServiceReady::Http {
            port: port.into_inner(),
            path: if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            },
        }
    } else if let Some(command) = section_ready.command {
        if command.get_ref().trim().is_empty() {
            return Err(err(
                command.span(),
                "a service's ready command cannot be empty".into(),
            ));
        }
        ServiceReady::Command(CommandLine::Shell(command.into_inner()))
    } else {
        ServiceReady::Started
    };
    let timeout = match section_ready.timeout {
        Some(t) => crate::duration::parse(t.get_ref()).map_err(|m| err(t.span(), m))?,
        None => DEFAULT_READY_TIMEOUT,
    };
    Ok(ServiceSpec {
        name: section.name.into_inner(),
        image,
        build,
        env: section.env,
        ready,
        timeout,
    })
}

/// `[image]`: the name (the project's by default) and the tag.
fn resolve_image(
    section: ImageSection,
    default_name: &str,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<ImageRef, ConfigError> {
    Ok(ImageRef {
        name: match section.name {
            Some(name) => {
                check_image_name(name.get_ref()).map_err(|m| err(name.span(), m))?;
                name.into_inner()
            }
            None => default_name.to_string(),
        },
        tag: match section.tag {
            Some(tag) => {
                let ok = !tag.get_ref().is_empty()
                    && tag.get_ref().len() <= 128
                    && tag
                        .get_ref()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
                if !ok {
                    return Err(err(
                        tag.span(),
                        format!(
                            "invalid image tag {:?}: use letters, digits, '_', '.' and '-'",
                            tag.get_ref()
                        ),
                    ));
                }
                tag.into_inner()
            }
            None => "latest".into(),
        },
    })
}

/// `[build]`: the context folder and the Dockerfile in it, checked.
fn resolve_build(
    root: &Path,
    section: BuildSection,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<BuildSpec, ConfigError> {
    let context = match &section.context {
        Some(ctx) => {
            let dir = root.join(ctx.get_ref());
            if !dir.is_dir() {
                return Err(err(
                    ctx.span(),
                    format!(
                        "build context {:?} is not a folder under {}",
                        ctx.get_ref(),
                        root.display()
                    ),
                ));
            }
            dir.canonicalize().unwrap_or(dir)
        }
        None => root.to_path_buf(),
    };
    let dockerfile = section.dockerfile.unwrap_or_else(|| "Dockerfile".into());
    if !context.join(&dockerfile).is_file() {
        return Err(ConfigError::new(format!(
            "no Dockerfile at {}",
            context.join(&dockerfile).display()
        ))
        .with_hint("Add a Dockerfile, or set `dockerfile` under [build] in slipway.toml."));
    }
    Ok(BuildSpec {
        dockerfile,
        context,
        args: section.args,
        target: section.target.filter(|t| !t.is_empty()),
        no_cache: section.no_cache,
        builder: section.builder,
    })
}

/// `[run]`: ports, environment, secrets and command.
fn resolve_run(
    section: RunSection,
    default_name: &str,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<RunSpec, ConfigError> {
    let mut ports = Vec::new();
    for p in &section.ports {
        ports.push(PortMapping::parse(p.get_ref()).map_err(|m| err(p.span(), m))?);
    }
    let mut secrets = BTreeMap::new();
    for (name, reference) in &section.secrets {
        let id = crate::secrets::SecretId::parse_reference(reference.get_ref(), default_name)
            .map_err(|m| err(reference.span(), m))?;
        if section.env.contains_key(name) {
            return Err(err(
                reference.span(),
                format!("{name} is set in both [run.env] and [run.secrets]"),
            ));
        }
        secrets.insert(name.clone(), id);
    }
    Ok(RunSpec {
        ports,
        env: section.env,
        secrets,
        command: section.command.map(|c| match c {
            CommandField::Shell(line) => CommandLine::Shell(line).argv(),
            CommandField::Argv(argv) => argv,
        }),
    })
}

/// One `[[test]]` step.
fn resolve_test(
    t: TestSection,
    run: &RunSpec,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<TestSpec, ConfigError> {
    let span = t.run.span();
    let command = match t.run.into_inner() {
        CommandField::Shell(line) if line.trim().is_empty() => {
            return Err(err(span, "a test step's `run` cannot be empty".into()));
        }
        CommandField::Argv(argv) if argv.is_empty() => {
            return Err(err(
                span,
                "a test step's `run` array cannot be empty".into(),
            ));
        }
        CommandField::Shell(line) => CommandLine::Shell(line),
        CommandField::Argv(argv) => CommandLine::Argv(argv),
    };
    if t.place == StepPlace::Host && run.ports.is_empty() {
        return Err(err(
            span,
            "a test step `in = \"host\"` needs a published port to reach the service".into(),
        )
        .with_hint("Add `ports = [\"8080:80\"]` under [run]."));
    }
    let timeout = match t.timeout {
        Some(d) => crate::duration::parse(d.get_ref()).map_err(|m| err(d.span(), m))?,
        None => DEFAULT_TEST_TIMEOUT,
    };
    let cache_span = t.cache.as_ref().map_or(span.clone(), |c| c.span());
    let cache: Vec<std::path::PathBuf> = t
        .cache
        .map(|c| c.into_inner().into_iter().map(Into::into).collect())
        .unwrap_or_default();
    if !cache.is_empty() && t.place != StepPlace::Host {
        return Err(err(
            cache_span,
            "`cache` is for host steps: a container step runs in a fresh container".into(),
        )
        .with_hint("Add `in = \"host\"`, or remove `cache`."));
    }
    if let Some(bad) = cache
        .iter()
        .find(|p| p.is_absolute() || p.components().any(|c| c == std::path::Component::ParentDir))
    {
        return Err(err(
            cache_span,
            format!("cache file {} is not inside the project", bad.display()),
        ));
    }
    Ok(TestSpec {
        name: t.name.unwrap_or_else(|| command.display()),
        command,
        place: t.place,
        env: t.env,
        timeout,
        cache,
    })
}

/// One `[deploy.NAME]` trigger.
fn resolve_deploy(
    name: String,
    section: DeploySection,
    default_name: &str,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<super::DeployTrigger, ConfigError> {
    let kind_span = section.kind.span();
    let kind = section.kind.into_inner();
    if name.is_empty() || name.contains('/') || name.len() > 64 {
        return Err(err(
            kind_span,
            format!("deploy trigger name {name:?}: use letters, digits, '-' and '_'"),
        ));
    }
    if let (super::DeployKind::Dockerhub, Some(run)) = (kind, &section.run) {
        return Err(err(
            run.span(),
            format!("[deploy.{name}] is a Docker Hub trigger: its URL is the secret, it has no `run`"),
        )
        .with_hint(format!(
            "Remove `run`, and keep the URL in the keychain: `slipway secret set deploy-trigger {default_name}/{name}`."
        )));
    }
    let is_webhook = kind == super::DeployKind::Webhook;
    let webhook_only = section.method.is_some()
        || section.url.is_some()
        || !section.headers.is_empty()
        || section.body.is_some()
        || section.signature.is_some();
    if webhook_only && !is_webhook {
        return Err(err(
            kind_span.clone(),
            format!(
                "[deploy.{name}]: `method`, `url`, `headers`, `body` and `signature` are for kind = \"webhook\""
            ),
        ));
    }
    let method = section
        .method
        .clone()
        .unwrap_or_else(|| "POST".into())
        .to_uppercase();
    if is_webhook && !["POST", "PUT", "PATCH", "GET"].contains(&method.as_str()) {
        return Err(err(
            kind_span.clone(),
            format!("[deploy.{name}]: method {method:?}: use POST, PUT, PATCH or GET"),
        ));
    }
    if let Some(url) = &section.url
        && reqwest::Url::parse(url.get_ref()).is_err()
    {
        return Err(err(url.span(), format!("invalid URL {:?}", url.get_ref())));
    }
    if section
        .branch
        .as_deref()
        .is_some_and(|b| b.trim().is_empty())
    {
        return Err(err(
            kind_span,
            format!("[deploy.{name}] has an empty `branch`"),
        ));
    }
    let github_target = match kind {
        super::DeployKind::GithubWorkflow => Some(section.workflow.clone().ok_or_else(|| {
            err(
                kind_span.clone(),
                format!(
                    "[deploy.{name}] needs `workflow`, the workflow's file name (\"deploy.yml\")"
                ),
            )
        })?),
        super::DeployKind::GithubDispatch => Some(section.event.clone().ok_or_else(|| {
            err(
                kind_span.clone(),
                format!("[deploy.{name}] needs `event`, the repository_dispatch event type"),
            )
        })?),
        super::DeployKind::Circleci => section.project_slug.clone(),
        _ => None,
    };
    let timeout = match (&section.timeout, kind) {
        (None, _) => None,
        (Some(t), super::DeployKind::Command) => {
            Some(crate::duration::parse(t.get_ref()).map_err(|m| err(t.span(), m))?)
        }
        (Some(t), _) => {
            return Err(err(
                t.span(),
                format!("[deploy.{name}]: `timeout` is for kind = \"command\""),
            ));
        }
    };
    let webhook = is_webhook.then(|| super::Webhook {
        method,
        url: section.url.map(Spanned::into_inner),
        headers: section.headers,
        body: section.body,
        signature: section.signature,
    });
    Ok(super::DeployTrigger {
        name,
        kind,
        branch: section.branch,
        run: section.run.map(Spanned::into_inner),
        timeout,
        webhook,
        after_merge: section.after_merge,
        github_target,
        inputs: section.inputs,
    })
}

fn resolve_ready(
    section: ReadySection,
    run: &RunSpec,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Readiness, ConfigError> {
    let published = |port: &Spanned<u16>| {
        if run
            .ports
            .iter()
            .any(|p| p.container_port == *port.get_ref())
        {
            Ok(*port.get_ref())
        } else {
            Err(err(
                port.span(),
                format!("container port {} is not published", port.get_ref()),
            )
            .with_hint(format!(
                "Add \"{0}\" (or \"HOST:{0}\") to `ports` under [run].",
                port.get_ref()
            )))
        }
    };
    let probe = match (&section.http, &section.tcp) {
        (Some(_), Some(tcp)) => {
            return Err(err(
                tcp.span(),
                "[ready] takes `http` or `tcp`, not both".into(),
            ));
        }
        (None, None) => {
            return Err(ConfigError::new(
                "[ready] needs `http = \"/path\"` or `tcp = PORT`",
            ));
        }
        (None, Some(tcp)) => Probe::Tcp {
            container_port: published(tcp)?,
        },
        (Some(http), None) => {
            let value = http.get_ref().trim();
            let target = if value.starts_with('/') {
                let container_port = match &section.port {
                    Some(p) => published(p)?,
                    None => run.ports.first().map(|p| p.container_port).ok_or_else(|| {
                        err(
                            http.span(),
                            "an HTTP readiness path needs a published port".into(),
                        )
                        .with_hint("Add `ports = [\"8080:80\"]` under [run], or give a full URL.")
                    })?,
                };
                HttpTarget::Path {
                    container_port,
                    path: value.to_string(),
                }
            } else if value.starts_with("http://") || value.starts_with("https://") {
                reqwest::Url::parse(value)
                    .map_err(|e| err(http.span(), format!("invalid URL {value:?}: {e}")))?;
                HttpTarget::Url {
                    url: value.to_string(),
                }
            } else {
                return Err(err(
                    http.span(),
                    format!(
                        "invalid readiness target {value:?}: expected a path like \"/health\" or a URL like \"http://127.0.0.1:8080/\""
                    ),
                ));
            };
            let status = match &section.status {
                None => StatusRange::SUCCESS,
                Some(s) => match s.get_ref() {
                    StatusField::Code(c) => StatusRange::parse(&c.to_string()),
                    StatusField::Range(r) => StatusRange::parse(r),
                }
                .map_err(|m| err(s.span(), m))?,
            };
            Probe::Http { target, status }
        }
    };
    let duration = |field: &Option<Spanned<String>>, default| match field {
        Some(d) => crate::duration::parse(d.get_ref()).map_err(|m| err(d.span(), m)),
        None => Ok(default),
    };
    let timeout = duration(&section.timeout, DEFAULT_READY_TIMEOUT)?;
    let interval = duration(&section.interval, DEFAULT_READY_INTERVAL)?;
    if interval.is_zero() {
        let span = section.interval.as_ref().map(|i| i.span()).unwrap_or(0..0);
        return Err(err(span, "`interval` must be longer than zero".into()));
    }
    Ok(Readiness {
        probe,
        timeout,
        interval,
    })
}

fn resolve_push(
    section: PushSection,
    image: &ImageRef,
    err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<super::PushSpec, ConfigError> {
    let mut push = super::PushSpec::default_for(image);
    if let Some(repository) = section.repository {
        let name = repository.get_ref();
        let last = name.rsplit('/').next().unwrap_or(name);
        if last.contains(':') || name.contains('@') {
            return Err(err(
                repository.span(),
                format!("[push] repository {name:?} names a tag: the tags come from `tags`"),
            )
            .with_hint("Give the repository alone, like \"registry.example.com:5000/shop/web\"."));
        }
        check_image_name(name).map_err(|m| err(repository.span(), m))?;
        push.repository = repository.into_inner();
    }
    if let Some(tags) = section.tags {
        let mut checked = Vec::new();
        for tag in tags.get_ref() {
            checked.push(super::tags::TagTemplate::parse(tag).map_err(|m| err(tags.span(), m))?);
        }
        if tags.get_ref().is_empty() && section.latest == Some(false) {
            return Err(err(
                tags.span(),
                "[push] has no tags and `latest = false`: nothing would be pushed".into(),
            ));
        }
        push.tags = checked;
    }
    push.latest = section.latest.unwrap_or(true);
    Ok(push)
}

fn check_image_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:".contains(c))
        && !name.starts_with(['.', '-', '/'])
        && !name.ends_with(['.', '-', '/', ':']);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid image name {name:?}: use lowercase letters, digits and '.', '_', '-', '/' (e.g. \"user/app\")"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(toml: &str) -> (tempfile::TempDir, Result<Pipeline, ConfigError>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nEXPOSE 80\n").unwrap();
        std::fs::write(dir.path().join("slipway.toml"), toml).unwrap();
        let result = super::super::load(dir.path());
        (dir, result)
    }

    #[test]
    fn the_push_scheme_is_checked_where_it_is_written() {
        let (_dir, p) = project("[image]\nname = \"shop/web\"\n");
        let push = p.unwrap().push;
        assert_eq!(push.repository, "shop/web");
        let written: Vec<&str> = push.tags.iter().map(|t| t.as_str()).collect();
        assert_eq!(written, ["{branch}", "{sha}"]);
        assert!(push.latest);
        let (_dir, p) = project(
            "[push]\nrepository = \"localhost:5000/shop/web\"\ntags = [\"v-{sha}\"]\nlatest = false\n",
        );
        let push = p.unwrap().push;
        assert_eq!(
            (push.repository.as_str(), push.latest),
            ("localhost:5000/shop/web", false)
        );
        for (toml, line, says) in [
            (
                "[push]\nrepository = \"Shop/Web\"\n",
                2,
                "invalid image name",
            ),
            ("[push]\nrepository = \"shop/web:v1\"\n", 2, "names a tag"),
            (
                "[push]\n\ntags = [\"{branch}\", \"{tag}\"]\n",
                3,
                "unknown placeholder",
            ),
            ("[push]\ntags = [\"a/b\"]\n", 2, "invalid tag"),
            (
                "[push]\ntags = []\nlatest = false\n",
                2,
                "nothing would be pushed",
            ),
            ("[push]\nlatests = true\n", 2, "unknown field"),
        ] {
            let (_dir, e) = project(toml);
            let e = e.unwrap_err();
            assert!(e.message.contains(says), "{toml}: {}", e.message);
            assert_eq!(e.location.map(|l| l.line), Some(line), "{toml}");
        }
    }

    #[test]
    fn services_are_checked_where_they_are_written() {
        let (_dir, p) = project(
            "[[service]]\nname = \"db\"\nimage = \"postgres:16\"\nenv = { POSTGRES_PASSWORD = \"test\" }\nready = { tcp = 5432, timeout = \"30s\" }\n\n[[service]]\nname = \"web-cache\"\nimage = \"redis:7\"\nready = { command = \"redis-cli ping\" }\n",
        );
        let services = p.unwrap().services;
        assert_eq!(services.len(), 2);
        assert_eq!(services[0].ready, ServiceReady::Tcp(5432));
        assert_eq!(services[0].timeout, Duration::from_secs(30));
        assert_eq!(services[0].env["POSTGRES_PASSWORD"], "test");
        assert_eq!(services[1].env_prefix(), "SLIPWAY_SERVICE_WEB_CACHE");
        assert_eq!(services[1].port(), None);
        for (toml, line, says) in [
            (
                "[[service]]\nname = \"DB\"\nimage = \"postgres\"\n",
                2,
                "invalid service name",
            ),
            ("[[service]]\nname = \"db\"\n", 2, "needs an `image`"),
            (
                "[[service]]\nname = \"db\"\nbuild = \"db/Dockerfile\"\n",
                3,
                "no Dockerfile at \"db/Dockerfile\"",
            ),
            (
                "[[service]]\nname = \"db\"\nimage = \"a\"\nbuild = \"Dockerfile\"\n",
                3,
                "not both",
            ),
            (
                "[[service]]\nname = \"db\"\nimage = \"a\"\n[[service]]\nname = \"db\"\nimage = \"b\"\n",
                5,
                "two services are called \"db\"",
            ),
            (
                "[[service]]\nname = \"db\"\nimage = \"a\"\nready = { http = \"/health\" }\n",
                4,
                "needs the container `port`",
            ),
            (
                "[[service]]\nname = \"db\"\nimage = \"a\"\nready = { tcp = 1, timeout = \"soon\" }\n",
                4,
                "soon",
            ),
            (
                "[[service]]\nname = \"db\"\nimage = \"a\"\nreadiness = { tcp = 1 }\n",
                4,
                "unknown field",
            ),
        ] {
            let (_dir, e) = project(toml);
            let e = e.unwrap_err();
            assert!(e.message.contains(says), "{toml}: {}", e.message);
            assert_eq!(e.location.map(|l| l.line), Some(line), "{toml}");
        }
        let (_dir, e) = project(
            "[[service]]\nname = \"db\"\nimage = \"a\"\nready = { tcp = 1, command = \"x\" }\n",
        );
        assert!(
            e.unwrap_err()
                .message
                .contains("one of tcp, http or command")
        );
    }

    #[test]
    fn deploy_triggers_and_step_caches_are_checked() {
        let (_dir, p) = project(
            "[run]\nports = [\"80\"]\n[[test]]\nrun = \"pip install -r r.txt\"\nin = \"host\"\ncache = [\"r.txt\"]\n[deploy.hub]\nkind = \"dockerhub\"\nbranch = \"master\"\n",
        );
        let p = p.unwrap();
        assert_eq!(p.tests[0].cache, [std::path::PathBuf::from("r.txt")]);
        assert_eq!(p.deploys[0].kind, crate::config::DeployKind::Dockerhub);
        let (_dir, e) = project("[[test]]\nrun = \"make\"\ncache = [\"r.txt\"]\n");
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("`cache` is for host steps")
        );
        let (_dir, e) = project("[deploy.hub]\nkind = \"dockerhub\"\nrun = \"curl x\"\n");
        let e = e.unwrap_err();
        assert!(e.to_string().contains("its URL is the secret"), "{e}");
        assert!(
            e.hint
                .unwrap()
                .contains("slipway secret set deploy-trigger")
        );
        let (_dir, e) = project("[deploy.hub]\nkind = \"ftp\"\n");
        assert!(e.unwrap_err().to_string().contains("slipway.toml:2:8"));
        let (_dir, p) = project("[deploy.script]\nkind = \"command\"\ntimeout = \"90s\"\n");
        assert_eq!(
            p.unwrap().deploys[0].timeout,
            Some(std::time::Duration::from_secs(90))
        );
        let (_dir, e) = project("[deploy.hub]\nkind = \"dockerhub\"\ntimeout = \"90s\"\n");
        let e = e.unwrap_err().to_string();
        assert!(
            e.contains("slipway.toml:3:11") && e.contains("`timeout` is for kind = \"command\""),
            "{e}"
        );
        let (_dir, e) = project("[deploy.script]\nkind = \"command\"\ntimeout = \"soon\"\n");
        assert!(e.unwrap_err().to_string().contains("slipway.toml:3:11"));
    }

    #[test]
    fn full_file_resolves() {
        let (_dir, p) = project(
            r#"
cleanup = "on-success"
[image]
name = "user/app"
tag = "dev"
[build]
args = { VERSION = "1" }
no-cache = true
builder = "classic"
[run]
ports = ["8080:80", "0.0.0.0:9090:90"]
env = { MODE = "test" }
command = "httpd -f"
[ready]
http = "/health"
status = "2xx"
timeout = "10s"
interval = "20ms"
[[test]]
name = "unit"
run = ["python", "app/tests.py"]
[[test]]
run = "curl $SLIPWAY_URL"
in = "host"
timeout = "1m"
"#,
        );
        let p = p.unwrap();
        assert_eq!(p.image.to_string(), "user/app:dev");
        assert!(p.build.no_cache);
        assert_eq!(p.build.builder, Builder::Classic);
        assert_eq!(p.run.ports.len(), 2);
        assert_eq!(p.run.command.as_deref().map(|c| c.len()), Some(3));
        let ready = p.ready.unwrap();
        assert_eq!(ready.timeout, Duration::from_secs(10));
        assert_eq!(
            ready.probe,
            Probe::Http {
                target: HttpTarget::Path {
                    container_port: 80,
                    path: "/health".into()
                },
                status: StatusRange { min: 200, max: 299 },
            }
        );
        assert_eq!(p.tests[0].name, "unit");
        assert_eq!(p.tests[1].place, StepPlace::Host);
        assert_eq!(p.tests[1].timeout, Duration::from_secs(60));
        assert_eq!(p.cleanup, CleanupPolicy::OnSuccess);
    }

    #[test]
    fn syntax_error_has_exact_position() {
        let (_dir, p) = project("[run]\nports = [\"8080:80\"\n");
        let e = p.unwrap_err();
        let loc = e.location.clone().unwrap();
        assert_eq!(loc.line, 2, "{e}");
    }

    #[test]
    fn bad_value_points_at_the_value() {
        let (_dir, p) = project("[run]\nports = [\"8080:80\", \"eighty\"]\n");
        let e = p.unwrap_err();
        let loc = e.location.clone().unwrap();
        assert_eq!((loc.line, loc.column), (2, 21), "{e}");
        assert!(e.message.contains("\"eighty\""), "{e}");
    }

    #[test]
    fn unknown_field_is_named() {
        let (_dir, p) = project("[run]\nport = [\"80\"]\n");
        let e = p.unwrap_err();
        assert!(e.message.contains("unknown field `port`"), "{e}");
        assert_eq!(e.location.unwrap().line, 2);
    }

    #[test]
    fn bad_duration_and_status_are_positioned() {
        let (_dir, p) =
            project("[run]\nports=[\"80\"]\n[ready]\nhttp = \"/\"\ntimeout = \"10 sec\"\n");
        let e = p.unwrap_err();
        assert_eq!(e.location.unwrap().line, 5);
        let (_dir, p) = project("[run]\nports=[\"80\"]\n[ready]\nhttp = \"/\"\nstatus = \"ok\"\n");
        assert_eq!(p.unwrap_err().location.unwrap().line, 5);
    }

    #[test]
    fn readiness_port_must_be_published() {
        let (_dir, p) = project("[run]\nports=[\"80\"]\n[ready]\ntcp = 81\n");
        let e = p.unwrap_err();
        assert!(e.message.contains("81 is not published"), "{e}");
        assert!(e.hint.unwrap().contains("ports"));
    }

    #[test]
    fn schema_names_every_section() {
        let schema = json_schema().to_string();
        for key in [
            "\"image\"",
            "\"build\"",
            "\"run\"",
            "\"ready\"",
            "\"test\"",
            "\"cleanup\"",
            "\"no-cache\"",
            "\"in\"",
        ] {
            assert!(schema.contains(key), "schema lacks {key}");
        }
    }
}
