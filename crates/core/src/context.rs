//! The build context: a folder, filtered by its `.dockerignore`, sent to the
//! engine as a tar stream written on the fly.
//!
//! Memory stays bounded whatever the context's size: files are copied into a
//! small in-memory pipe as the engine reads, never collected first.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::dockerignore::{IgnoreRules, PatternError};

/// Size of the pipe between the tar writer and the HTTP body.
const PIPE_BYTES: usize = 256 * 1024;

/// Why a context could not be prepared or sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// The `.dockerignore` has a bad line.
    #[error(transparent)]
    Ignore(#[from] PatternError),
    /// A file of the context could not be read.
    #[error("cannot read {path} in the build context: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The Dockerfile is not inside the context folder.
    #[error("the Dockerfile {0} is outside the build context")]
    DockerfileOutside(String),
    /// Writing the tar stream failed (the engine stopped reading).
    #[error("sending the build context failed: {0}")]
    Write(io::Error),
}

/// Counts what has been sent so far, for progress.
#[derive(Debug, Default, Clone)]
pub struct ContextProgress {
    files: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl ContextProgress {
    /// Files sent so far.
    pub fn files(&self) -> u64 {
        self.files.load(Ordering::Relaxed)
    }

    /// Content bytes sent so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// A context folder and the rules deciding what in it is sent.
#[derive(Debug, Clone)]
pub struct ContextArchive {
    root: PathBuf,
    rules: IgnoreRules,
    progress: ContextProgress,
    excludes_build_files: bool,
}

/// What kind of entry the walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link (sent as a link, not followed).
    Symlink,
    /// A named pipe or a device: sent as an entry with no content, never
    /// opened (opening a pipe would wait for a writer).
    Special,
}

/// What a directory entry is sent as; `None` for what is not sent (sockets).
fn entry_kind(file_type: &std::fs::FileType) -> Option<EntryKind> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_socket() {
            return None;
        }
        if file_type.is_fifo() || file_type.is_char_device() || file_type.is_block_device() {
            return Some(EntryKind::Special);
        }
    }
    Some(if file_type.is_symlink() {
        EntryKind::Symlink
    } else if file_type.is_dir() {
        EntryKind::Dir
    } else {
        EntryKind::File
    })
}

impl ContextArchive {
    /// Prepares the context at `root` for `dockerfile` (relative to `root`).
    pub fn new(root: &Path, dockerfile: &str) -> Result<Self, ContextError> {
        let ignore_path = root.join(".dockerignore");
        let mut rules = match std::fs::read_to_string(&ignore_path) {
            Ok(text) => IgnoreRules::parse(&text)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => IgnoreRules::default(),
            Err(source) => {
                return Err(ContextError::Read {
                    path: ignore_path,
                    source,
                });
            }
        };
        let dockerfile = dockerfile.replace('\\', "/");
        if dockerfile.starts_with('/') || dockerfile.split('/').any(|p| p == "..") {
            return Err(ContextError::DockerfileOutside(dockerfile));
        }
        let dockerfile = dockerfile.trim_start_matches("./");
        let excludes_build_files =
            rules.is_ignored(".dockerignore") || rules.is_ignored(dockerfile);
        rules.always_send(".dockerignore");
        rules.always_send(dockerfile);
        Ok(ContextArchive {
            root: root.to_path_buf(),
            rules,
            progress: ContextProgress::default(),
            excludes_build_files,
        })
    }

    /// Whether `.dockerignore` leaves out the Dockerfile or itself. Both are
    /// sent anyway (the engine reads them); the classic builder then keeps
    /// them out of the image as `docker build` does, BuildKit fed a tar
    /// context does not.
    pub fn excludes_build_files(&self) -> bool {
        self.excludes_build_files
    }

    /// A handle on the counters of what has been sent.
    pub fn progress(&self) -> ContextProgress {
        self.progress.clone()
    }

    /// Visits every entry that is sent, as a slash-separated relative path,
    /// in the order Docker walks them (lexical, parents first).
    pub fn walk(
        &self,
        visit: &mut dyn FnMut(&str, &Path, EntryKind) -> Result<(), ContextError>,
    ) -> Result<(), ContextError> {
        self.walk_dir(&self.root, "", visit)
    }

    fn walk_dir(
        &self,
        dir: &Path,
        rel: &str,
        visit: &mut dyn FnMut(&str, &Path, EntryKind) -> Result<(), ContextError>,
    ) -> Result<(), ContextError> {
        let read_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ContextError::Read { path, source }
        };
        let mut entries: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
            .map_err(read_err(dir))?
            .map(|e| e.map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())))
            .collect::<Result<_, _>>()
            .map_err(read_err(dir))?;
        entries.sort();
        for (name, path) in entries {
            let rel_path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::symlink_metadata(&path).map_err(read_err(&path))?;
            let kind = match entry_kind(&meta.file_type()) {
                Some(kind) => kind,
                // Sockets cannot be archived: the docker CLI leaves them out too.
                None => continue,
            };
            if self.rules.is_ignored(&rel_path) {
                if kind == EntryKind::Dir
                    && self.rules.has_exclusions()
                    && self.rules.must_descend(&rel_path)
                {
                    self.walk_dir(&path, &rel_path, visit)?;
                }
                continue;
            }
            visit(&rel_path, &path, kind)?;
            if kind == EntryKind::Dir {
                self.walk_dir(&path, &rel_path, visit)?;
            }
        }
        Ok(())
    }

    /// Writes the context as a tar archive to `out`.
    pub fn write_tar<W: Write>(&self, out: W) -> Result<(), ContextError> {
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        let progress = self.progress.clone();
        self.walk(&mut |rel, path, kind| {
            let read_err = |source| ContextError::Read {
                path: path.to_path_buf(),
                source,
            };
            // The name as it is on disk, bytes and all (`rel` is for the
            // rules, and lossy for a name that is not UTF-8).
            let name = path.strip_prefix(&self.root).unwrap_or(Path::new(rel));
            let meta = std::fs::symlink_metadata(path).map_err(read_err)?;
            let mut header = tar::Header::new_gnu();
            header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
            // Like the docker CLI, everything in the context belongs to root.
            header.set_uid(0);
            header.set_gid(0);
            let _ = header.set_username("");
            let _ = header.set_groupname("");
            match kind {
                EntryKind::File => {
                    let file = std::fs::File::open(path).map_err(read_err)?;
                    tar.append_data(&mut header, name, file)
                        .map_err(ContextError::Write)?;
                    progress.bytes.fetch_add(meta.len(), Ordering::Relaxed);
                }
                EntryKind::Dir => {
                    let mut dir = name.as_os_str().to_owned();
                    dir.push("/");
                    tar.append_data(&mut header, dir, io::empty())
                        .map_err(ContextError::Write)?;
                }
                EntryKind::Special => {
                    header.set_size(0);
                    tar.append_data(&mut header, name, io::empty())
                        .map_err(ContextError::Write)?;
                }
                EntryKind::Symlink => {
                    let target = std::fs::read_link(path).map_err(read_err)?;
                    header.set_size(0);
                    tar.append_link(&mut header, name, target)
                        .map_err(ContextError::Write)?;
                }
            }
            progress.files.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })?;
        tar.into_inner()
            .map_err(ContextError::Write)?
            .flush()
            .map_err(ContextError::Write)
    }

    /// The context as a stream of tar chunks, written on a blocking thread as
    /// the consumer reads. A failure while walking ends the stream with an
    /// error rather than a silently truncated archive.
    pub fn into_stream(self) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        let (reader, writer) = tokio::io::duplex(PIPE_BYTES);
        let writer_task = tokio::task::spawn_blocking(move || {
            self.write_tar(tokio_util::io::SyncIoBridge::new(writer))
        });
        let tail = futures_util::stream::once(async move {
            match writer_task.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(Err(io::Error::other(e.to_string()))),
                Err(e) => Some(Err(io::Error::other(format!(
                    "context writer stopped: {e}"
                )))),
            }
        })
        .filter_map(futures_util::future::ready);
        tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024).chain(tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(archive: &ContextArchive) -> Vec<String> {
        let mut out = Vec::new();
        archive
            .walk(&mut |rel, _, _| {
                out.push(rel.to_string());
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn dockerfile_and_ignore_file_are_always_sent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*\n").unwrap();
        std::fs::write(dir.path().join("other"), "x").unwrap();
        let archive = ContextArchive::new(dir.path(), "Dockerfile").unwrap();
        assert_eq!(listing(&archive), vec![".dockerignore", "Dockerfile"]);
    }

    #[test]
    fn tar_holds_the_listed_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/deep")).unwrap();
        std::fs::write(dir.path().join("src/deep/a.txt"), "hello").unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch").unwrap();
        std::os::unix::fs::symlink("src/deep/a.txt", dir.path().join("link")).unwrap();
        let archive = ContextArchive::new(dir.path(), "Dockerfile").unwrap();
        let mut buf = Vec::new();
        archive.write_tar(&mut buf).unwrap();
        let mut names: Vec<String> = tar::Archive::new(buf.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec!["Dockerfile", "link", "src/", "src/deep/", "src/deep/a.txt"]
        );
        assert_eq!(archive.progress().bytes(), 5 + 12);
    }

    #[test]
    fn pipes_are_sent_unread_and_sockets_left_out() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch").unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("dev.sock")).unwrap();
        let archive = ContextArchive::new(dir.path(), "Dockerfile").unwrap();
        // Opening the pipe would wait for a writer forever: a thread, and a limit.
        let (done, written) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let result = archive.write_tar(&mut buf).map(|()| buf);
            let _ = done.send(result);
        });
        let buf = written
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("writing the context hung on the named pipe")
            .unwrap();
        let entries: Vec<(String, tar::EntryType)> = tar::Archive::new(buf.as_slice())
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.header().entry_type(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("Dockerfile".to_string(), tar::EntryType::Regular),
                ("pipe".to_string(), tar::EntryType::Fifo)
            ]
        );
    }

    #[tokio::test]
    async fn stream_reports_walk_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch").unwrap();
        let archive = ContextArchive::new(dir.path(), "Dockerfile").unwrap();
        drop(dir);
        let results: Vec<_> = archive.into_stream().collect().await;
        assert!(results.last().unwrap().is_err());
    }
}
