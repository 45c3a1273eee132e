//! Files in and out of a job, as tar archives: the project checked out,
//! caches, the workspace handed between jobs, artifacts. A job's place is
//! a container (the engine's archive API) or the host (a machine job).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;

use crate::engine::Engine;

/// Where a job's files are.
#[derive(Debug, Clone)]
pub(crate) enum Place {
    /// A container, by id.
    Container(Box<Engine>, String),
    /// The host.
    Host,
}

impl Place {
    /// A tar of `path` (absolute), its top entry named after its last part;
    /// `Ok(None)` when it does not exist.
    pub(crate) async fn read_tar(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        match self {
            Place::Container(engine, id) => {
                let options = bollard::query_parameters::DownloadFromContainerOptions {
                    path: path.to_string(),
                };
                let mut stream = engine.docker().download_from_container(id, Some(options));
                let mut out = Vec::new();
                while let Some(chunk) = stream.next().await {
                    match chunk {
                        Ok(bytes) => out.extend_from_slice(&bytes),
                        Err(bollard::errors::Error::DockerResponseServerError {
                            status_code: 404,
                            ..
                        }) => return Ok(None),
                        Err(e) => return Err(engine.error(e).to_string()),
                    }
                }
                Ok(Some(out))
            }
            Place::Host => {
                let path = PathBuf::from(path);
                tokio::task::spawn_blocking(move || host_tar(&path))
                    .await
                    .map_err(|e| e.to_string())?
            }
        }
    }

    /// Unpacks `tar`, whose entries are paths from the root, at the root.
    pub(crate) async fn write_tar(&self, tar: Vec<u8>) -> Result<(), String> {
        match self {
            Place::Container(engine, id) => {
                let options = bollard::query_parameters::UploadToContainerOptions {
                    path: "/".into(),
                    ..Default::default()
                };
                engine
                    .docker()
                    .upload_to_container(id, Some(options), bollard::body_full(Bytes::from(tar)))
                    .await
                    .map_err(|e| engine.error(e).to_string())
            }
            Place::Host => tokio::task::spawn_blocking(move || {
                let mut archive = tar::Archive::new(std::io::Cursor::new(tar));
                archive.set_preserve_permissions(true);
                archive.set_overwrite(true);
                archive.unpack("/").map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())?,
        }
    }
}

fn host_tar(path: &Path) -> Result<Option<Vec<u8>>, String> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let name = path
        .file_name()
        .map_or_else(|| ".".into(), |n| n.to_os_string());
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let result = if path.is_dir() {
        builder.append_dir_all(&name, path)
    } else {
        builder.append_path_with_name(path, &name)
    };
    result.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    builder.into_inner().map(Some).map_err(|e| e.to_string())
}

/// Appends the entries of `input` to `out`, each under `prefix` (a path
/// without its leading `/`), so the archive unpacks at the root.
pub(crate) fn rebase(
    input: &[u8],
    prefix: &str,
    out: &mut tar::Builder<Vec<u8>>,
) -> Result<u64, String> {
    let prefix = prefix.trim_matches('/');
    let join = |p: &Path| -> PathBuf {
        if prefix.is_empty() {
            p.to_path_buf()
        } else {
            Path::new(prefix).join(p)
        }
    };
    let mut archive = tar::Archive::new(input);
    let mut count = 0;
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let target = join(&path);
        let mut header = entry.header().clone();
        let kind = header.entry_type();
        let result = if kind.is_symlink() || kind.is_hard_link() {
            let link = entry
                .link_name()
                .map_err(|e| e.to_string())?
                .map(|l| l.into_owned())
                .unwrap_or_default();
            let link = if kind.is_hard_link() {
                join(&link)
            } else {
                link
            };
            out.append_link(&mut header, &target, &link)
        } else {
            out.append_data(&mut header, &target, &mut entry)
        };
        result.map_err(|e| e.to_string())?;
        if kind.is_file() {
            count += 1;
        }
    }
    Ok(count)
}

/// `path` as an absolute path in a job: `~` is `home`, a relative path is
/// under `dir`.
pub(crate) fn absolute(path: &str, home: &str, dir: &str) -> String {
    let path = path.trim();
    if path == "~" {
        return home.to_string();
    }
    if let Some(rest) = path.strip_prefix("~/") {
        return format!("{}/{rest}", home.trim_end_matches('/'));
    }
    if path.starts_with('/') {
        return path.to_string();
    }
    let joined = format!(
        "{}/{}",
        dir.trim_end_matches('/'),
        path.trim_start_matches("./")
    );
    joined.trim_end_matches("/.").to_string()
}

/// The parent of an absolute path, and its last part.
pub(crate) fn split(path: &str) -> (&str, &str) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => ("/", trimmed),
    }
}

/// The project's files as a tar under `prefix`: git's tracked and
/// untracked-but-not-ignored files (the working tree as it is), or every
/// file but `.git` outside a repository. Also how many files.
pub(crate) fn project_tar(root: &Path, prefix: &str) -> Result<(Vec<u8>, usize), String> {
    let listed = std::process::Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output();
    let files: Vec<PathBuf> = match listed {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .collect(),
        _ => walk(root, Path::new(""))?,
    };
    let prefix = prefix.trim_matches('/');
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut count = 0;
    for file in &files {
        let full = root.join(file);
        // A tracked file deleted in the working tree is not there.
        if std::fs::symlink_metadata(&full).is_err() {
            continue;
        }
        builder
            .append_path_with_name(&full, Path::new(prefix).join(file))
            .map_err(|e| format!("cannot read {}: {e}", full.display()))?;
        count += 1;
    }
    builder
        .into_inner()
        .map(|t| (t, count))
        .map_err(|e| e.to_string())
}

fn walk(root: &Path, rel: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let dir = root.join(rel);
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let path = rel.join(&name);
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(root, &path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

/// The files of a tar (path, contents), for reading reports.
pub(crate) fn files_of(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(tar);
    let Ok(entries) = archive.entries() else {
        return out;
    };
    for mut entry in entries.flatten() {
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut bytes = Vec::new();
        if entry.read_to_end(&mut bytes).is_ok() {
            out.push((path, bytes));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_as_circleci_resolves_them() {
        assert_eq!(absolute("~/project", "/root", "/x"), "/root/project");
        assert_eq!(absolute("~", "/root", "/x"), "/root");
        assert_eq!(absolute("/tmp/ws", "/root", "/x"), "/tmp/ws");
        assert_eq!(
            absolute("reports", "/root", "/root/project"),
            "/root/project/reports"
        );
        assert_eq!(absolute("./a/b", "/h", "/w/"), "/w/a/b");
        assert_eq!(absolute(".", "/h", "/w"), "/w");
        assert_eq!(split("/root/project/build"), ("/root/project", "build"));
        assert_eq!(split("/build"), ("/", "build"));
    }

    #[test]
    fn a_tar_is_rebased_under_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("out/sub")).unwrap();
        std::fs::write(dir.path().join("out/sub/a.txt"), "a").unwrap();
        let tar = host_tar(&dir.path().join("out")).unwrap().unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        assert_eq!(rebase(&tar, "/tmp/ws/", &mut builder).unwrap(), 1);
        let rebased = builder.into_inner().unwrap();
        let files = files_of(&rebased);
        assert_eq!(files, [("tmp/ws/out/sub/a.txt".to_string(), b"a".to_vec())]);
        assert!(host_tar(&dir.path().join("missing")).unwrap().is_none());
    }
}
