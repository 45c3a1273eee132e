//! The open pull requests across project folders, each repository once:
//! what `slipway pr list` prints and the window's Pull requests view shows.

use std::path::PathBuf;

use serde::Serialize;

use crate::Problem;
use crate::accounts::AccountStore;
use crate::github::GithubRepo;
use crate::github::pulls::PullRequest;
use crate::github::reviews::Reviews;

use super::Project;

/// The open pull requests of one project's repository.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct ProjectPulls {
    /// Project folder.
    pub path: PathBuf,
    /// Project name.
    pub name: String,
    /// Its repository.
    pub repo: GithubRepo,
    /// Its open pull requests, newest first.
    pub pulls: Vec<PullRequest>,
    /// Their reviews, in the same order (`None` where GitHub would not say).
    pub reviews: Vec<Option<Reviews>>,
}

/// The open pull requests of the folders' repositories, and the folders
/// that could not be read with why.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct OpenPulls {
    /// Per repository, in the folders' order.
    pub projects: Vec<ProjectPulls>,
    /// Folders that could not be read.
    pub problems: Vec<(PathBuf, Problem)>,
}

/// The open pull requests of each repository `dirs` are on (a folder on a
/// repository already listed adds nothing).
pub async fn open_pulls(dirs: &[PathBuf], accounts: &AccountStore) -> OpenPulls {
    let mut open = OpenPulls::default();
    for dir in dirs {
        let listed = async {
            let project = Project::open(dir, accounts).await?;
            if open.projects.iter().any(|p| p.repo == project.repo) {
                return Ok(None);
            }
            let pulls = project.client.open_pulls(&project.repo).await?;
            let mut reviews = Vec::with_capacity(pulls.len());
            for pull in &pulls {
                // GitHub's own decision says which approvals its rules require.
                let read = project.client.reviews(&project.repo, pull, 0).await;
                if let Err(e) = &read {
                    tracing::debug!(
                        pull = pull.number,
                        "reviews unread: {}",
                        e.problem().message
                    );
                }
                reviews.push(read.ok());
            }
            Ok::<_, Problem>(Some(ProjectPulls {
                name: crate::config::default_name(dir),
                path: dir.clone(),
                repo: project.repo,
                pulls,
                reviews,
            }))
        }
        .await;
        match listed {
            Ok(Some(p)) => open.projects.push(p),
            Ok(None) => {}
            Err(problem) => open.problems.push((dir.clone(), problem)),
        }
    }
    open
}
