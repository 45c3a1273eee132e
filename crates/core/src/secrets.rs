//! Credentials in the OS keychain: the only code that talks to it.
//!
//! Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows. Every entry is filed under the service name [`SERVICE`] with a
//! user name that says what it is (`github-token/github.com`), so
//! `secret-tool search --all service slipway` lists them.
//!
//! A [`Secret`] prints as `***` and has no `Serialize`, so it cannot reach a
//! log, a file, the web view or an error message by accident; reading it
//! takes an explicit [`Secret::expose`].
//!
//! Front ends and the rest of the core go through [`Secrets`], whose calls
//! are async (the keychain's D-Bus round trips run off the async threads);
//! tests can give it an in-memory store instead of the OS keychain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zeroize::Zeroize;

use crate::{ErrorCode, Problem};

/// The service name every Slipway entry is filed under.
pub const SERVICE: &str = "slipway";

/// A secret value: a token, a password, a URL with a token in it.
///
/// Debug and Display print `***`; the memory is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value, trimming the line ending a paste or `echo` leaves.
    pub fn new(value: impl Into<String>) -> Self {
        let mut value = value.into();
        let trimmed = value.trim_end_matches(['\r', '\n']).len();
        value.truncate(trimmed);
        Secret(value)
    }

    /// The value, for the one place that has to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether there is nothing in it (an empty paste).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Which secret: its kind and what it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretId {
    /// A GitHub token for one host (`github.com` or a GitHub Enterprise host).
    GithubToken { host: String },
    /// The password or token for one registry (its user name is not secret).
    RegistryPassword { host: String },
    /// A CircleCI personal API token for one CircleCI host.
    CircleciToken { host: String },
    /// A deploy trigger URL (it embeds a token) of one project.
    DeployTrigger { project: String, trigger: String },
    /// The secret that signs one project's webhook.
    WebhookSecret { project: String, trigger: String },
    /// One variable of a CircleCI context, for workflows run here.
    ContextVar { context: String, var: String },
}

impl SecretId {
    /// The entry's user name under [`SERVICE`]: `kind/what`.
    pub fn account(&self) -> String {
        match self {
            SecretId::GithubToken { host } => format!("github-token/{host}"),
            SecretId::RegistryPassword { host } => format!("registry/{host}"),
            SecretId::CircleciToken { host } => format!("circleci-token/{host}"),
            SecretId::DeployTrigger { project, trigger } => {
                format!("deploy-trigger/{project}/{trigger}")
            }
            SecretId::WebhookSecret { project, trigger } => {
                format!("webhook-secret/{project}/{trigger}")
            }
            SecretId::ContextVar { context, var } => format!("context/{context}/{var}"),
        }
    }

    /// What a person calls it: "the GitHub token for github.com".
    pub fn describe(&self) -> String {
        match self {
            SecretId::GithubToken { host } => format!("the GitHub token for {host}"),
            SecretId::RegistryPassword { host } => format!("the password for registry {host}"),
            SecretId::CircleciToken { host } => format!("the CircleCI token for {host}"),
            SecretId::DeployTrigger { project, trigger } => {
                format!("the deploy trigger URL {trigger:?} of project {project}")
            }
            SecretId::WebhookSecret { project, trigger } => {
                format!("the webhook secret {trigger:?} of project {project}")
            }
            SecretId::ContextVar { context, var } => {
                format!("the variable {var} of context {context}")
            }
        }
    }

    /// Signing in, for a secret an account keeps.
    pub fn remedy(&self) -> Option<crate::Remedy> {
        use crate::{Remedy, Service};
        match self {
            SecretId::GithubToken { host } if host == crate::http::GITHUB_HOST => {
                Some(Remedy::sign_in(Service::Github, None))
            }
            SecretId::GithubToken { host } => Some(Remedy::sign_in(Service::Github, Some(host))),
            SecretId::RegistryPassword { host } => {
                Some(Remedy::sign_in(Service::Registry, Some(host)))
            }
            SecretId::CircleciToken { .. } => Some(Remedy::sign_in(Service::Circleci, None)),
            SecretId::DeployTrigger { .. }
            | SecretId::WebhookSecret { .. }
            | SecretId::ContextVar { .. } => None,
        }
    }

    /// A problem's hint for it missing: signing in, or the command that
    /// stores it.
    pub fn missing(&self, problem: Problem) -> Problem {
        match self.remedy() {
            Some(remedy) => problem.with_remedy(remedy),
            None => problem.with_hint(self.how_to_set()),
        }
    }

    /// How to store it (signing in, for an account's secret).
    pub fn how_to_set(&self) -> String {
        if let Some(remedy) = self.remedy() {
            return remedy.words();
        }
        match self {
            SecretId::GithubToken { .. }
            | SecretId::RegistryPassword { .. }
            | SecretId::CircleciToken { .. } => String::new(),
            SecretId::DeployTrigger { project, trigger } => format!(
                "Store it with `slipway secret set deploy-trigger {project}/{trigger}` (the URL on stdin)."
            ),
            SecretId::WebhookSecret { project, trigger } => format!(
                "Store it with `slipway secret set webhook-secret {project}/{trigger}` (the secret on stdin)."
            ),
            SecretId::ContextVar { context, var } => format!(
                "Store it with `slipway secret set context {context}/{var}` (the value on stdin)."
            ),
        }
    }

    /// Parses a reference from slipway.toml: `deploy-trigger/NAME` and
    /// `webhook-secret/NAME` (of `project`), `github-token/HOST`,
    /// `circleci-token/HOST`, `registry/HOST`.
    pub fn parse_reference(reference: &str, project: &str) -> Result<Self, String> {
        let (kind, name) = reference.split_once('/').unwrap_or((reference, ""));
        let name = name.trim();
        if name.is_empty() || name.contains('/') {
            return Err(format!(
                "{reference:?} is not a secret reference: write KIND/NAME, like \"deploy-trigger/dockerhub\""
            ));
        }
        let (project, name) = (project.to_string(), name.to_string());
        Ok(match kind {
            "deploy-trigger" => SecretId::DeployTrigger {
                project,
                trigger: name,
            },
            "webhook-secret" => SecretId::WebhookSecret {
                project,
                trigger: name,
            },
            "github-token" => SecretId::GithubToken { host: name },
            "circleci-token" => SecretId::CircleciToken { host: name },
            "registry" => SecretId::RegistryPassword { host: name },
            other => {
                return Err(format!(
                    "unknown secret kind {other:?}: use deploy-trigger, webhook-secret, github-token, circleci-token or registry"
                ));
            }
        })
    }

    fn label(&self) -> String {
        let what = self.describe();
        let what = what.strip_prefix("the ").unwrap_or(&what);
        format!("Slipway: {what}")
    }
}

/// A reference serialises as its entry name, never as a value.
impl serde::Serialize for SecretId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.account())
    }
}

/// Why the keychain could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No session bus to find a Secret Service on.
    #[error("there is no D-Bus session bus, so the keychain (Secret Service) cannot be reached")]
    NoSessionBus,
    /// A session bus without a Secret Service on it.
    #[error("no keychain (Secret Service) is running on the session bus")]
    NoService { detail: String },
    /// The keychain is there but locked, or refused access.
    #[error("the keychain is locked")]
    Locked { detail: String },
    /// The secret a step needs was never stored, or was removed.
    #[error("{} is not set", .id.describe())]
    Missing { id: SecretId },
    /// An empty value was given to store (an empty paste).
    #[error("{} is empty", .id.describe())]
    Empty { id: SecretId },
    /// Anything else the keychain reported.
    #[error("the keychain failed: {detail}")]
    Failed { detail: String },
}

impl SecretError {
    /// The problem as a user sees it, with what to do next.
    pub fn problem(&self) -> Problem {
        let message = self.to_string();
        match self {
            SecretError::NoSessionBus => Problem::new(ErrorCode::KeychainUnavailable, message)
                .with_hint(
                    "Run Slipway inside a desktop session, or start a bus and a keychain for this shell: \
                     `dbus-run-session -- sh -c 'gnome-keyring-daemon --unlock --components=secrets; exec $SHELL'`.",
                ),
            SecretError::NoService { .. } => Problem::new(ErrorCode::KeychainUnavailable, message)
                .with_hint(
                    "Start one: `gnome-keyring-daemon --start --components=secrets` (GNOME Keyring), \
                     or enable the Secret Service in KeePassXC or KWallet.",
                ),
            SecretError::Locked { .. } => Problem::new(ErrorCode::KeychainLocked, message).with_hint(
                "Unlock your login keyring (Passwords and Keys, or `gnome-keyring-daemon --unlock` \
                 with the password on stdin), then try again.",
            ),
            SecretError::Missing { id } => {
                id.missing(Problem::new(ErrorCode::SecretMissing, message))
            }
            SecretError::Empty { .. } => Problem::new(ErrorCode::BadConfig, message)
                .with_hint("Pass the value on standard input."),
            SecretError::Failed { .. } => Problem::new(ErrorCode::KeychainUnavailable, message),
        }
    }

    fn from_keyring(error: keyring_core::Error, id: &SecretId) -> Self {
        use keyring_core::Error as K;
        match error {
            K::NoEntry => SecretError::Missing { id: id.clone() },
            K::NoStorageAccess(e) => SecretError::Locked {
                detail: crate::error::root_cause(e.as_ref()),
            },
            K::PlatformFailure(e) => Self::from_platform(crate::error::root_cause(e.as_ref())),
            // These carry the stored bytes: never format them.
            K::BadEncoding(_) | K::BadDataFormat(..) => SecretError::Failed {
                detail: format!("{} is stored in a form Slipway cannot read", id.describe()),
            },
            K::Ambiguous(entries) => SecretError::Failed {
                detail: format!(
                    "{} entries match {}; remove the extra ones with your keychain's manager",
                    entries.len(),
                    id.describe()
                ),
            },
            other => SecretError::Failed {
                detail: other.to_string(),
            },
        }
    }

    fn from_platform(detail: String) -> Self {
        let lower = detail.to_ascii_lowercase();
        if lower.contains("dbus_session_bus_address")
            || lower.contains("session bus")
            || lower.contains("no such file or directory")
            || lower.contains("connection refused")
        {
            SecretError::NoSessionBus
        } else if lower.contains("serviceunknown")
            || lower.contains("was not provided by any")
            || lower.contains("org.freedesktop.secrets")
            || lower.contains("name has no owner")
        {
            SecretError::NoService { detail }
        } else if lower.contains("locked") || lower.contains("prompt") {
            SecretError::Locked { detail }
        } else {
            SecretError::Failed { detail }
        }
    }
}

impl From<SecretError> for Problem {
    fn from(e: SecretError) -> Self {
        e.problem()
    }
}

type Store = Arc<keyring_core::CredentialStore>;

/// A connection to the OS keychain. Calls block (D-Bus round trips): from
/// async code, use them inside `spawn_blocking`.
#[derive(Clone)]
pub struct Keychain {
    store: Store,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain")
            .field("vendor", &self.store.vendor())
            .finish()
    }
}

impl Keychain {
    /// Connects to the platform's keychain.
    pub fn open() -> Result<Self, SecretError> {
        Ok(Keychain {
            store: platform_store()?,
        })
    }

    fn entry(&self, id: &SecretId) -> Result<keyring_core::Entry, SecretError> {
        let label = id.label();
        let modifiers = HashMap::from([("label", label.as_str())]);
        keyring_core::Entry::new_in_store_with_modifiers(
            &self.store,
            SERVICE,
            &id.account(),
            &modifiers,
        )
        .map_err(|e| SecretError::from_keyring(e, id))
    }

    /// Stores a secret, replacing what was there.
    pub fn set(&self, id: &SecretId, secret: &Secret) -> Result<(), SecretError> {
        self.entry(id)?
            .set_password(secret.expose())
            .map_err(|e| SecretError::from_keyring(e, id))
    }

    /// Reads a secret; [`SecretError::Missing`] names it when it is not set.
    pub fn get(&self, id: &SecretId) -> Result<Secret, SecretError> {
        self.entry(id)?
            .get_password()
            .map(Secret)
            .map_err(|e| SecretError::from_keyring(e, id))
    }

    /// Removes a secret; `false` when there was none.
    pub fn delete(&self, id: &SecretId) -> Result<bool, SecretError> {
        match self.entry(id)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(SecretError::from_keyring(e, id)),
        }
    }
}

/// Where secrets are kept: the OS keychain, or memory in tests.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// Stores a secret, replacing what was there.
    fn set(&self, id: &SecretId, secret: &Secret) -> Result<(), SecretError>;
    /// Reads a secret; [`SecretError::Missing`] when it is not set.
    fn get(&self, id: &SecretId) -> Result<Secret, SecretError>;
    /// Removes a secret; `false` when there was none.
    fn delete(&self, id: &SecretId) -> Result<bool, SecretError>;
}

/// The OS keychain, connected for each call (a connection is cheap and
/// must not be shared between threads on every platform).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsKeychain;

impl SecretStore for OsKeychain {
    fn set(&self, id: &SecretId, secret: &Secret) -> Result<(), SecretError> {
        Keychain::open()?.set(id, secret)
    }
    fn get(&self, id: &SecretId) -> Result<Secret, SecretError> {
        Keychain::open()?.get(id)
    }
    fn delete(&self, id: &SecretId) -> Result<bool, SecretError> {
        Keychain::open()?.delete(id)
    }
}

/// Secrets in memory, for tests of code that keeps secrets.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<SecretId, Secret>>,
}

impl MemoryStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<SecretId, Secret>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn set(&self, id: &SecretId, secret: &Secret) -> Result<(), SecretError> {
        self.entries().insert(id.clone(), secret.clone());
        Ok(())
    }
    fn get(&self, id: &SecretId) -> Result<Secret, SecretError> {
        self.entries()
            .get(id)
            .cloned()
            .ok_or_else(|| SecretError::Missing { id: id.clone() })
    }
    fn delete(&self, id: &SecretId) -> Result<bool, SecretError> {
        Ok(self.entries().remove(id).is_some())
    }
}

/// The one door to secrets for async code: each call runs on a blocking
/// thread, so the keychain's round trips never stall a run or the window.
#[derive(Debug, Clone)]
pub struct Secrets {
    store: Arc<dyn SecretStore>,
}

impl Secrets {
    /// The OS keychain.
    pub fn os() -> Self {
        Secrets {
            store: Arc::new(OsKeychain),
        }
    }

    /// Another store (tests: [`MemoryStore`]).
    pub fn with_store(store: Arc<dyn SecretStore>) -> Self {
        Secrets { store }
    }

    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn SecretStore) -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| SecretError::Failed {
                detail: e.to_string(),
            })?
    }

    /// Stores a secret; an empty one is refused.
    pub async fn set(&self, id: SecretId, secret: Secret) -> Result<(), SecretError> {
        if secret.is_empty() {
            return Err(SecretError::Empty { id });
        }
        self.call(move |s| s.set(&id, &secret)).await
    }

    /// Reads a secret; [`SecretError::Missing`] names it when it is not set.
    pub async fn get(&self, id: SecretId) -> Result<Secret, SecretError> {
        self.call(move |s| s.get(&id)).await
    }

    /// Removes a secret; `false` when there was none.
    pub async fn delete(&self, id: SecretId) -> Result<bool, SecretError> {
        self.call(move |s| s.delete(&id)).await
    }

    /// Whether each secret is set, in order, in one trip.
    pub async fn contains_each(&self, ids: Vec<SecretId>) -> Result<Vec<bool>, SecretError> {
        self.call(move |s| {
            ids.iter()
                .map(|id| match s.get(id) {
                    Ok(_) => Ok(true),
                    Err(SecretError::Missing { .. }) => Ok(false),
                    Err(e) => Err(e),
                })
                .collect()
        })
        .await
    }
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn platform_store() -> Result<Store, SecretError> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty())
        && std::env::var_os("XDG_RUNTIME_DIR")
            .is_none_or(|d| !std::path::Path::new(&d).join("bus").exists())
    {
        return Err(SecretError::NoSessionBus);
    }
    let store = zbus_secret_service_keyring_store::Store::new()
        .map_err(|e| SecretError::from_keyring(e, &SecretId::GithubToken { host: "-".into() }))?;
    Ok(store)
}

/// Whether the keychain can be used without asking the user anything:
/// reachable, with an unlocked default collection. Blocks.
pub fn status() -> Result<(), SecretError> {
    platform_status()
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn platform_status() -> Result<(), SecretError> {
    use secret_service::EncryptionType;
    use secret_service::blocking::SecretService;
    platform_store()?;
    let platform = |e: secret_service::Error| SecretError::from_platform(e.to_string());
    let service = SecretService::connect(EncryptionType::Plain).map_err(platform)?;
    let locked = |detail: String| SecretError::Locked { detail };
    let collection = service
        .get_default_collection()
        .map_err(|e| locked(format!("no default collection: {e}")))?;
    match collection.is_locked().map_err(platform)? {
        true => Err(locked("the default collection is locked".into())),
        false => Ok(()),
    }
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn platform_status() -> Result<(), SecretError> {
    platform_store().map(|_| ())
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<Store, SecretError> {
    apple_native_keyring_store::keychain::Store::new()
        .map(|s| s as Store)
        .map_err(|e| SecretError::Failed {
            detail: e.to_string(),
        })
}

#[cfg(windows)]
fn platform_store() -> Result<Store, SecretError> {
    windows_native_keyring_store::Store::new()
        .map(|s| s as Store)
        .map_err(|e| SecretError::Failed {
            detail: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_as_stars() {
        let s = Secret::new("ghp_supersecret\n");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(&s)), "Some(***)");
        assert_eq!(s.expose(), "ghp_supersecret");
        assert!(Secret::new(" \n").is_empty());
    }

    #[test]
    fn entries_are_named_by_kind_and_owner() {
        let id = SecretId::DeployTrigger {
            project: "hello".into(),
            trigger: "dockerhub".into(),
        };
        assert_eq!(id.account(), "deploy-trigger/hello/dockerhub");
        assert_eq!(
            id.label(),
            "Slipway: deploy trigger URL \"dockerhub\" of project hello"
        );
        assert!(
            id.how_to_set()
                .contains("slipway secret set deploy-trigger hello/dockerhub")
        );
        let missing = SecretError::Missing { id }.problem();
        assert_eq!(missing.code, ErrorCode::SecretMissing);
        assert_eq!(
            missing.message,
            "the deploy trigger URL \"dockerhub\" of project hello is not set"
        );
    }

    #[test]
    fn references_name_a_secret_of_the_project() {
        assert_eq!(
            SecretId::parse_reference("deploy-trigger/dockerhub", "hello"),
            Ok(SecretId::DeployTrigger {
                project: "hello".into(),
                trigger: "dockerhub".into()
            })
        );
        assert_eq!(
            SecretId::parse_reference("github-token/github.com", "hello"),
            Ok(SecretId::GithubToken {
                host: "github.com".into()
            })
        );
        let unknown = SecretId::parse_reference("password/x", "hello").err();
        assert!(unknown.is_some_and(|m| m.contains("unknown secret kind \"password\"")));
        assert!(SecretId::parse_reference("deploy-trigger", "hello").is_err());
    }

    #[tokio::test]
    async fn the_door_refuses_empty_values_and_names_missing_ones() {
        let secrets = Secrets::with_store(Arc::new(MemoryStore::default()));
        let id = SecretId::GithubToken {
            host: "github.com".into(),
        };
        let empty = secrets.set(id.clone(), Secret::new("\n")).await;
        assert!(matches!(empty, Err(SecretError::Empty { .. })));
        assert!(matches!(
            secrets.get(id.clone()).await,
            Err(SecretError::Missing { .. })
        ));
        secrets.set(id.clone(), Secret::new("ghp_x")).await.unwrap();
        assert_eq!(secrets.get(id.clone()).await.unwrap().expose(), "ghp_x");
        let other = SecretId::CircleciToken { host: "c".into() };
        assert_eq!(
            secrets
                .contains_each(vec![id.clone(), other])
                .await
                .unwrap(),
            [true, false]
        );
        assert!(secrets.delete(id.clone()).await.unwrap());
        assert!(!secrets.delete(id).await.unwrap());
    }

    #[test]
    fn platform_failures_are_classified() {
        assert!(matches!(
            SecretError::from_platform(
                "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files".into()
            ),
            SecretError::NoService { .. }
        ));
        assert!(matches!(
            SecretError::from_platform("Connection refused".into()),
            SecretError::NoSessionBus
        ));
    }
}
