//! git over HTTP as GitHub serves it: `/git/OWNER/NAME.git/...` runs
//! `git http-backend` on the repository's bare folder, for a known token
//! sent as the Basic password (any user name), else GitHub's 401.

use std::process::Stdio;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use tokio::io::AsyncWriteExt;

use super::Shared;

/// The login of the token in a Basic `authorization` header, if GitHub knows it.
fn login_of(world: &Shared, headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_user, token) = text.split_once(':')?;
    let world = world.lock().expect("lock");
    world.github.get(token).map(|u| u.login.clone())
}

pub(super) async fn serve(
    State(world): State<Shared>,
    UrlPath((owner, rest)): UrlPath<(String, String)>,
    request: Request,
) -> Response {
    let Some(login) = login_of(&world, request.headers()) else {
        let mut headers = HeaderMap::new();
        headers.insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"GitHub\""),
        );
        world.lock().expect("lock").git_refused += 1;
        return (
            StatusCode::UNAUTHORIZED,
            headers,
            "Invalid username or token.\n",
        )
            .into_response();
    };
    let Some((name, _)) = rest.split_once(".git") else {
        return (StatusCode::NOT_FOUND, "Repository not found.\n").into_response();
    };
    let bare = world
        .lock()
        .expect("lock")
        .repos
        .get(&format!("{owner}/{name}"))
        .map(|r| r.bare.clone());
    let Some(bare) = bare else {
        return (StatusCode::NOT_FOUND, "Repository not found.\n").into_response();
    };
    let root = bare
        .parent()
        .and_then(|p| p.parent())
        .expect("repositories sit in OWNER/NAME.git")
        .to_path_buf();
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(body) => body,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut command = tokio::process::Command::new("git");
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{owner}/{rest}"))
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("QUERY_STRING", parts.uri.query().unwrap_or_default())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", &login)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let output = async {
        let mut child = command.spawn()?;
        let mut stdin = child.stdin.take().expect("piped");
        let body: Bytes = body;
        let writing = async move {
            let written = stdin.write_all(&body).await;
            drop(stdin);
            written
        };
        let (written, output) = tokio::join!(writing, child.wait_with_output());
        written?;
        output
    }
    .await;
    let output = match output {
        Ok(o) => o.stdout,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    world.lock().expect("lock").git_served.push(login);
    cgi_response(&output)
}

/// A CGI program's output as an HTTP response.
fn cgi_response(output: &[u8]) -> Response {
    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            output
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        });
    let Some((end, body_start)) = split else {
        return (StatusCode::BAD_GATEWAY, "git http-backend said nothing").into_response();
    };
    let head = String::from_utf8_lossy(&output[..end]);
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::OK);
        } else if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name.trim()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    (status, headers, output[body_start..].to_vec()).into_response()
}
