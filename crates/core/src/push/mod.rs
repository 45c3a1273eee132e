//! Registry push of the image a pipeline built, under the tags of the
//! project's `[push]` scheme (the branch, the short SHA, `latest` on the
//! default branch). [`plan`] says what would be pushed, and refuses an image
//! not built from the commit its tags name; [`push`] tags and pushes it with
//! the registry login from the keychain or the docker CLI, reporting each
//! layer's progress.

mod stream;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::accounts::RegistryCredentials;
use crate::config::Pipeline;
use crate::config::tags::is_tag;
use crate::engine::{Engine, EngineError};
use crate::pipeline::{DIRTY_SUFFIX, LABEL_COMMIT};
use crate::{ErrorCode, Problem};

/// The registry of a repository with no host in its name.
pub const DOCKER_HUB: &str = "docker.io";
/// The address the engine and the docker CLI file Docker Hub logins under.
const DOCKER_HUB_ADDRESS: &str = "https://index.docker.io/v1/";
/// How often one layer's byte count is reported while it uploads.
const LAYER_EVERY: Duration = Duration::from_millis(100);

/// The image a deploy of `sha` on `branch` refers to: the `[push]`
/// repository under the scheme's tag for that commit (its first tag with
/// `{sha}`, else its first tag, else `latest`). Returns (repository, tag).
pub fn deploy_reference(pipeline: &Pipeline, branch: &str, sha: &str) -> (String, String) {
    let scheme = &pipeline.push.tags;
    let template = scheme.iter().find(|t| t.has_sha()).or(scheme.first());
    let tag = match template {
        Some(t) => t.render(branch, sha),
        None => "latest".to_string(),
    };
    (pipeline.push.repository.clone(), tag)
}

/// What a push would do: which image, where, under which tags.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushPlan {
    /// The image the pipeline builds (`shop/web:latest`).
    pub image: String,
    /// Its id (`sha256:…`).
    pub image_id: String,
    /// The repository pushed to (`registry.example.com:5000/shop/web`).
    pub repository: String,
    /// Its registry's host as logins are filed (`docker.io`, `localhost:5000`).
    pub registry: String,
    /// The tags pushed, in order.
    pub tags: Vec<String>,
    /// The commit HEAD is at.
    pub commit: String,
    /// The checked-out branch; `None` on a detached HEAD.
    pub branch: Option<String>,
    /// Tags of the scheme left out, and why (`latest: main is the default branch`).
    pub notes: Vec<String>,
}

/// How far one layer's upload is.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerState {
    /// Being read from the engine's store.
    Preparing,
    /// Queued behind other layers.
    Waiting,
    /// Uploading.
    Pushing,
    /// Uploaded.
    Pushed,
    /// The registry has it already (or mounted it from another repository).
    Exists,
    /// An upload failed and is being tried again.
    Retrying,
}

impl LayerState {
    fn parse(status: &str) -> Option<Self> {
        Some(match status {
            "Preparing" => LayerState::Preparing,
            "Waiting" => LayerState::Waiting,
            "Pushing" => LayerState::Pushing,
            "Pushed" => LayerState::Pushed,
            "Layer already exists" => LayerState::Exists,
            s if s.starts_with("Mounted from") => LayerState::Exists,
            s if s.starts_with("Retrying") => LayerState::Retrying,
            _ => return None,
        })
    }

    /// Whether the layer is on the registry.
    pub fn is_done(self) -> bool {
        matches!(self, LayerState::Pushed | LayerState::Exists)
    }
}

/// What a push reports as it goes.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PushEvent {
    /// Pushing this tag begins.
    Tag { tag: String },
    /// A layer moved on: its state, and bytes sent of its size while it
    /// uploads (0 when the engine does not say).
    Layer {
        id: String,
        state: LayerState,
        current: u64,
        total: u64,
    },
    /// A message about no layer (an engine reached over TLS reports only these).
    Status { text: String },
    /// The tag is on the registry, with the manifest's digest.
    Pushed { tag: String, digest: String },
}

/// What a finished push did.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushReport {
    /// The repository pushed to.
    pub repository: String,
    /// Each tag pushed and its manifest digest.
    pub tags: Vec<PushedTag>,
    /// Layers uploaded, and layers the registry had already.
    pub uploaded: u32,
    pub existing: u32,
    /// How long it took.
    pub ms: u64,
}

/// One pushed tag.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushedTag {
    pub tag: String,
    pub digest: String,
}

/// The registry a repository is on, as logins are filed: its first part
/// when that is a host (has a '.' or ':', or is `localhost`), else Docker Hub.
pub fn registry_of(repository: &str) -> String {
    match repository.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => match first {
            "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
                DOCKER_HUB.to_string()
            }
            other => other.to_string(),
        },
        _ => DOCKER_HUB.to_string(),
    }
}

/// The tags the scheme gives for this commit and branch, and notes on the
/// ones left out.
fn scheme_tags(
    pipeline: &Pipeline,
    branch: Option<&str>,
    commit: &str,
    default_branch: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    let mut tags: Vec<String> = Vec::new();
    let mut notes = Vec::new();
    for template in &pipeline.push.tags {
        if template.has_branch() && branch.is_none() {
            notes.push(format!("{template}: HEAD is on no branch"));
            continue;
        }
        let tag = template.render(branch.unwrap_or_default(), commit);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if pipeline.push.latest {
        match (branch, default_branch) {
            (Some(b), Some(d)) if b == d => {
                if !tags.iter().any(|t| t == "latest") {
                    tags.push("latest".into());
                }
            }
            (_, Some(d)) => notes.push(format!("latest: only from {d}, the default branch")),
            (_, None) => notes.push(
                "latest: the default branch is unknown (`git remote set-head origin --auto` sets it)"
                    .into(),
            ),
        }
    }
    (tags, notes)
}

/// What pushing the project's image would do. The image must have been
/// built from HEAD with no uncommitted changes when the tags come from the
/// scheme; `tag` replaces the scheme with one tag of the user's choice.
pub async fn plan(
    engine: &Engine,
    pipeline: &Pipeline,
    tag: Option<&str>,
) -> Result<PushPlan, Problem> {
    if let Some(tag) = tag.filter(|t| !is_tag(t)) {
        return Err(
            Problem::new(ErrorCode::BadConfig, format!("invalid tag {tag:?}"))
                .with_hint("Use letters, digits, '_', '.' and '-', not starting with '.' or '-'."),
        );
    }
    let root = &pipeline.root;
    let (git, default_branch) =
        tokio::join!(crate::git::inspect(root), crate::git::default_branch(root));
    let git = git?;
    let image = pipeline.image.to_string();
    let inspected = match engine.docker().inspect_image(&image).await {
        Ok(i) => i,
        Err(e) => {
            return Err(match engine.error(e) {
                EngineError::Api { status: 404, .. } => Problem::new(
                    ErrorCode::NotFound,
                    format!("there is no image {image} to push"),
                )
                .with_hint("Run the pipeline first: it builds the image."),
                other => other.problem(),
            });
        }
    };
    let built_from = inspected
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(LABEL_COMMIT))
        .cloned();
    if tag.is_none() && built_from.as_deref() != Some(git.commit.as_str()) {
        let short = crate::git::short_sha(&git.commit);
        let message = match built_from.as_deref() {
            None => format!(
                "{image} was not built by Slipway from a commit, so it cannot be tagged {short}"
            ),
            Some(label) if label.ends_with(DIRTY_SUFFIX) => {
                format!("{image} was built from uncommitted changes, not from commit {short}")
            }
            Some(label) => format!(
                "{image} was built from commit {}, not from HEAD ({short})",
                crate::git::short_sha(label)
            ),
        };
        let hint = match git.dirty {
            true => "Commit your changes and run the pipeline, then push.",
            false => "Run the pipeline to build HEAD, then push.",
        };
        return Err(Problem::new(ErrorCode::Conflict, message).with_hint(hint));
    }
    let (tags, notes) = match tag {
        Some(tag) => (vec![tag.to_string()], Vec::new()),
        None => scheme_tags(
            pipeline,
            git.branch.as_deref(),
            &git.commit,
            default_branch.as_deref(),
        ),
    };
    if tags.is_empty() {
        return Err(Problem::new(
            ErrorCode::BadConfig,
            format!("no tag to push: {}", notes.join("; ")),
        )
        .with_hint("Check out a branch first."));
    }
    Ok(PushPlan {
        image,
        image_id: inspected.id.unwrap_or_default(),
        repository: pipeline.push.repository.clone(),
        registry: registry_of(&pipeline.push.repository),
        tags,
        commit: git.commit,
        branch: git.branch,
        notes,
    })
}

/// The login to push to `registry` with: Slipway's, else the docker CLI's.
pub async fn credentials(registry: &str) -> Result<Option<RegistryCredentials>, Problem> {
    Ok(crate::accounts::AccountStore::open_default()?
        .registry_credentials(registry)
        .await?)
}

/// Tags the image and pushes each tag of `plan`. Local tags made for the
/// push are removed again, whatever the outcome.
pub async fn push(
    engine: &Engine,
    plan: &PushPlan,
    credentials: Option<&RegistryCredentials>,
    mut events: impl FnMut(PushEvent) + Send,
) -> Result<PushReport, Problem> {
    let started = Instant::now();
    let mut made = Vec::new();
    let result = push_tags(engine, plan, credentials, &mut made, &mut events).await;
    for reference in made {
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::default()
            .noprune(true)
            .build();
        if let Err(e) = engine
            .docker()
            .remove_image(&reference, Some(options), None)
            .await
        {
            tracing::warn!("could not remove the push's tag {reference}: {e}");
        }
    }
    let (tags, layers) = result?;
    let uploaded = layers
        .values()
        .filter(|s| s.contains(&LayerState::Pushed))
        .count();
    Ok(PushReport {
        repository: plan.repository.clone(),
        tags,
        uploaded: uploaded as u32,
        existing: (layers.len() - uploaded) as u32,
        ms: started.elapsed().as_millis() as u64,
    })
}

async fn push_tags(
    engine: &Engine,
    plan: &PushPlan,
    credentials: Option<&RegistryCredentials>,
    made: &mut Vec<String>,
    events: &mut (dyn FnMut(PushEvent) + Send),
) -> Result<(Vec<PushedTag>, BTreeMap<String, BTreeSet<LayerState>>), Problem> {
    let docker = engine.docker();
    for tag in &plan.tags {
        let reference = format!("{}:{tag}", plan.repository);
        if reference == plan.image {
            continue;
        }
        let existed = docker.inspect_image(&reference).await.is_ok();
        let options = bollard::query_parameters::TagImageOptionsBuilder::default()
            .repo(&plan.repository)
            .tag(tag)
            .build();
        docker
            .tag_image(&plan.image_id, Some(options))
            .await
            .map_err(|e| engine.error(e).problem())?;
        if !existed {
            made.push(reference);
        }
    }
    let login = login(&plan.registry, credentials);
    let mut pushed = Vec::new();
    // Every state each layer reached, over all tags.
    let mut layers: BTreeMap<String, BTreeSet<LayerState>> = BTreeMap::new();
    let mut last: BTreeMap<String, (LayerState, Instant)> = BTreeMap::new();
    for tag in &plan.tags {
        events(PushEvent::Tag { tag: tag.clone() });
        let mut failure = None;
        let mut digest = None;
        stream::push(engine, &plan.repository, tag, &login, &mut |message| {
            if let Some(error) = message.failure() {
                failure.get_or_insert_with(|| error.to_string());
                return;
            }
            let status = message.status.as_deref().unwrap_or_default();
            match (&message.id, LayerState::parse(status)) {
                (Some(id), Some(state)) => {
                    let progress = message.progress.unwrap_or_default();
                    layers.entry(id.clone()).or_default().insert(state);
                    let now = Instant::now();
                    let recent = last.get(id).is_some_and(|(s, at)| {
                        *s == state && now.duration_since(*at) < LAYER_EVERY
                    });
                    if recent {
                        return;
                    }
                    last.insert(id.clone(), (state, now));
                    events(PushEvent::Layer {
                        id: id.clone(),
                        state,
                        current: progress.current.unwrap_or(0),
                        total: progress.total.unwrap_or(0),
                    });
                }
                _ => match manifest_digest(status) {
                    Some(d) => digest = Some(d),
                    // The engine's first line repeats the repository.
                    None if status.starts_with("The push refers to") => {}
                    None if !status.is_empty() && message.id.is_none() => {
                        events(PushEvent::Status {
                            text: status.to_string(),
                        })
                    }
                    None => {}
                },
            }
        })
        .await
        .map_err(|e| match e {
            EngineError::Api { message, .. } => refusal(&message, plan, tag, credentials),
            other => other.problem(),
        })?;
        if let Some(error) = failure {
            return Err(refusal(&error, plan, tag, credentials));
        }
        let digest = digest.unwrap_or_default();
        events(PushEvent::Pushed {
            tag: tag.clone(),
            digest: digest.clone(),
        });
        pushed.push(PushedTag {
            tag: tag.clone(),
            digest,
        });
    }
    Ok((pushed, layers))
}

/// The login the engine pushes with; empty without one.
fn login(
    registry: &str,
    credentials: Option<&RegistryCredentials>,
) -> bollard::auth::DockerCredentials {
    match credentials {
        Some(c) => bollard::auth::DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.expose().to_string()),
            serveraddress: Some(
                match registry {
                    DOCKER_HUB => DOCKER_HUB_ADDRESS,
                    other => other,
                }
                .to_string(),
            ),
            ..Default::default()
        },
        None => bollard::auth::DockerCredentials::default(),
    }
}

/// `latest: digest: sha256:… size: 528` → `sha256:…`.
fn manifest_digest(status: &str) -> Option<String> {
    let (_, rest) = status.split_once(": digest: ")?;
    let digest = rest.split_whitespace().next()?;
    digest.starts_with("sha256:").then(|| digest.to_string())
}

/// What the registry's refusal means, in the user's words.
fn refusal(
    message: &str,
    plan: &PushPlan,
    tag: &str,
    credentials: Option<&RegistryCredentials>,
) -> Problem {
    let lower = message.to_lowercase();
    let registry = &plan.registry;
    let repository = &plan.repository;
    let login = |user: Option<&str>| crate::Remedy::SignIn {
        service: crate::Service::Registry,
        host: Some(registry.clone()),
        user: user.map(str::to_string),
    };
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&[
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "incorrect username or password",
    ]) {
        return match credentials {
            None => Problem::new(
                ErrorCode::AuthRejected,
                format!(
                    "{registry} wants a login to push {repository}, and you are not signed in to it"
                ),
            )
            .with_remedy(login(None)),
            Some(c) => Problem::new(
                ErrorCode::AuthRejected,
                format!(
                    "{registry} refused the user name or password of {}",
                    c.username
                ),
            )
            .with_remedy(login(Some(&c.username))),
        };
    }
    if has(&["denied", "forbidden", "not allowed", "unsupported"]) {
        let who = credentials.map_or("without a login".to_string(), |c| {
            format!("as {}", c.username)
        });
        return Problem::new(
            ErrorCode::AuthRejected,
            format!("{registry} denied pushing to {repository} {who}"),
        )
        .with_hint("Check that this account may push to that repository (on Docker Hub it must exist and belong to you or your organisation), or change `repository` under [push] in slipway.toml.");
    }
    if has(&[
        "name unknown",
        "repository name not known",
        "does not exist",
        "not found",
    ]) {
        return Problem::new(
            ErrorCode::NotFound,
            format!("{registry} has no repository {repository}"),
        )
        .with_hint("Create the repository on the registry, or fix `repository` under [push] in slipway.toml.");
    }
    if has(&[
        "connection refused",
        "no such host",
        "dial tcp",
        "i/o timeout",
        "server gave http response to https client",
        "tls:",
        "x509",
    ]) {
        return Problem::new(
            ErrorCode::ServiceUnavailable,
            format!("cannot reach the registry {registry}: {}", message.trim()),
        )
        .with_hint("Check the host in `repository` under [push] and that the registry is up; a registry without TLS must be on localhost or in the engine's insecure-registries.");
    }
    Problem::new(
        ErrorCode::DockerError,
        format!("pushing {repository}:{tag} failed: {}", message.trim()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tags::TagTemplate;
    use base64::Engine as _;

    fn pipeline(tags: &[&str], latest: bool) -> Pipeline {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("Dockerfile");
        let mut p = crate::config::infer(dir.path()).expect("pipeline");
        p.push.tags = tags
            .iter()
            .map(|t| TagTemplate::parse(t).unwrap())
            .collect();
        p.push.latest = latest;
        p
    }

    #[test]
    fn tags_follow_the_scheme() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let p = pipeline(&["{branch}", "{sha}", "v-{branch}-{sha}"], true);
        let (tags, notes) = scheme_tags(&p, Some("feature/Login"), sha, Some("main"));
        assert_eq!(
            tags,
            ["feature-Login", "0123456", "v-feature-Login-0123456"]
        );
        assert_eq!(notes, ["latest: only from main, the default branch"]);
        let (tags, notes) = scheme_tags(&p, Some("main"), sha, Some("main"));
        assert_eq!(tags, ["main", "0123456", "v-main-0123456", "latest"]);
        assert!(notes.is_empty());
        let (tags, notes) = scheme_tags(&p, None, sha, None);
        assert_eq!(tags, ["0123456"]);
        assert_eq!(notes.len(), 3, "{notes:?}");
        let p = pipeline(&["{sha}"], false);
        let (tags, notes) = scheme_tags(&p, Some("main"), sha, Some("main"));
        assert_eq!((tags, notes), (vec!["0123456".to_string()], Vec::new()));
    }

    #[test]
    fn a_deploy_names_the_commits_image() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let mut p = pipeline(&["{branch}", "v-{sha}"], true);
        p.push.repository = "reg.example.com/shop/web".into();
        assert_eq!(
            deploy_reference(&p, "main", sha),
            (
                "reg.example.com/shop/web".to_string(),
                "v-0123456".to_string()
            )
        );
        p.push.tags = vec![TagTemplate::parse("{branch}").unwrap()];
        assert_eq!(deploy_reference(&p, "release/1", sha).1, "release-1");
        p.push.tags.clear();
        assert_eq!(deploy_reference(&p, "main", sha).1, "latest");
    }

    #[test]
    fn registries_are_found_from_names() {
        assert_eq!(registry_of("shop/web"), "docker.io");
        assert_eq!(registry_of("web"), "docker.io");
        assert_eq!(registry_of("localhost/web"), "localhost");
        assert_eq!(registry_of("127.0.0.1:5000/shop/web"), "127.0.0.1:5000");
        assert_eq!(registry_of("index.docker.io/shop/web"), "docker.io");
        assert_eq!(
            manifest_digest("main: digest: sha256:abcd size: 528").as_deref(),
            Some("sha256:abcd")
        );
        assert_eq!(manifest_digest("The push refers to repository [x]"), None);
    }

    #[test]
    fn refusals_say_what_to_do() {
        let plan = PushPlan {
            image: "web:latest".into(),
            image_id: "sha256:1".into(),
            repository: "127.0.0.1:5000/shop/web".into(),
            registry: "127.0.0.1:5000".into(),
            tags: vec!["main".into()],
            commit: "0".repeat(40),
            branch: Some("main".into()),
            notes: Vec::new(),
        };
        let user = RegistryCredentials {
            username: "ci".into(),
            password: crate::secrets::Secret::new("hunter2"),
            source: crate::accounts::AccountSource::Slipway,
        };
        let p = refusal(
            "unauthorized: authentication required",
            &plan,
            "main",
            Some(&user),
        );
        assert_eq!(p.code, ErrorCode::AuthRejected);
        assert!(
            p.message
                .contains("refused the user name or password of ci"),
            "{}",
            p.message
        );
        assert_eq!(
            p.remedy,
            Some(crate::Remedy::SignIn {
                service: crate::Service::Registry,
                host: Some("127.0.0.1:5000".into()),
                user: Some("ci".into()),
            })
        );
        let p = refusal("no basic auth credentials", &plan, "main", None);
        assert!(p.message.contains("not signed in"), "{}", p.message);
        let p = refusal(
            "denied: requested access to the resource is denied",
            &plan,
            "main",
            Some(&user),
        );
        assert!(
            p.message
                .contains("denied pushing to 127.0.0.1:5000/shop/web as ci"),
            "{}",
            p.message
        );
        let p = refusal(
            "name unknown: repository name not known to registry",
            &plan,
            "main",
            None,
        );
        assert_eq!(p.code, ErrorCode::NotFound);
        let header = stream::auth_header(&login("127.0.0.1:5000", Some(&user)));
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(header)
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(json["serveraddress"], "127.0.0.1:5000");
        assert_eq!(json["password"], "hunter2");
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
