//! The fake GitHub REST API: the authenticated user, with GitHub's headers,
//! error shapes, ETags and rate limit.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::http::{etag, not_modified};
use super::{GithubFault, Shared, World, bearer};

const GITHUB_USER: &str = include_str!("../../contracts/github/get_authenticated_user.json");

/// GitHub's headers on every API answer; the request is charged.
pub(super) fn github_headers(world: &mut World) -> HeaderMap {
    world.rate.charge();
    let mut h = HeaderMap::new();
    world.rate.headers(&mut h);
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
        ("x-accepted-oauth-scopes", String::new()),
    ] {
        h.insert(k, HeaderValue::from_str(&v).expect("header"));
    }
    h
}

pub(super) fn github_error(
    headers: HeaderMap,
    status: StatusCode,
    message: &str,
    docs: &str,
) -> Response {
    (
        status,
        headers,
        axum::Json(
            json!({ "message": message, "documentation_url": docs, "status": status.as_str() }),
        ),
    )
        .into_response()
}

pub(super) async fn user(State(world): State<Shared>, request_headers: HeaderMap) -> Response {
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
    let etag = etag(text.as_bytes());
    if let Some(scopes) = &user.scopes {
        headers.insert(
            "x-oauth-scopes",
            HeaderValue::from_str(scopes).expect("header"),
        );
    }
    headers.insert("etag", HeaderValue::from_str(&etag).expect("header"));
    if not_modified(&request_headers, &etag) {
        // A conditional hit does not count against the rate limit.
        world.rate.refund();
        world.rate.headers(&mut headers);
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, text).into_response()
}

/// Answers a GitHub request with the next injected fault, if any.
pub(super) async fn faults(
    State(world): State<Shared>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    if !request.uri().path().starts_with("/github/") {
        return next.run(request).await;
    }
    let fault = world.lock().expect("lock").github_faults.pop_front();
    let Some(fault) = fault else {
        // Repositories are private: a known token or GitHub's 401.
        let known = bearer(request.headers())
            .is_some_and(|t| world.lock().expect("lock").github.contains_key(&t));
        if request.uri().path().starts_with("/github/repos/") && !known {
            let mut world = world.lock().expect("lock");
            let headers = github_headers(&mut world);
            return github_error(
                headers,
                StatusCode::UNAUTHORIZED,
                "Bad credentials",
                "https://docs.github.com/rest",
            );
        }
        return next.run(request).await;
    };
    let mut world = world.lock().expect("lock");
    let mut headers = github_headers(&mut world);
    match fault {
        GithubFault::PrimaryRateLimit { reset_in } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            for (k, v) in [
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", (now + reset_in).to_string()),
            ] {
                headers.insert(k, HeaderValue::from_str(&v).expect("header"));
            }
            github_error(
                headers,
                StatusCode::FORBIDDEN,
                "API rate limit exceeded for user ID 1.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            )
        }
        GithubFault::SecondaryRateLimit {
            status,
            retry_after,
        } => {
            headers.insert(
                "retry-after",
                HeaderValue::from_str(&retry_after.to_string()).expect("header"),
            );
            github_error(
                headers,
                StatusCode::from_u16(status).expect("status"),
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            )
        }
        GithubFault::ServerError(status) => github_error(
            headers,
            StatusCode::from_u16(status).expect("status"),
            "Server Error",
            "https://docs.github.com/rest",
        ),
        GithubFault::Unauthorized => github_error(
            headers,
            StatusCode::UNAUTHORIZED,
            "Bad credentials",
            "https://docs.github.com/rest",
        ),
    }
}
