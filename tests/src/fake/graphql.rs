//! The fake GitHub's GraphQL endpoint: only what Slipway sends, the two
//! mutations turning a pull request's auto-merge on and off, with GitHub's
//! refusals as GraphQL errors (a 200 whose body has `errors`), and the query
//! of a pull request's review decision and threads. Any other query is an
//! unknown request.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shared;
use super::github::{github_error, github_headers};
use super::repos::node_id;

fn refused(field: &str, message: &str) -> Value {
    json!({
        "data": { field: null },
        "errors": [{ "type": "UNPROCESSABLE", "path": [field], "message": message }],
    })
}

/// A pull request's `reviewDecision` and `reviewThreads`, as GitHub
/// answers them: the decision is null unless a rule requires a review.
fn review_state(world: &super::World, variables: &Value) -> Value {
    let full = format!(
        "{}/{}",
        variables["owner"].as_str().unwrap_or_default(),
        variables["name"].as_str().unwrap_or_default()
    );
    let number = variables["number"].as_u64().unwrap_or_default();
    let found = world
        .repos
        .get(&full)
        .and_then(|repo| Some((repo, repo.pulls.iter().find(|p| p.number == number)?)));
    let Some((repo, pull)) = found else {
        return json!({
            "data": { "repository": null },
            "errors": [{ "type": "NOT_FOUND", "path": ["repository"],
                "message": format!("Could not resolve to a Repository with the name '{full}'.") }],
        });
    };
    let required = repo.approvals.get(&pull.base).copied().unwrap_or(0);
    let refused = super::repos::latest_reviews(pull)
        .iter()
        .any(|(_, s)| *s == "CHANGES_REQUESTED");
    let decision = match (required, repo.approvals_missing(pull)) {
        (0, _) => Value::Null,
        (_, None) => json!("APPROVED"),
        (_, Some(_)) if refused => json!("CHANGES_REQUESTED"),
        (_, Some(_)) => json!("REVIEW_REQUIRED"),
    };
    let threads: Vec<Value> = pull
        .threads
        .iter()
        .map(|resolved| json!({ "isResolved": resolved }))
        .collect();
    json!({ "data": { "repository": { "pullRequest": {
        "reviewDecision": decision,
        "reviewThreads": { "nodes": threads },
    } } } })
}

/// `POST /graphql`: a token GitHub knows, or 401 as GitHub answers.
pub(super) async fn graphql(
    State(world): State<Shared>,
    request: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let mut world = world.lock().expect("lock");
    let headers = github_headers(&mut world);
    let docs = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql";
    match super::bearer(&request) {
        None => {
            return github_error(
                headers,
                StatusCode::UNAUTHORIZED,
                "This endpoint requires you to be authenticated.",
                docs,
            );
        }
        Some(token) if !world.github.contains_key(&token) => {
            return github_error(headers, StatusCode::UNAUTHORIZED, "Bad credentials", docs);
        }
        Some(_) => {}
    }
    let query = body["query"].as_str().unwrap_or_default();
    if query.contains("reviewThreads(") {
        let answer = review_state(&world, &body["variables"]);
        return (StatusCode::OK, headers, answer.to_string()).into_response();
    }
    let input = &body["variables"]["input"];
    let field = if query.contains("enablePullRequestAutoMerge(") {
        "enablePullRequestAutoMerge"
    } else if query.contains("disablePullRequestAutoMerge(") {
        "disablePullRequestAutoMerge"
    } else {
        world.unknown.push(format!("POST /graphql {query}"));
        return (StatusCode::BAD_REQUEST, "unknown GraphQL query").into_response();
    };
    let id = input["pullRequestId"].as_str().unwrap_or_default();
    let found = world.repos.iter_mut().find_map(|(full, repo)| {
        let (owner, name) = full.split_once('/')?;
        let index = repo
            .pulls
            .iter()
            .position(|p| node_id(owner, name, p.number) == id)?;
        Some((owner.to_string(), repo, index))
    });
    let Some((owner, repo, index)) = found else {
        let answer = refused(
            field,
            &format!("Could not resolve to a node with the global id of '{id}'"),
        );
        return (StatusCode::OK, headers, answer.to_string()).into_response();
    };
    let answer = if field == "disablePullRequestAutoMerge" {
        repo.pulls[index].auto_merge = None;
        json!({ "data": { field: { "pullRequest": { "number": repo.pulls[index].number } } } })
    } else if !repo.allow_auto_merge {
        refused(
            field,
            "Pull request Auto merge is not allowed for this repository",
        )
    } else if repo.pulls[index].state != "open" {
        refused(field, "Pull request is not open")
    } else if input["expectedHeadOid"].as_str() != repo.resolve(&repo.pulls[index].head).as_deref()
    {
        refused(field, "Head sha didn't match expected head sha")
    } else if repo.green(
        &repo.resolve(&repo.pulls[index].head).unwrap_or_default(),
        &repo.pulls[index].base.clone(),
    ) {
        refused(field, "Pull request is in clean status")
    } else {
        let method = input["mergeMethod"].as_str().unwrap_or("MERGE").to_string();
        repo.pulls[index].auto_merge = Some(method);
        repo.auto_merge(&owner);
        json!({ "data": { field: { "pullRequest": { "number": repo.pulls[index].number } } } })
    };
    (StatusCode::OK, headers, answer.to_string()).into_response()
}
