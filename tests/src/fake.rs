//! A stateful local stand-in for GitHub and CircleCI: the official payloads
//! and headers (`tests/contracts`), ETag/304, rate-limit headers, GitHub's
//! and CircleCI's error shapes. Any request it does not know is answered
//! with a loud 501 and remembered, and tests assert there were none.
//!
//! GitHub's API is at `{url}/github`, CircleCI's at `{url}/circleci/api/v2`,
//! and `{url}` itself is a registry with Docker Hub's token auth (`/v2/`
//! answers 401 with a Bearer challenge whose realm is `{url}/token`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

const GITHUB_USER: &str = include_str!("../contracts/github/get_authenticated_user.json");
const CIRCLECI_ME: &str = include_str!("../contracts/circleci/get_current_user.json");

/// A GitHub user a token belongs to.
#[derive(Debug, Clone)]
pub struct GithubUser {
    pub login: String,
    pub name: String,
    /// The `x-oauth-scopes` header; `None` for a fine-grained token (no header).
    pub scopes: Option<String>,
}

#[derive(Debug, Default)]
struct World {
    github: HashMap<String, GithubUser>,
    circleci: HashMap<String, (String, String)>,
    registry: HashMap<String, String>,
    rate_remaining: u32,
    /// Every request, as `METHOD /path`.
    requests: Vec<String>,
    /// Requests no route knows.
    unknown: Vec<String>,
}

type Shared = Arc<Mutex<World>>;

/// The running fake. Stops when dropped.
#[derive(Debug)]
pub struct FakeServices {
    addr: SocketAddr,
    world: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServices {
    /// Starts on a free loopback port.
    pub fn start() -> Self {
        let world: Shared = Arc::new(Mutex::new(World {
            rate_remaining: 5000,
            ..World::default()
        }));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(world.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx.send(listener.local_addr().expect("addr")).ok();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        stop_rx.await.ok();
                    })
                    .await
                    .expect("serve");
            });
        });
        let addr = addr_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("fake services did not start");
        FakeServices {
            addr,
            world,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The GitHub API base URL.
    pub fn github_api(&self) -> String {
        format!("{}/github", self.url())
    }

    /// The CircleCI API base URL.
    pub fn circleci_api(&self) -> String {
        format!("{}/circleci/api/v2", self.url())
    }

    /// Makes `token` a valid GitHub token of `login` with these scopes.
    pub fn github_token(&self, token: &str, login: &str, scopes: Option<&str>) -> &Self {
        self.world.lock().expect("lock").github.insert(
            token.to_string(),
            GithubUser {
                login: login.to_string(),
                name: format!("{login} (test)"),
                scopes: scopes.map(str::to_string),
            },
        );
        self
    }

    /// Makes `token` a valid CircleCI token of `login`.
    pub fn circleci_token(&self, token: &str, login: &str) -> &Self {
        self.world.lock().expect("lock").circleci.insert(
            token.to_string(),
            (login.to_string(), format!("{login} (test)")),
        );
        self
    }

    /// Makes `user` / `password` a valid login of the token-auth registry.
    pub fn registry_user(&self, user: &str, password: &str) -> &Self {
        self.world
            .lock()
            .expect("lock")
            .registry
            .insert(user.to_string(), password.to_string());
        self
    }

    /// Every request so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.world.lock().expect("lock").requests.clone()
    }

    /// Requests no route knew.
    pub fn unknown(&self) -> Vec<String> {
        self.world.lock().expect("lock").unknown.clone()
    }
}

impl Drop for FakeServices {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
        let unknown = self.unknown();
        if !unknown.is_empty() && !std::thread::panicking() {
            panic!("the fake services got requests they do not know: {unknown:?}");
        }
    }
}

fn router(world: Shared) -> Router {
    Router::new()
        .route("/github/user", get(github_user))
        .route("/circleci/api/v2/me", get(circleci_me))
        .route("/v2/", get(registry_base))
        .route("/token", get(registry_token))
        .fallback(unknown)
        .layer(axum::middleware::from_fn_with_state(world.clone(), record))
        .with_state(world)
}

async fn record(
    State(world): State<Shared>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let line = match request.uri().query() {
        Some(q) if request.uri().path() == "/token" => format!("{} /token?{q}", request.method()),
        _ => format!("{} {}", request.method(), request.uri().path()),
    };
    world.lock().expect("lock").requests.push(line);
    next.run(request).await
}

async fn unknown(State(world): State<Shared>, request: Request) -> Response {
    let line = format!("{} {}", request.method(), request.uri());
    world.lock().expect("lock").unknown.push(line.clone());
    (
        StatusCode::NOT_IMPLEMENTED,
        axum::Json(json!({ "message": format!("fake services: no such route: {line}") })),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("token "))
        .map(str::to_string)
}

/// GitHub's headers on every API answer.
fn github_headers(world: &mut World) -> HeaderMap {
    world.rate_remaining = world.rate_remaining.saturating_sub(1);
    let mut h = HeaderMap::new();
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() + 3600)
        .unwrap_or(0);
    for (k, v) in [
        (
            "content-type",
            "application/json; charset=utf-8".to_string(),
        ),
        ("cache-control", "private, max-age=60, s-maxage=60".into()),
        ("x-github-media-type", "github.v3; format=json".into()),
        (
            "x-github-request-id",
            "0000:00000:0000000:0000000:00000000".into(),
        ),
        ("x-ratelimit-limit", "5000".into()),
        ("x-ratelimit-remaining", world.rate_remaining.to_string()),
        (
            "x-ratelimit-used",
            (5000 - world.rate_remaining).to_string(),
        ),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-resource", "core".into()),
        ("x-accepted-oauth-scopes", String::new()),
    ] {
        h.insert(k, HeaderValue::from_str(&v).expect("header"));
    }
    h
}

fn github_error(headers: HeaderMap, status: StatusCode, message: &str, docs: &str) -> Response {
    (
        status,
        headers,
        axum::Json(
            json!({ "message": message, "documentation_url": docs, "status": status.as_str() }),
        ),
    )
        .into_response()
}

async fn github_user(State(world): State<Shared>, request_headers: HeaderMap) -> Response {
    let mut world = world.lock().expect("lock");
    let mut headers = github_headers(&mut world);
    if request_headers.get("user-agent").is_none() {
        return github_error(
            headers,
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
            "https://docs.github.com/rest/overview/resources-in-the-rest-api#user-agent-required",
        );
    }
    let Some(token) = bearer(&request_headers) else {
        return github_error(
            headers,
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            "https://docs.github.com/rest/users/users#get-the-authenticated-user",
        );
    };
    let Some(user) = world.github.get(&token).cloned() else {
        return github_error(
            headers,
            StatusCode::UNAUTHORIZED,
            "Bad credentials",
            "https://docs.github.com/rest",
        );
    };
    let mut body: Value = serde_json::from_str(GITHUB_USER).expect("contract payload");
    body["login"] = json!(user.login);
    body["name"] = json!(user.name);
    let text = body.to_string();
    let etag = format!("\"{:016x}\"", fnv(text.as_bytes()));
    if let Some(scopes) = &user.scopes {
        headers.insert(
            "x-oauth-scopes",
            HeaderValue::from_str(scopes).expect("header"),
        );
    }
    headers.insert("etag", HeaderValue::from_str(&etag).expect("header"));
    if request_headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        // A conditional hit does not count against the rate limit.
        world.rate_remaining += 1;
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, text).into_response()
}

async fn circleci_me(State(world): State<Shared>, request_headers: HeaderMap) -> Response {
    let world = world.lock().expect("lock");
    let token = request_headers
        .get("circle-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some((login, name)) = world.circleci.get(token).cloned() else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "message": "Invalid token provided." })),
        )
            .into_response();
    };
    let mut body: Value = serde_json::from_str(CIRCLECI_ME).expect("contract payload");
    body["login"] = json!(login);
    body["name"] = json!(name);
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// `GET /v2/` without credentials: Docker Hub's challenge.
async fn registry_base(request_headers: HeaderMap) -> Response {
    let host = request_headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let challenge = format!(r#"Bearer realm="http://{host}/token",service="fake.registry""#);
    (
        StatusCode::UNAUTHORIZED,
        [
            ("www-authenticate", challenge),
            ("docker-distribution-api-version", "registry/2.0".to_string()),
        ],
        axum::Json(json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": null}]})),
    )
        .into_response()
}

/// The token realm: Basic credentials in, a bearer token out.
async fn registry_token(State(world): State<Shared>, request_headers: HeaderMap) -> Response {
    use base64::Engine as _;
    let credentials = request_headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let valid = credentials
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .is_some_and(|(user, password)| {
            world
                .lock()
                .expect("lock")
                .registry
                .get(user)
                .map(String::as_str)
                == Some(password)
        });
    if !valid {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "details": "incorrect username or password" })),
        )
            .into_response();
    }
    axum::Json(json!({
        "token": "fake-registry-token",
        "access_token": "fake-registry-token",
        "expires_in": 300,
        "issued_at": "2026-11-26T00:00:00Z"
    }))
    .into_response()
}

/// FNV-1a, for stable ETags.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
