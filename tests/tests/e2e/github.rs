//! The core's GitHub client against the fake GitHub: conditional requests
//! (a 304 is free), rate limits, refused tokens and server errors.

use serde_json::Value;
use slipway_core::ErrorCode;
use slipway_core::github::{Fetched, GithubClient, GithubError};
use slipway_core::secrets::Secret;
use slipway_tests::fake::{FakeServices, GithubFault};

fn client(fake: &FakeServices, token: &str) -> GithubClient {
    GithubClient::build("github.com", &fake.github_api(), &Secret::new(token)).unwrap()
}

#[tokio::test]
async fn an_unchanged_resource_is_a_free_304() {
    let fake = FakeServices::start();
    fake.github_token("ghp_etag", "octocat", Some("repo"));
    let github = client(&fake, "ghp_etag");
    let Fetched::Changed { value, etag, .. } =
        github.get_json::<Value>("/user", None).await.unwrap()
    else {
        panic!("the first request has nothing to compare with")
    };
    assert_eq!(value["login"], "octocat");
    let etag = etag.expect("GitHub sends an ETag");
    let again = github
        .get_json::<Value>("/user", Some(&etag))
        .await
        .unwrap();
    assert_eq!(again, Fetched::Unchanged);
    assert_eq!(fake.github_rate().charged, 1, "the 304 was not charged");
    assert_eq!(github.budget().remaining, Some(4999));
}

#[tokio::test]
async fn limits_refusals_and_outages_say_what_to_do() {
    let fake = FakeServices::start();
    fake.github_token("ghp_faults", "octocat", Some("repo"));
    let github = client(&fake, "ghp_faults");
    fake.github_faults(&[
        GithubFault::PrimaryRateLimit { reset_in: 600 },
        GithubFault::SecondaryRateLimit {
            status: 429,
            retry_after: 60,
        },
        GithubFault::ServerError(502),
        GithubFault::Unauthorized,
    ]);
    let primary = github.get_json::<Value>("/user", None).await.unwrap_err();
    let GithubError::RateLimited {
        reset: Some(reset), ..
    } = &primary
    else {
        panic!("{primary:?}")
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((now + 590..=now + 610).contains(reset), "{reset}");
    assert_eq!(primary.problem().code, ErrorCode::RateLimited);

    let secondary = github.get_json::<Value>("/user", None).await.unwrap_err();
    let GithubError::RateLimited {
        reset: Some(reset), ..
    } = &secondary
    else {
        panic!("{secondary:?}")
    };
    assert!(
        (now + 55..=now + 70).contains(reset),
        "retry-after is honoured: {reset}"
    );

    let outage = github.get_json::<Value>("/user", None).await.unwrap_err();
    assert_eq!(
        outage.problem().code,
        ErrorCode::ServiceUnavailable,
        "{outage}"
    );

    let refused = github.get_json::<Value>("/user", None).await.unwrap_err();
    assert_eq!(refused.problem().code, ErrorCode::AuthExpired, "{refused}");

    // The faults are spent: the next request is answered.
    assert!(matches!(
        github.get_json::<Value>("/user", None).await,
        Ok(Fetched::Changed { .. })
    ));
}
