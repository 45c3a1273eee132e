//! Accounts: who the user is signed in as on GitHub, registries and CircleCI.
//!
//! A login is validated against the service first and stored only when it
//! passes: the secret goes to the OS keychain ([`crate::secrets`]), and what
//! is not secret (host, login, scopes, API URL) to `accounts.json` in the
//! config folder, so listing accounts never reads a secret. Registry logins
//! the docker CLI already has (`~/.docker/config.json`) are listed and used,
//! read-only.

mod circleci;
pub mod docker_config;
mod github;
mod registry;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::secrets::{Keychain, Secret, SecretError, SecretId};
use crate::{ErrorCode, Problem};

pub use docker_config::RegistryCredentials;
pub use registry::normalize_host as normalize_registry_host;

/// GitHub's public host.
pub const GITHUB_HOST: &str = "github.com";
/// CircleCI's public host.
pub const CIRCLECI_HOST: &str = "circleci.com";
/// Overrides the GitHub API base URL (tests, proxies, GitHub Enterprise).
pub const GITHUB_API_ENV: &str = "SLIPWAY_GITHUB_API_URL";
/// Overrides the CircleCI API base URL.
pub const CIRCLECI_API_ENV: &str = "SLIPWAY_CIRCLECI_API_URL";
/// The token scopes the GitHub flow needs.
pub const GITHUB_SCOPES: [&str; 2] = ["repo", "workflow"];

const FILE_NAME: &str = "accounts.json";

/// Which service an account is for.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Github,
    Registry,
    Circleci,
}

impl AccountKind {
    /// The service's name as people write it.
    pub fn service(self) -> &'static str {
        match self {
            AccountKind::Github => "GitHub",
            AccountKind::Registry => "registry",
            AccountKind::Circleci => "CircleCI",
        }
    }
}

/// Where an account's secret lives.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AccountSource {
    /// Signed in through Slipway; the secret is in the OS keychain.
    Slipway,
    /// The docker CLI's config.json `auths` (read-only).
    DockerConfig,
    /// A docker credential helper, `docker-credential-<helper>` (read-only).
    DockerHelper { helper: String },
}

/// Whether the account's secret is where it should be.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretState {
    /// Stored.
    Set,
    /// Not in the keychain (removed outside Slipway): sign in again.
    Missing,
    /// The keychain could not be asked (see [`Accounts::keychain`]).
    Unknown,
}

/// One signed-in account, as front ends show it: never a secret.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub kind: AccountKind,
    /// `github.com`, a GitHub Enterprise host, a registry host, `circleci.com`.
    pub host: String,
    /// The login or user name.
    pub user: String,
    /// The display name, when the service has one.
    #[serde(default)]
    pub name: Option<String>,
    /// The API base URL it was validated against.
    #[serde(default)]
    pub api_url: Option<String>,
    /// GitHub token scopes (`x-oauth-scopes`); `None` when the token does not
    /// report them (fine-grained tokens).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// What may not work with this account, in words.
    #[serde(default)]
    pub warnings: Vec<String>,
    pub source: AccountSource,
    pub secret: SecretState,
    /// When it was last validated, in ms since the Unix epoch.
    #[serde(default)]
    pub validated_at_ms: Option<i64>,
}

impl Account {
    /// An account just validated through Slipway; the caller fills in what
    /// the service told about it.
    fn signed_in(kind: AccountKind, host: String, user: String, api_url: String) -> Self {
        Account {
            kind,
            host,
            user,
            name: None,
            api_url: Some(api_url),
            scopes: None,
            warnings: Vec::new(),
            source: AccountSource::Slipway,
            secret: SecretState::Set,
            validated_at_ms: Some(now_ms()),
        }
    }
}

/// Every account, and whether the keychain could be asked.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounts {
    pub accounts: Vec<Account>,
    /// Why the keychain could not be asked, if it could not.
    pub keychain: Option<Problem>,
    /// The API base URL settings.
    pub endpoints: Endpoints,
    /// The API base URLs the environment sets, which win over the settings.
    pub endpoints_from_env: Endpoints,
}

/// A login or logout that did not go through.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// What the user typed is unusable (empty token, bad host, bad URL).
    #[error("{message}")]
    BadInput { message: String, hint: String },
    /// The service said no to these credentials.
    #[error("{service} rejected the credentials for {host}: {reason}")]
    Rejected {
        service: &'static str,
        host: String,
        reason: String,
        hint: String,
    },
    /// The service could not be reached, or answered something unexpected.
    #[error("cannot check the credentials with {service} at {url}: {detail}")]
    Unavailable {
        service: &'static str,
        url: String,
        detail: String,
        hint: String,
    },
    /// The keychain failed.
    #[error(transparent)]
    Keychain(#[from] SecretError),
    /// accounts.json could not be read or written.
    #[error("cannot {action} {}: {detail}", .path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        detail: String,
    },
}

impl AccountError {
    /// The problem as a user sees it.
    pub fn problem(&self) -> Problem {
        match self {
            AccountError::BadInput { hint, .. } => {
                Problem::new(ErrorCode::BadConfig, self.to_string()).with_hint(hint.clone())
            }
            AccountError::Rejected { hint, .. } => {
                Problem::new(ErrorCode::AuthRejected, self.to_string()).with_hint(hint.clone())
            }
            AccountError::Unavailable { hint, .. } => {
                Problem::new(ErrorCode::ServiceUnavailable, self.to_string())
                    .with_hint(hint.clone())
            }
            AccountError::Keychain(e) => e.problem(),
            AccountError::File { path, .. } => Problem::new(ErrorCode::Io, self.to_string())
                .with_hint(format!(
                    "Check that {} is writable, or set SLIPWAY_CONFIG_DIR to another folder.",
                    path.parent().unwrap_or(path).display()
                )),
        }
    }

    fn bad_input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        AccountError::BadInput {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl From<AccountError> for Problem {
    fn from(e: AccountError) -> Self {
        e.problem()
    }
}

/// The stored, non-secret half of the accounts: `accounts.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct AccountsFile {
    #[serde(default)]
    accounts: Vec<Account>,
    /// The API base URL settings.
    #[serde(default)]
    endpoints: Endpoints,
}

/// The folder Slipway keeps its settings in: `$SLIPWAY_CONFIG_DIR`, else the
/// platform's config folder (`~/.config/slipway` on Linux).
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SLIPWAY_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("dev", "slipway", "slipway").map(|d| d.config_dir().into())
}

/// API base URLs: a setting (kept in accounts.json) or the environment.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// The GitHub API base URL; `None` derives it from the host.
    pub github_api_url: Option<String>,
    /// The CircleCI API base URL; `None` means CircleCI's public one.
    pub circleci_api_url: Option<String>,
}

impl Endpoints {
    /// `SLIPWAY_GITHUB_API_URL` and `SLIPWAY_CIRCLECI_API_URL`, where set.
    pub fn from_env() -> Self {
        let env = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        Endpoints {
            github_api_url: env(GITHUB_API_ENV),
            circleci_api_url: env(CIRCLECI_API_ENV),
        }
    }

    /// These where set, else `fallback`'s.
    fn or(&self, fallback: &Endpoints) -> Endpoints {
        Endpoints {
            github_api_url: self
                .github_api_url
                .clone()
                .or_else(|| fallback.github_api_url.clone()),
            circleci_api_url: self
                .circleci_api_url
                .clone()
                .or_else(|| fallback.circleci_api_url.clone()),
        }
    }

    fn github_api(&self, host: &str) -> Result<String, AccountError> {
        let url = match &self.github_api_url {
            Some(url) => url.clone(),
            None if host == GITHUB_HOST => "https://api.github.com".into(),
            None => format!("https://{host}/api/v3"),
        };
        check_url(&url, GITHUB_API_ENV)
    }

    fn circleci_api(&self) -> Result<String, AccountError> {
        let url = self
            .circleci_api_url
            .clone()
            .unwrap_or_else(|| "https://circleci.com/api/v2".into());
        check_url(&url, CIRCLECI_API_ENV)
    }
}

fn check_url(url: &str, env: &str) -> Result<String, AccountError> {
    let url = url.trim().trim_end_matches('/').to_string();
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(url),
        _ => Err(AccountError::bad_input(
            format!("{url:?} is not an http(s) URL"),
            format!("Give the API base URL like https://api.github.com (it can come from {env})."),
        )),
    }
}

/// The accounts store: `accounts.json` plus the keychain.
#[derive(Debug, Clone)]
pub struct AccountStore {
    path: PathBuf,
    /// What the environment sets; wins over the settings in the file.
    env: Endpoints,
}

impl AccountStore {
    /// The store in [`config_dir`], with endpoints from the environment.
    pub fn open_default() -> Result<Self, AccountError> {
        let dir = config_dir().ok_or_else(|| AccountError::File {
            action: "find",
            path: PathBuf::from(FILE_NAME),
            detail: "there is no home folder to keep it in".into(),
        })?;
        Ok(Self::at(&dir, Endpoints::from_env()))
    }

    /// The store in `dir`; `env` API URLs win over the stored settings.
    pub fn at(dir: &Path, env: Endpoints) -> Self {
        AccountStore {
            path: dir.join(FILE_NAME),
            env,
        }
    }

    /// The API base URLs logins validate against.
    fn endpoints(&self) -> Result<Endpoints, AccountError> {
        Ok(self.env.or(&self.load()?.endpoints))
    }

    /// Saves the API base URL settings (empty means the default).
    pub fn set_endpoints(&self, endpoints: Endpoints) -> Result<Endpoints, AccountError> {
        let clean = |url: Option<String>, env: &str| -> Result<Option<String>, AccountError> {
            match url.filter(|u| !u.trim().is_empty()) {
                Some(u) => check_url(&u, env).map(Some),
                None => Ok(None),
            }
        };
        let endpoints = Endpoints {
            github_api_url: clean(endpoints.github_api_url, GITHUB_API_ENV)?,
            circleci_api_url: clean(endpoints.circleci_api_url, CIRCLECI_API_ENV)?,
        };
        let mut file = self.load()?;
        file.endpoints = endpoints.clone();
        self.save(&file)?;
        Ok(endpoints)
    }

    /// Where the non-secret half is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<AccountsFile, AccountError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| AccountError::File {
                action: "read",
                path: self.path.clone(),
                detail: format!("line {}, column {}: {e}", e.line(), e.column()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AccountsFile::default()),
            Err(e) => Err(AccountError::File {
                action: "read",
                path: self.path.clone(),
                detail: e.to_string(),
            }),
        }
    }

    fn save(&self, file: &AccountsFile) -> Result<(), AccountError> {
        let fail = |e: std::io::Error| AccountError::File {
            action: "write",
            path: self.path.clone(),
            detail: e.to_string(),
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let text = serde_json::to_vec_pretty(file).unwrap_or_default();
        // Beside it, then renamed: a failure never leaves half a file.
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(fail)
    }

    fn upsert(&self, account: Account) -> Result<(), AccountError> {
        let mut file = self.load()?;
        file.accounts
            .retain(|a| !(a.kind == account.kind && a.host == account.host));
        file.accounts.push(account);
        file.accounts
            .sort_by(|a, b| (a.kind as u8, &a.host).cmp(&(b.kind as u8, &b.host)));
        self.save(&file)
    }

    /// Validates a GitHub token against `GET /user` and stores it.
    pub async fn login_github(
        &self,
        host: Option<&str>,
        token: Secret,
    ) -> Result<Account, AccountError> {
        let host = normalize_github_host(host.unwrap_or(GITHUB_HOST))?;
        non_empty(&token, "GitHub token")?;
        let api = self.endpoints()?.github_api(&host)?;
        let user = github::authenticated_user(&api, &host, &token).await?;
        let account = Account {
            name: user.name,
            warnings: github::scope_warnings(user.scopes.as_deref()),
            scopes: user.scopes,
            ..Account::signed_in(AccountKind::Github, host, user.login, api)
        };
        self.save_login(account, token).await
    }

    /// Validates a CircleCI token against `GET /me` and stores it.
    pub async fn login_circleci(&self, token: Secret) -> Result<Account, AccountError> {
        non_empty(&token, "CircleCI token")?;
        let endpoints = self.endpoints()?;
        let api = endpoints.circleci_api()?;
        let host = if endpoints.circleci_api_url.is_none() {
            CIRCLECI_HOST.to_string()
        } else {
            reqwest::Url::parse(&api)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| CIRCLECI_HOST.to_string())
        };
        let me = circleci::me(&api, &host, &token).await?;
        let account = Account {
            name: me.name,
            ..Account::signed_in(AccountKind::Circleci, host, me.login, api)
        };
        self.save_login(account, token).await
    }

    /// Validates a registry login against the registry and stores it.
    pub async fn login_registry(
        &self,
        host: &str,
        username: &str,
        password: Secret,
    ) -> Result<Account, AccountError> {
        let target = registry::Target::parse(host)?;
        let username = username.trim();
        if username.is_empty() {
            return Err(AccountError::bad_input(
                "the registry user name is empty",
                "Pass it with -u USER.",
            ));
        }
        non_empty(&password, "registry password")?;
        registry::check_login(&target, username, &password).await?;
        let api = target.endpoint();
        let account = Account::signed_in(
            AccountKind::Registry,
            target.host,
            username.to_string(),
            api,
        );
        self.save_login(account, password).await
    }

    /// Stores a validated login: the secret in the keychain first, then the
    /// account, so a keychain failure records nothing.
    async fn save_login(&self, account: Account, secret: Secret) -> Result<Account, AccountError> {
        store_secret(secret_id(account.kind, &account.host), secret).await?;
        self.upsert(account.clone())?;
        tracing::info!(kind = ?account.kind, host = %account.host, user = %account.user, "signed in");
        Ok(account)
    }

    /// Signs out: removes the secret and the account. Returns the host it
    /// signed out of, and `false` when there was no such account.
    pub async fn logout(
        &self,
        kind: AccountKind,
        host: Option<&str>,
    ) -> Result<(String, bool), AccountError> {
        let host = match (kind, host) {
            (AccountKind::Github, h) => normalize_github_host(h.unwrap_or(GITHUB_HOST))?,
            (AccountKind::Circleci, Some(h)) => h.trim().to_string(),
            (AccountKind::Circleci, None) => {
                let file = self.load()?;
                file.accounts
                    .iter()
                    .find(|a| a.kind == AccountKind::Circleci)
                    .map(|a| a.host.clone())
                    .unwrap_or_else(|| CIRCLECI_HOST.to_string())
            }
            (AccountKind::Registry, Some(h)) => registry::normalize_host(h)?,
            (AccountKind::Registry, None) => {
                return Err(AccountError::bad_input(
                    "which registry? the host is missing",
                    "Name it: `slipway logout registry HOST`.",
                ));
            }
        };
        let removed_secret = delete_secret(secret_id(kind, &host)).await?;
        let mut file = self.load()?;
        let before = file.accounts.len();
        file.accounts
            .retain(|a| !(a.kind == kind && a.host == host));
        let removed_account = file.accounts.len() != before;
        if removed_account {
            self.save(&file)?;
        }
        Ok((host, removed_secret || removed_account))
    }

    /// Every account: Slipway's (with whether each secret is still in the
    /// keychain) and the docker CLI's registry logins. Reads no secret
    /// except through docker credential helpers, which only answer whole
    /// credentials.
    pub async fn list(&self) -> Result<Accounts, AccountError> {
        let file = self.load()?;
        let endpoints = file.endpoints;
        let mut accounts = file.accounts;
        let ids: Vec<SecretId> = accounts
            .iter()
            .map(|a| secret_id(a.kind, &a.host))
            .collect();
        let states: Result<Vec<bool>, _> =
            keychain_call(move |k| ids.iter().map(|id| k.contains(id)).collect()).await;
        let keychain = match states {
            Ok(states) => {
                for (account, set) in accounts.iter_mut().zip(states) {
                    account.secret = if set {
                        SecretState::Set
                    } else {
                        SecretState::Missing
                    };
                }
                None
            }
            Err(e) => {
                for account in &mut accounts {
                    account.secret = SecretState::Unknown;
                }
                Some(e.problem())
            }
        };
        let docker = tokio::task::spawn_blocking(docker_config::accounts)
            .await
            .unwrap_or_default();
        for account in docker {
            let shadowed = accounts
                .iter()
                .any(|a| a.kind == AccountKind::Registry && a.host == account.host);
            if !shadowed {
                accounts.push(account);
            }
        }
        Ok(Accounts {
            accounts,
            keychain,
            endpoints,
            endpoints_from_env: self.env.clone(),
        })
    }

    /// The credentials to use for a registry: Slipway's login first, then
    /// the docker CLI's. `None` when neither has one.
    pub async fn registry_credentials(
        &self,
        host: &str,
    ) -> Result<Option<RegistryCredentials>, AccountError> {
        let host = registry::normalize_host(host)?;
        let file = self.load()?;
        if let Some(account) = file
            .accounts
            .iter()
            .find(|a| a.kind == AccountKind::Registry && a.host == host)
        {
            let password = read_secret(SecretId::RegistryPassword { host: host.clone() }).await?;
            return Ok(Some(RegistryCredentials {
                username: account.user.clone(),
                password,
                source: AccountSource::Slipway,
            }));
        }
        Ok(
            tokio::task::spawn_blocking(move || docker_config::credentials(&host))
                .await
                .unwrap_or(None),
        )
    }

    /// A stored token for a service; [`SecretError::Missing`] names it and
    /// says how to set it when it is not there.
    pub async fn token(&self, kind: AccountKind, host: &str) -> Result<Secret, AccountError> {
        read_secret(secret_id(kind, host)).await
    }
}

fn secret_id(kind: AccountKind, host: &str) -> SecretId {
    let host = host.to_string();
    match kind {
        AccountKind::Github => SecretId::GithubToken { host },
        AccountKind::Registry => SecretId::RegistryPassword { host },
        AccountKind::Circleci => SecretId::CircleciToken { host },
    }
}

/// Stores any secret (deploy triggers, webhook secrets) in the keychain.
pub async fn store_secret(id: SecretId, secret: Secret) -> Result<(), AccountError> {
    if secret.is_empty() {
        return Err(AccountError::bad_input(
            format!("{} is empty", id.describe()),
            "Pass the value on standard input.",
        ));
    }
    keychain_call(move |k| k.set(&id, &secret)).await
}

/// Reads any secret from the keychain.
pub async fn read_secret(id: SecretId) -> Result<Secret, AccountError> {
    keychain_call(move |k| k.get(&id)).await
}

/// Removes any secret from the keychain; `false` when there was none.
pub async fn delete_secret(id: SecretId) -> Result<bool, AccountError> {
    keychain_call(move |k| k.delete(&id)).await
}

async fn keychain_call<T: Send + 'static>(
    f: impl FnOnce(&Keychain) -> Result<T, SecretError> + Send + 'static,
) -> Result<T, AccountError> {
    tokio::task::spawn_blocking(move || f(&Keychain::open()?))
        .await
        .map_err(|e| SecretError::Failed {
            detail: e.to_string(),
        })?
        .map_err(AccountError::from)
}

fn non_empty(secret: &Secret, what: &str) -> Result<(), AccountError> {
    if secret.is_empty() {
        return Err(AccountError::bad_input(
            format!("the {what} is empty"),
            "Paste it, or pipe it on standard input.",
        ));
    }
    Ok(())
}

/// `github.com`, `https://github.example.com/` → the bare host.
fn normalize_github_host(host: &str) -> Result<String, AccountError> {
    let trimmed = host.trim().trim_end_matches('/');
    let bare = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed)
        .to_ascii_lowercase();
    let valid = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid {
        return Err(AccountError::bad_input(
            format!("{host:?} is not a host name"),
            "Give the GitHub host like github.com or github.example.com.",
        ));
    }
    Ok(if bare == "api.github.com" || bare == "www.github.com" {
        GITHUB_HOST.to_string()
    } else {
        bare
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An HTTP client with timeouts, for talking to services.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// The message of a JSON error body (`{"message": ...}`), else the body's
/// first line, short.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Body {
        message: String,
    }
    if let Ok(b) = serde_json::from_slice::<Body>(body) {
        return b.message;
    }
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or("").trim();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_hosts_are_normalized() {
        assert_eq!(
            normalize_github_host("github.com").ok(),
            Some("github.com".into())
        );
        assert_eq!(
            normalize_github_host("https://GitHub.example.com/").ok(),
            Some("github.example.com".into())
        );
        assert_eq!(
            normalize_github_host("api.github.com").ok(),
            Some("github.com".into())
        );
        assert!(normalize_github_host("not a host").is_err());
    }

    #[test]
    fn api_urls_follow_settings_then_host() {
        let default = Endpoints::default();
        assert_eq!(
            default.github_api("github.com").ok(),
            Some("https://api.github.com".into())
        );
        assert_eq!(
            default.github_api("ghe.example.com").ok(),
            Some("https://ghe.example.com/api/v3".into())
        );
        let set = Endpoints {
            github_api_url: Some("http://127.0.0.1:9/".into()),
            circleci_api_url: Some("ftp://x".into()),
        };
        assert_eq!(
            set.github_api("github.com").ok(),
            Some("http://127.0.0.1:9".into())
        );
        let err = set.circleci_api().err().map(|e| e.problem());
        assert_eq!(err.map(|p| p.code), Some(ErrorCode::BadConfig));
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(br#"{"message":"Bad credentials","documentation_url":"x"}"#),
            "Bad credentials"
        );
        assert_eq!(error_message(b"upstream down\nmore"), "upstream down");
    }

    #[tokio::test]
    async fn accounts_file_round_trips_and_never_holds_secrets() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = AccountStore::at(dir.path(), Endpoints::default());
        let account = Account {
            kind: AccountKind::Github,
            host: "github.com".into(),
            user: "octocat".into(),
            name: None,
            api_url: Some("https://api.github.com".into()),
            scopes: Some(vec!["repo".into()]),
            warnings: vec![],
            source: AccountSource::Slipway,
            secret: SecretState::Set,
            validated_at_ms: Some(1),
        };
        store.upsert(account.clone()).expect("save");
        store.upsert(account).expect("replace");
        let file = store.load().expect("load");
        assert_eq!(file.accounts.len(), 1);
        assert_eq!(file.accounts[0].user, "octocat");
        let set = store.set_endpoints(Endpoints {
            github_api_url: Some("https://ghe.example.com/api/v3/".into()),
            circleci_api_url: Some(" ".into()),
        });
        assert_eq!(
            set.ok().and_then(|e| e.github_api_url),
            Some("https://ghe.example.com/api/v3".into())
        );
        let env = AccountStore::at(
            dir.path(),
            Endpoints {
                github_api_url: Some("http://127.0.0.1:1".into()),
                circleci_api_url: None,
            },
        );
        let effective = env.endpoints().expect("endpoints");
        assert_eq!(
            effective.github_api_url.as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(effective.circleci_api_url, None);
        assert_eq!(
            store.load().expect("load").accounts.len(),
            1,
            "settings keep accounts"
        );
        std::fs::write(store.path(), "{\n  \"accounts\": [1,\n").expect("write");
        let err = store
            .load()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("accounts.json") && err.contains("line 2"),
            "{err}"
        );
    }
}
