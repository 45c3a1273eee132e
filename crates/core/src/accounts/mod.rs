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
pub mod git_credential;
mod registry;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::github::{GITHUB_API_ENV, GITHUB_HOST, GithubClient, GithubError};
use crate::secrets::{Secret, SecretError, SecretId, Secrets};
use crate::{ErrorCode, Problem};

pub use docker_config::RegistryCredentials;
pub use registry::normalize_host as normalize_registry_host;

/// CircleCI's public host.
pub const CIRCLECI_HOST: &str = "circleci.com";
/// Overrides the CircleCI API base URL.
pub const CIRCLECI_API_ENV: &str = "SLIPWAY_CIRCLECI_API_URL";

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
    /// GitHub refused the token, or could not be asked.
    #[error(transparent)]
    Github(#[from] GithubError),
    /// No account for this service and host.
    #[error("you are not signed in to {service} at {host}")]
    NotSignedIn { service: &'static str, host: String },
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
            AccountError::Github(e) => e.problem(),
            AccountError::NotSignedIn { service, host } => {
                let id = if *service == "CircleCI" {
                    SecretId::CircleciToken { host: host.clone() }
                } else {
                    SecretId::GithubToken { host: host.clone() }
                };
                id.missing(Problem::new(ErrorCode::AuthExpired, self.to_string()))
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
            None => crate::github::default_api_url(host),
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
    secrets: Secrets,
}

impl AccountStore {
    /// The store in the config folder ([`crate::paths::config_dir`]), with
    /// endpoints from the environment.
    pub fn open_default() -> Result<Self, AccountError> {
        let dir = crate::paths::config_dir().ok_or_else(|| AccountError::File {
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
            secrets: Secrets::os(),
        }
    }

    /// The same store keeping its secrets elsewhere (tests: in memory).
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
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
        let text = serde_json::to_vec_pretty(file).unwrap_or_default();
        crate::paths::write_atomic(&self.path, &text).map_err(|e| AccountError::File {
            action: "write",
            path: self.path.clone(),
            detail: e.to_string(),
        })
    }

    /// The hosts of the GitHub accounts (github.com and Enterprise hosts),
    /// for telling which remotes are GitHub repositories. Empty when the
    /// file cannot be read.
    pub fn github_hosts(&self) -> Vec<String> {
        self.load()
            .map(|file| {
                file.accounts
                    .into_iter()
                    .filter(|a| a.kind == AccountKind::Github)
                    .map(|a| a.host)
                    .collect()
            })
            .unwrap_or_default()
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
        let client = GithubClient::build(&host, &api, &token)?;
        let user = crate::github::authenticated_user(&client).await?;
        let account = Account {
            name: user.name,
            warnings: crate::github::scope_warnings(user.scopes.as_deref()),
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
        self.secrets
            .set(secret_id(account.kind, &account.host), secret)
            .await?;
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
        let removed_secret = self.secrets.delete(secret_id(kind, &host)).await?;
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
        let states = self.secrets.contains_each(ids).await;
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

    /// Checks one listed account with its service, one request each: who
    /// the token is for (and what it may not do), or why it no longer
    /// works. Logins the docker CLI keeps are not checked.
    pub async fn check(&self, account: &Account) -> Result<String, AccountError> {
        let secret = || self.secrets.get(secret_id(account.kind, &account.host));
        match (&account.source, account.kind) {
            (AccountSource::DockerConfig | AccountSource::DockerHelper { .. }, _) => Ok(format!(
                "{} (the docker CLI's login; not checked)",
                account.user
            )),
            (_, AccountKind::Github) => {
                let client = self.github_client(&account.host).await?;
                let user = crate::github::authenticated_user(&client).await?;
                let warnings = crate::github::scope_warnings(user.scopes.as_deref());
                let scopes = user
                    .scopes
                    .map(|s| format!("scopes {}", s.join(", ")))
                    .unwrap_or_else(|| "a fine-grained token".into());
                Ok(match warnings.is_empty() {
                    true => format!("{} ({scopes})", user.login),
                    false => format!("{} ({scopes}; {})", user.login, warnings.join("; ")),
                })
            }
            (_, AccountKind::Circleci) => {
                let api = match &account.api_url {
                    Some(api) => api.clone(),
                    None => self.endpoints()?.circleci_api()?,
                };
                let me = circleci::me(&api, &account.host, &secret().await?).await?;
                Ok(me.login)
            }
            (_, AccountKind::Registry) => {
                let target = registry::Target::parse(&account.host)?;
                registry::check_login(&target, &account.user, &secret().await?).await?;
                Ok(account.user.clone())
            }
        }
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
            let password = self
                .secrets
                .get(SecretId::RegistryPassword { host: host.clone() })
                .await?;
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

    /// The CircleCI API URL and token of the signed-in CircleCI account.
    pub async fn circleci_session(&self) -> Result<(String, Secret), AccountError> {
        let file = self.load()?;
        let account = file
            .accounts
            .iter()
            .find(|a| a.kind == AccountKind::Circleci)
            .ok_or_else(|| AccountError::NotSignedIn {
                service: "CircleCI",
                host: CIRCLECI_HOST.to_string(),
            })?;
        let api = match &account.api_url {
            Some(api) => api.clone(),
            None => self.endpoints()?.circleci_api()?,
        };
        let token = self
            .secrets
            .get(SecretId::CircleciToken {
                host: account.host.clone(),
            })
            .await?;
        Ok((api, token))
    }

    /// The GitHub client of the account signed in at `host`, built once
    /// per host and token. Not signed in, or a token missing from the
    /// keychain, is an error that says how to sign in.
    pub async fn github_client(&self, host: &str) -> Result<GithubClient, AccountError> {
        let signed_in = self
            .load()?
            .accounts
            .iter()
            .any(|a| a.kind == AccountKind::Github && a.host == host);
        if !signed_in {
            return Err(AccountError::NotSignedIn {
                service: "GitHub",
                host: host.to_string(),
            });
        }
        let token = self
            .secrets
            .get(secret_id(AccountKind::Github, host))
            .await?;
        let api = self.endpoints()?.github_api(host)?;
        Ok(GithubClient::shared(host, &api, &token)?)
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
    crate::github::normalize_host(host).ok_or_else(|| {
        AccountError::bad_input(
            format!("{host:?} is not a host name"),
            "Give the GitHub host like github.com or github.example.com.",
        )
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn memory_store(dir: &Path) -> (AccountStore, std::sync::Arc<crate::secrets::MemoryStore>) {
        let memory = std::sync::Arc::new(crate::secrets::MemoryStore::default());
        let store = AccountStore::at(dir, Endpoints::default())
            .with_secrets(Secrets::with_store(memory.clone()));
        (store, memory)
    }

    fn octocat() -> Account {
        Account::signed_in(
            AccountKind::Github,
            "github.com".into(),
            "octocat".into(),
            "https://api.github.com".into(),
        )
    }

    #[tokio::test]
    async fn a_login_keeps_its_secret_in_the_secret_store_never_in_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, memory) = memory_store(dir.path());
        let token = "ghp_unit_never_in_the_file_0001";
        store
            .save_login(octocat(), Secret::new(token))
            .await
            .expect("login saved");
        let id = SecretId::GithubToken {
            host: "github.com".into(),
        };
        use crate::secrets::SecretStore as _;
        assert_eq!(memory.get(&id).expect("stored").expose(), token);
        let file = std::fs::read_to_string(store.path()).expect("accounts.json");
        assert!(file.contains("octocat"), "{file}");
        assert!(!file.contains(token), "the token reached accounts.json");
        let listed = store.list().await.expect("list");
        assert_eq!(listed.accounts[0].secret, SecretState::Set);
        assert!(!format!("{listed:?}").contains(token));
        assert!(
            !serde_json::to_string(&listed)
                .expect("json")
                .contains(token)
        );
        // The client for the account reads the token from the same store.
        let client = store.github_client("github.com").await.expect("client");
        assert_eq!(client.host(), "github.com");
        let missing = store.github_client("ghe.example.com").await.err();
        assert_eq!(
            missing.map(|e| e.problem().code),
            Some(ErrorCode::AuthExpired)
        );
        // Signing out removes both halves.
        assert_eq!(
            store
                .logout(AccountKind::Github, None)
                .await
                .expect("logout"),
            ("github.com".to_string(), true)
        );
        assert!(memory.get(&id).is_err());
        assert!(
            !std::fs::read_to_string(store.path())
                .expect("file")
                .contains("octocat")
        );
    }

    #[tokio::test]
    async fn accounts_file_round_trips() {
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
