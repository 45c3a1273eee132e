//! The pipeline file, `slipway.toml`, and the pipeline it describes.
//!
//! [`load`] reads the file at a project's root, or infers a pipeline from the
//! Dockerfile when there is none. Every mistake in the file is reported with
//! its `file:line:column` and a hint; nothing here talks to Docker.

mod file;
mod infer;
pub mod tags;
pub mod toml_text;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

pub use file::{PipelineFile, json_schema};
pub use infer::{exposed_ports, infer, init_template};

/// The name of the pipeline file at a project's root.
pub const FILE_NAME: &str = "slipway.toml";

/// A pipeline ready to run: every default filled in, every value checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    /// Project name shown to the user and used in container labels.
    pub project: String,
    /// The project's root folder.
    pub root: PathBuf,
    /// Where this pipeline came from.
    pub source: PipelineSource,
    /// The image to build.
    pub image: ImageRef,
    /// How to build it.
    pub build: BuildSpec,
    /// How to run it.
    pub run: RunSpec,
    /// How to tell the service is up; `None` skips the readiness step.
    pub ready: Option<Readiness>,
    /// Services the app needs (a database, a cache), started before it on
    /// the run's own network and removed with it.
    pub services: Vec<ServiceSpec>,
    /// Test steps, in order.
    pub tests: Vec<TestSpec>,
    /// When containers are removed.
    pub cleanup: CleanupPolicy,
    /// Deploy triggers, by name.
    pub deploys: Vec<DeployTrigger>,
    /// Where `slipway push` publishes the built image, and under which tags.
    pub push: PushSpec,
}

/// `[push]`: the repository the built image is pushed to and its tag scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushSpec {
    /// The repository, with its registry's host unless it is Docker Hub
    /// (`registry.example.com:5000/shop/web`).
    pub repository: String,
    /// Tag templates; `{branch}` and `{sha}` are filled in.
    pub tags: Vec<tags::TagTemplate>,
    /// Also push `latest` from the default branch.
    pub latest: bool,
}

impl PushSpec {
    /// The default scheme: the branch and the short SHA, and `latest` on the
    /// default branch, to the image's own repository.
    pub fn default_for(image: &ImageRef) -> Self {
        PushSpec {
            repository: image.name.clone(),
            tags: DEFAULT_PUSH_TAGS
                .iter()
                .filter_map(|t| tags::TagTemplate::parse(t).ok())
                .collect(),
            latest: true,
        }
    }
}

/// The tags pushed when `[push]` names none.
pub const DEFAULT_PUSH_TAGS: [&str; 2] = ["{branch}", "{sha}"];

/// A deploy trigger declared in `[deploy.NAME]`; its secret part (a URL, a
/// command) is in the keychain as `deploy-trigger PROJECT/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployTrigger {
    /// Its name (`hub`).
    pub name: String,
    /// What it does.
    pub kind: DeployKind,
    /// The branch it deploys; `None` is the repository's default branch.
    pub branch: Option<String>,
    /// For a command trigger: the command, when it is not a secret.
    pub run: Option<String>,
    /// For a command trigger: how long it may run (`None`: the default).
    pub timeout: Option<std::time::Duration>,
    /// For a webhook: how to send it.
    pub webhook: Option<Webhook>,
    /// Fire as soon as a merge when green lands and the merge commit is
    /// green on the branch.
    pub after_merge: bool,
    /// For a GitHub workflow: its file name or id; for a repository
    /// dispatch: the event type; for CircleCI: the project slug
    /// (`gh/OWNER/NAME`, by default the GitHub repository's).
    pub github_target: Option<String>,
    /// The workflow's inputs or the dispatch's payload, with `{sha}`,
    /// `{branch}`, `{image}`, `{tag}` and `{project}` filled in.
    pub inputs: BTreeMap<String, String>,
}

/// A generic webhook deploy trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// `POST`, `PUT`, `PATCH` or `GET`.
    pub method: String,
    /// The URL; `None` when it is a secret (in the keychain).
    pub url: Option<String>,
    /// Extra headers.
    pub headers: BTreeMap<String, String>,
    /// The body, with `{sha}`, `{branch}`, `{image}`, `{tag}` and
    /// `{project}` filled in.
    pub body: Option<String>,
    /// A header to carry `sha256=HMAC` of the body, keyed with the
    /// project's webhook secret.
    pub signature: Option<String>,
}

/// What a deploy trigger does.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DeployKind {
    /// A Docker Hub build trigger: a POST with `build=true` to the secret URL.
    Dockerhub,
    /// A shell command on this machine: `run`, or the secret command itself.
    Command,
    /// An HTTP request to any URL, optionally signed (HMAC-SHA256).
    Webhook,
    /// A GitHub Actions `workflow_dispatch`, followed to its conclusion.
    GithubWorkflow,
    /// A GitHub `repository_dispatch` event.
    GithubDispatch,
    /// A CircleCI pipeline on the branch, its workflows followed to the end.
    Circleci,
}

impl DeployKind {
    /// As written in `slipway.toml`.
    pub fn word(self) -> &'static str {
        match self {
            DeployKind::Dockerhub => "dockerhub",
            DeployKind::Command => "command",
            DeployKind::Webhook => "webhook",
            DeployKind::GithubWorkflow => "github-workflow",
            DeployKind::GithubDispatch => "github-dispatch",
            DeployKind::Circleci => "circleci",
        }
    }
}

/// Where a [`Pipeline`] came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PipelineSource {
    /// Read from a `slipway.toml`.
    File {
        /// Path of the file.
        path: PathBuf,
    },
    /// Inferred from the Dockerfile; there is no `slipway.toml`.
    Inferred,
    /// Imported from a CircleCI config; there is no `slipway.toml`.
    Imported {
        /// Path of the CI file.
        path: PathBuf,
    },
}

/// An image name and tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// Repository name, e.g. `user/app`.
    pub name: String,
    /// Tag, e.g. `latest`.
    pub tag: String,
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

/// How to build the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildSpec {
    /// Dockerfile path, relative to the context.
    pub dockerfile: String,
    /// Build context folder (absolute).
    pub context: PathBuf,
    /// `--build-arg` values.
    pub args: BTreeMap<String, String>,
    /// Multi-stage target, if any.
    pub target: Option<String>,
    /// Build without the layer cache.
    pub no_cache: bool,
    /// Which builder the engine uses.
    pub builder: Builder,
}

/// Which of the engine's builders builds the image.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Builder {
    /// BuildKit when the engine offers it, else the classic builder.
    #[default]
    Auto,
    /// BuildKit only.
    Buildkit,
    /// The classic builder only.
    Classic,
}

/// How to run the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSpec {
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Environment variables read from the keychain when the container
    /// starts; only their references are kept here.
    pub secrets: BTreeMap<String, crate::secrets::SecretId>,
    /// Command override (argv); `None` keeps the image's CMD.
    pub command: Option<Vec<String>>,
}

/// A published port: `[IP:]HOST:CONTAINER` or just `CONTAINER`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    /// Host address to bind; `127.0.0.1` unless the user says otherwise.
    pub host_ip: String,
    /// Host port; `None` lets the engine pick a free one.
    pub host_port: Option<u16>,
    /// Port inside the container.
    pub container_port: u16,
}

impl PortMapping {
    /// Parses `8080:80`, `0.0.0.0:8080:80` or `80`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.rsplitn(3, ':').collect();
        let port = |p: &str, what: &str| {
            p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                if p == text {
                    format!("invalid port {p:?}: expected \"HOST:CONTAINER\" like \"8080:80\", or a container port from 1 to 65535")
                } else {
                    format!("invalid {what} port {p:?} in {text:?}: expected a number from 1 to 65535")
                }
            })
        };
        let bad = || {
            format!(
                "invalid port mapping {text:?}: expected \"HOST:CONTAINER\" like \"8080:80\", or \"CONTAINER\""
            )
        };
        match parts.as_slice() {
            [container] => Ok(PortMapping {
                host_ip: "127.0.0.1".into(),
                host_port: None,
                container_port: port(container, "container")?,
            }),
            [container, host] => Ok(PortMapping {
                host_ip: "127.0.0.1".into(),
                host_port: if host.is_empty() {
                    None
                } else {
                    Some(port(host, "host")?)
                },
                container_port: port(container, "container")?,
            }),
            [container, host, ip] => {
                if ip.parse::<std::net::IpAddr>().is_err() {
                    return Err(format!(
                        "invalid host address {ip:?} in port mapping {text:?}"
                    ));
                }
                Ok(PortMapping {
                    host_ip: (*ip).to_string(),
                    host_port: if host.is_empty() {
                        None
                    } else {
                        Some(port(host, "host")?)
                    },
                    container_port: port(container, "container")?,
                })
            }
            _ => Err(bad()),
        }
    }
}

/// How readiness is probed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    /// What to probe.
    pub probe: Probe,
    /// Give up after this long.
    pub timeout: Duration,
    /// Longest wait between two attempts (the first ones come sooner).
    pub interval: Duration,
}

/// What a readiness probe checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Probe {
    /// An HTTP GET answered with a status in `status`.
    Http {
        /// Where to send the GET.
        target: HttpTarget,
        /// Accepted status codes, inclusive.
        status: StatusRange,
    },
    /// A TCP connection to a published container port that stays open.
    Tcp {
        /// Container port (published).
        container_port: u16,
    },
}

/// Where an HTTP probe goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpTarget {
    /// A path on a published container port.
    Path {
        /// Container port whose published host port is probed.
        container_port: u16,
        /// Path, starting with `/`.
        path: String,
    },
    /// A full URL.
    Url {
        /// The URL.
        url: String,
    },
}

/// An inclusive range of HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    /// Lowest accepted status.
    pub min: u16,
    /// Highest accepted status.
    pub max: u16,
}

impl StatusRange {
    /// The default: any success or redirect.
    pub const SUCCESS: StatusRange = StatusRange { min: 200, max: 399 };

    /// Parses `200`, `"200-299"` or `"2xx"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "invalid status {text:?}: expected a code like \"200\", a range like \"200-399\" or \"2xx\""
            )
        };
        let code = |t: &str| {
            t.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
        };
        let range = if let Some((a, b)) = text.split_once('-') {
            StatusRange {
                min: code(a).ok_or_else(bad)?,
                max: code(b).ok_or_else(bad)?,
            }
        } else if let Some(first) = text.strip_suffix("xx").and_then(|d| d.parse::<u16>().ok()) {
            if !(1..=5).contains(&first) {
                return Err(bad());
            }
            StatusRange {
                min: first * 100,
                max: first * 100 + 99,
            }
        } else {
            let c = code(text).ok_or_else(bad)?;
            StatusRange { min: c, max: c }
        };
        if range.min > range.max {
            return Err(format!(
                "invalid status range {text:?}: the first code is larger than the second"
            ));
        }
        Ok(range)
    }

    /// Whether `status` is accepted.
    pub fn contains(&self, status: u16) -> bool {
        (self.min..=self.max).contains(&status)
    }
}

/// Where a test step runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StepPlace {
    /// Inside the running container, through `docker exec`.
    #[default]
    Container,
    /// On the host, with `SLIPWAY_URL`, `SLIPWAY_HOST` and `SLIPWAY_PORT` set.
    Host,
}

/// A test step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestSpec {
    /// Name shown in the timeline.
    pub name: String,
    /// The command: a shell line (`sh -c`) or an argv.
    pub command: CommandLine,
    /// Where it runs.
    pub place: StepPlace,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Fail the step after this long.
    pub timeout: Duration,
    /// Files (relative to the project) whose contents, with the command and
    /// its environment, decide whether a host step is unchanged since it last
    /// passed; an unchanged step is not run again. Empty: it always runs.
    pub cache: Vec<PathBuf>,
}

/// A service the app needs, from `[[service]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSpec {
    /// Its name: the host name the app reaches it by, and the
    /// `SLIPWAY_SERVICE_<NAME>_HOST`/`_PORT` variables of host test steps.
    pub name: String,
    /// The image it runs (the engine must have it: nothing is pulled);
    /// empty when it is built.
    pub image: String,
    /// Its Dockerfile, built before it starts, instead of `image`.
    pub build: Option<ServiceBuild>,
    /// Its environment.
    pub env: BTreeMap<String, String>,
    /// How to tell it is ready.
    pub ready: ServiceReady,
    /// How long it may take to be ready.
    pub timeout: Duration,
}

impl ServiceSpec {
    /// The container port published on the host, when its probe names one.
    pub fn port(&self) -> Option<u16> {
        match &self.ready {
            ServiceReady::Tcp(port) | ServiceReady::Http { port, .. } => Some(*port),
            ServiceReady::Command(_) | ServiceReady::Started => None,
        }
    }

    /// `SLIPWAY_SERVICE_DB`: the prefix of its variables.
    pub fn env_prefix(&self) -> String {
        service_env_prefix(&self.name)
    }
}

/// `SLIPWAY_SERVICE_WEB_CACHE`: the prefix of service `name`'s variables
/// in host steps.
pub fn service_env_prefix(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SLIPWAY_SERVICE_{upper}")
}

/// A service built from a Dockerfile of the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceBuild {
    /// The folder the Dockerfile is in: the build's context.
    pub context: PathBuf,
    /// The Dockerfile's name in it.
    pub dockerfile: String,
}

/// How a service is known to be ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ServiceReady {
    /// Its container port accepts a TCP connection.
    Tcp(u16),
    /// An HTTP GET of `path` on its container port answers 2xx or 3xx.
    Http {
        /// The container port.
        port: u16,
        /// The path.
        path: String,
    },
    /// A command run in its container exits 0.
    Command(CommandLine),
    /// Started is ready (no probe given).
    Started,
}

/// A command as written in the pipeline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum CommandLine {
    /// Run through `sh -c`.
    Shell(String),
    /// Run as is.
    Argv(Vec<String>),
}

impl CommandLine {
    /// The argv to execute.
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandLine::Shell(line) => vec!["/bin/sh".into(), "-c".into(), line.clone()],
            CommandLine::Argv(argv) => argv.clone(),
        }
    }

    /// A short form for display.
    pub fn display(&self) -> String {
        match self {
            CommandLine::Shell(line) => line.clone(),
            CommandLine::Argv(argv) => argv.join(" "),
        }
    }
}

/// When a run's containers are removed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum CleanupPolicy {
    /// Remove them whatever the outcome.
    #[default]
    Always,
    /// Keep them after a failure, for debugging.
    OnSuccess,
    /// Keep them; `slipway clean` removes them later.
    Never,
}

/// A mistake in a pipeline file, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
pub struct ConfigError {
    /// Where the mistake is, when it is in a file.
    pub location: Option<Location>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// A position in a file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

impl Location {
    /// The line and column of byte `offset` in `text`.
    pub fn at(path: &Path, text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = &text[..text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        Location {
            path: path.to_path_buf(),
            line,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl From<ConfigError> for crate::Problem {
    fn from(e: ConfigError) -> Self {
        e.problem()
    }
}

impl ConfigError {
    /// An error not tied to a position.
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            location: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The error as a user-facing problem.
    pub fn problem(&self) -> crate::Problem {
        let problem = crate::Problem::new(crate::ErrorCode::BadConfig, self.to_string());
        match &self.hint {
            Some(h) => problem.with_hint(h.clone()),
            None => problem,
        }
    }
}

/// Parses `text` as a `slipway.toml` at `path` for the project at `root`.
pub(crate) fn parse_text(root: &Path, path: &Path, text: &str) -> Result<Pipeline, ConfigError> {
    file::parse(root, path, text)
}

/// Checks the project folder `root` and reads its `slipway.toml`: the
/// folder's canonical path and the file's pipeline, `None` without a file.
/// The project module falls back on an import or an inference.
pub fn load_file(root: &Path) -> Result<(PathBuf, Option<Pipeline>), ConfigError> {
    let root = root.canonicalize().map_err(|e| {
        ConfigError::new(format!(
            "cannot open project folder {}: {e}",
            root.display()
        ))
        .with_hint("Check the path; it must be a folder containing a Dockerfile.")
    })?;
    if !root.is_dir() {
        return Err(
            ConfigError::new(format!("{} is not a folder", root.display()))
                .with_hint("Pass the project's folder, not a file."),
        );
    }
    let path = root.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let pipeline = file::parse(&root, &path, &text)?;
            Ok((root, Some(pipeline)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((root, None)),
        Err(e) => Err(ConfigError::new(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// For this module's tests: the file's pipeline, or the inferred one.
#[cfg(test)]
pub(crate) fn load(root: &Path) -> Result<Pipeline, ConfigError> {
    let (root, file) = load_file(root)?;
    file.map_or_else(|| infer(&root), Ok)
}

/// The default image and project name for a folder: its name, lowercased,
/// with characters Docker rejects replaced by `-`.
pub fn default_name(root: &Path) -> String {
    let raw = root
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if name.is_empty() { "app".into() } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_mappings() {
        let p = PortMapping::parse("8080:80").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.host_port, p.container_port),
            ("127.0.0.1", Some(8080), 80)
        );
        let p = PortMapping::parse("80").unwrap();
        assert_eq!((p.host_port, p.container_port), (None, 80));
        let p = PortMapping::parse("0.0.0.0:8080:80").unwrap();
        assert_eq!(p.host_ip, "0.0.0.0");
        assert!(PortMapping::parse("abc").unwrap_err().contains("\"abc\""));
        assert!(PortMapping::parse("70000:80").is_err());
        assert!(PortMapping::parse("nohost:1:2").is_err());
    }

    #[test]
    fn status_ranges() {
        assert_eq!(
            StatusRange::parse("200-299").unwrap(),
            StatusRange { min: 200, max: 299 }
        );
        assert_eq!(
            StatusRange::parse("2xx").unwrap(),
            StatusRange { min: 200, max: 299 }
        );
        assert_eq!(
            StatusRange::parse("204").unwrap(),
            StatusRange { min: 204, max: 204 }
        );
        assert!(StatusRange::parse("299-200").is_err());
        assert!(StatusRange::parse("ok").is_err());
    }

    #[test]
    fn locations_count_lines_and_characters() {
        let loc = Location::at(Path::new("f"), "a\nbé = 1\n", 6);
        assert_eq!((loc.line, loc.column), (2, 4));
    }

    #[test]
    fn default_names_are_docker_safe() {
        assert_eq!(default_name(Path::new("/x/My App!")), "my-app");
        assert_eq!(default_name(Path::new("/x/hello")), "hello");
        assert_eq!(default_name(Path::new("/x/__")), "app");
    }
}
