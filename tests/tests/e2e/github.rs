//! The core's GitHub client against the fake GitHub: conditional requests
//! (a 304 is free), rate limits, refused tokens and server errors.

use serde_json::Value;
use slipway_core::ErrorCode;
use slipway_core::github::{Fetched, GithubClient, GithubError};
use slipway_core::secrets::Secret;
use slipway_tests::fake::{FakeServices, GithubFault};
use slipway_tests::git;

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

#[tokio::test]
async fn a_feature_branch_goes_from_push_to_a_green_merge() {
    use slipway_core::github::GithubRepo;
    use slipway_core::github::checks::CheckState;
    use slipway_core::github::pulls::{MergeMethod, MergeOutcome, NewPull, PullState};

    let fake = FakeServices::start();
    fake.github_token("ghp_flow", "octo", Some("repo, workflow"));
    let bare = fake.github_repo("octo", "app", "master");
    let github = client(&fake, "ghp_flow");

    // The user's clone names GitHub; git reaches the fake through a rewrite.
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("app");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "master"]);
    git(
        &work,
        &["remote", "add", "origin", "https://github.com/octo/app.git"],
    );
    let rewrite = format!("url.{}.insteadOf", bare.display());
    git(
        &work,
        &["config", &rewrite, "https://github.com/octo/app.git"],
    );
    git(&work, &["commit", "-q", "--allow-empty", "-m", "first"]);
    slipway_core::git::push(&work, "origin", "master", |_| {})
        .await
        .unwrap();

    let remote = slipway_core::git::remote_url(&work).await.unwrap();
    assert_eq!(
        remote, "https://github.com/octo/app.git",
        "read before the rewrite"
    );
    let repo = GithubRepo::from_remote(&remote, &[]).unwrap();
    assert_eq!(repo.full_name(), "octo/app");
    let info = github.repository(&repo).await.unwrap();
    assert_eq!(info.default_branch, "master");

    slipway_core::git::new_branch(&work, "origin", "master", "feature/cities")
        .await
        .unwrap();
    std::fs::write(work.join("cities.txt"), "Seattle\n").unwrap();
    git(&work, &["add", "cities.txt"]);
    git(&work, &["commit", "-q", "-m", "List Seattle"]);
    slipway_core::git::push(&work, "origin", "feature/cities", |_| {})
        .await
        .unwrap();
    let head = git(&work, &["rev-parse", "HEAD"]);

    assert_eq!(
        github.open_pull_for(&repo, "feature/cities").await.unwrap(),
        None
    );
    let pull = github
        .create_pull(
            &repo,
            &NewPull {
                title: "List Seattle".into(),
                body: "".into(),
                head: "feature/cities".into(),
                base: "master".into(),
                draft: false,
            },
        )
        .await
        .unwrap();
    assert_eq!((pull.number, pull.head_sha.as_str()), (1, head.as_str()));
    let again = github
        .create_pull(
            &repo,
            &NewPull {
                title: "again".into(),
                body: "".into(),
                head: "feature/cities".into(),
                base: "master".into(),
                draft: false,
            },
        )
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
    assert_eq!(
        github
            .open_pull_for(&repo, "feature/cities")
            .await
            .unwrap()
            .map(|p| p.number),
        Some(1)
    );

    // Right after the push: no checks yet, which is pending.
    fake.protect("octo/app", "master", &["ci/circleci: build"]);
    let checks = github.checks(&repo, &head, Some("master")).await.unwrap();
    assert_eq!(checks.state, CheckState::Pending);

    // CircleCI's status and Actions' runs on one commit, more than a page of them.
    fake.post_status("octo/app", &head, "ci/circleci: build", "pending");
    for n in 0..120 {
        fake.check_run(
            "octo/app",
            &head,
            &format!("matrix {n}"),
            "completed",
            Some("success"),
        );
    }
    let flaky = "integration";
    fake.check_run("octo/app", &head, flaky, "completed", Some("failure"));
    let checks = github.checks(&repo, &head, Some("master")).await.unwrap();
    assert_eq!(
        checks.checks.len(),
        122,
        "every page of check runs was read"
    );
    assert_eq!(checks.state, CheckState::Failure);
    fake.check_run("octo/app", &head, flaky, "completed", Some("success"));
    fake.post_status("octo/app", &head, "ci/circleci: build", "success");
    let checks = github.checks(&repo, &head, Some("master")).await.unwrap();
    assert_eq!(
        checks.state,
        CheckState::Success,
        "the re-run replaced the failure"
    );

    // A push the user has not seen: the merge refuses the old head.
    std::fs::write(work.join("cities.txt"), "Seattle\nParis\n").unwrap();
    git(&work, &["commit", "-q", "-am", "Add Paris"]);
    slipway_core::git::push(&work, "origin", "feature/cities", |_| {})
        .await
        .unwrap();
    let moved = github
        .merge(&repo, 1, &head, MergeMethod::Merge)
        .await
        .unwrap();
    assert!(matches!(moved, MergeOutcome::HeadMoved { .. }), "{moved:?}");

    // The new head's required check has to pass before GitHub merges it.
    let early = github
        .merge(
            &repo,
            1,
            &git(&work, &["rev-parse", "HEAD"]),
            MergeMethod::Merge,
        )
        .await
        .unwrap();
    let MergeOutcome::NotMergeable { message } = early else {
        panic!("{early:?}")
    };
    assert!(message.contains("Required status check"), "{message}");
    let new_head = git(&work, &["rev-parse", "HEAD"]);
    fake.post_status("octo/app", &new_head, "ci/circleci: build", "success");

    // GitHub still working out mergeability answers null for a while.
    fake.with_repo("octo/app", |r| r.mergeable_unknown = 2);
    assert_eq!(github.pull(&repo, 1).await.unwrap().mergeable, None);
    assert_eq!(github.pull(&repo, 1).await.unwrap().mergeable, None);
    let pull = github.pull(&repo, 1).await.unwrap();
    assert_eq!(pull.mergeable, Some(true));

    fake.with_repo("octo/app", |r| r.merge_fault = Some(405));
    let refused = github
        .merge(&repo, 1, &pull.head_sha, MergeMethod::Squash)
        .await
        .unwrap();
    assert!(
        matches!(refused, MergeOutcome::NotMergeable { .. }),
        "{refused:?}"
    );

    let merged = github
        .merge(&repo, 1, &pull.head_sha, MergeMethod::Merge)
        .await
        .unwrap();
    let MergeOutcome::Merged { sha } = merged else {
        panic!("{merged:?}")
    };
    assert_eq!(
        git(&bare, &["rev-parse", "master"]),
        sha,
        "master moved to the merge"
    );
    assert_eq!(
        github.pull(&repo, 1).await.unwrap().state,
        PullState::Merged
    );
    assert!(github.open_pulls(&repo).await.unwrap().is_empty());
    assert!(fake.unknown().is_empty(), "{:?}", fake.unknown());
}

#[tokio::test]
async fn githubs_auto_merge_merges_the_seen_head_when_it_goes_green() {
    use slipway_core::github::GithubRepo;
    use slipway_core::github::pulls::{MergeMethod, NewPull, PullState};

    let fake = FakeServices::start();
    fake.github_token("ghp_auto", "octo", Some("repo"));
    let github = client(&fake, "ghp_auto");
    let bare = fake.github_repo("octo", "auto", "master");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    slipway_tests::clone_of(work, &bare, "master");
    git(work, &["switch", "-q", "-c", "fix"]);
    std::fs::write(work.join("fix.txt"), "fixed\n").unwrap();
    git(work, &["add", "fix.txt"]);
    git(work, &["commit", "-q", "-m", "Fix"]);
    git(work, &["push", "-q", "origin", "fix"]);
    let repo = GithubRepo::from_remote("https://github.com/octo/auto.git", &[]).unwrap();
    let new = NewPull {
        title: "Fix".into(),
        body: String::new(),
        head: "fix".into(),
        base: "master".into(),
        draft: false,
    };
    let pull = github.create_pull(&repo, &new).await.unwrap();
    assert!(!pull.node_id.is_empty() && !pull.auto_merge);

    // Not allowed in the repository: GitHub's words.
    let refused = github
        .set_auto_merge(&pull, Some(MergeMethod::Squash))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("Auto merge is not allowed"),
        "{refused}"
    );
    assert!(!github.repository(&repo).await.unwrap().allow_auto_merge);
    fake.with_repo("octo/auto", |r| r.allow_auto_merge = true);
    assert!(github.repository(&repo).await.unwrap().allow_auto_merge);

    // GraphQL wants a token GitHub knows, as REST does.
    let stranger = client(&fake, "ghp_not_known");
    let unknown = stranger
        .set_auto_merge(&pull, Some(MergeMethod::Squash))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, slipway_core::github::GithubError::Expired { .. }),
        "{unknown:?}"
    );

    // Only for the head the user saw.
    let stale = slipway_core::github::pulls::PullRequest {
        head_sha: "0".repeat(40),
        ..pull.clone()
    };
    let moved = github
        .set_auto_merge(&stale, Some(MergeMethod::Squash))
        .await
        .unwrap_err();
    assert!(moved.to_string().contains("expected head sha"), "{moved}");

    fake.post_status("octo/auto", &pull.head_sha, "ci/circleci: build", "pending");
    github
        .set_auto_merge(&pull, Some(MergeMethod::Squash))
        .await
        .unwrap();
    assert!(github.pull(&repo, 1).await.unwrap().auto_merge);
    // Off and on again, then green: GitHub merges it.
    github.set_auto_merge(&pull, None).await.unwrap();
    assert!(!github.pull(&repo, 1).await.unwrap().auto_merge);
    github
        .set_auto_merge(&pull, Some(MergeMethod::Squash))
        .await
        .unwrap();
    fake.post_status("octo/auto", &pull.head_sha, "ci/circleci: build", "success");
    let merged = github.pull(&repo, 1).await.unwrap();
    assert_eq!(merged.state, PullState::Merged);
    // A squash is one commit titled after the pull request, as GitHub titles it.
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%s", "master"]),
        "Fix (#1)"
    );
}
