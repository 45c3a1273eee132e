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

use crate::dockerignore::{IgnoreRules, ParentMatches, PatternError};
use crate::error::{ErrorCode, Problem};

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
    /// A file got shorter while it was being sent.
    #[error(
        "{path} changed while the build context was being sent (it shrank from {before} to {after} bytes)"
    )]
    Changed {
        /// The file.
        path: PathBuf,
        /// Its size when it was opened.
        before: u64,
        /// The bytes it still had.
        after: u64,
    },
    /// The Dockerfile is not inside the context folder.
    #[error("the Dockerfile {0} is outside the build context")]
    DockerfileOutside(String),
    /// Writing the tar stream failed (the engine stopped reading).
    #[error("sending the build context failed: {0}")]
    Write(io::Error),
}

impl ContextError {
    /// The error as a user-facing problem, with what to do.
    pub fn problem(&self) -> Problem {
        let leave_out = "or leave it out of the build with a line in .dockerignore.";
        match self {
            ContextError::Ignore(_) | ContextError::DockerfileOutside(_) => {
                Problem::new(ErrorCode::BadConfig, self.to_string())
                    .with_hint("Fix the .dockerignore or the Dockerfile path in slipway.toml.")
            }
            ContextError::Read { path, source }
                if source.kind() == io::ErrorKind::PermissionDenied =>
            {
                let mode = if path.is_dir() { "a+rx" } else { "a+r" };
                Problem::new(ErrorCode::BadConfig, self.to_string()).with_hint(format!(
                    "Make it readable (chmod {mode} {}), {leave_out}",
                    path.display()
                ))
            }
            ContextError::Read { .. } => Problem::new(ErrorCode::Io, self.to_string())
                .with_hint(format!("Check the file and run again, {leave_out}")),
            // The project's file, not the engine: fixed in the project.
            ContextError::Changed { .. } => Problem::new(ErrorCode::BadConfig, self.to_string())
                .with_hint(
                    "Run again once nothing is writing it; if a program writes it during builds \
                     (a log, a database), leave it out of the build with a line in .dockerignore.",
                ),
            ContextError::Write(_) => Problem::new(ErrorCode::DockerUnavailable, self.to_string()),
        }
    }
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
    failure: ContextFailure,
    excludes_build_files: bool,
}

/// Why a context stream ended early, kept for the build to report: the
/// engine only sees the stream break.
#[derive(Debug, Default, Clone)]
pub struct ContextFailure(Arc<std::sync::Mutex<Option<ContextError>>>);

impl ContextFailure {
    /// The reading error that ended the stream, if one did.
    pub fn take(&self) -> Option<ContextError> {
        self.0.lock().ok()?.take()
    }
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
            failure: ContextFailure::default(),
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

    /// The same context, to be sent once more: its rules, read once, with
    /// counters and a failure of its own.
    pub fn again(&self) -> Self {
        ContextArchive {
            progress: ContextProgress::default(),
            failure: ContextFailure::default(),
            ..self.clone()
        }
    }

    /// A handle on the counters of what has been sent.
    pub fn progress(&self) -> ContextProgress {
        self.progress.clone()
    }

    /// A handle on why [`ContextArchive::into_stream`]'s stream broke.
    pub fn failure(&self) -> ContextFailure {
        self.failure.clone()
    }

    /// Visits every entry that is sent, as a slash-separated relative path,
    /// in the order Docker walks them (lexical, parents first).
    pub fn walk(
        &self,
        visit: &mut dyn FnMut(&str, &Path, EntryKind) -> Result<(), ContextError>,
    ) -> Result<(), ContextError> {
        self.walk_dir(&self.root, "", None, visit)
    }

    fn walk_dir(
        &self,
        dir: &Path,
        rel: &str,
        parent: Option<&ParentMatches>,
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
            let meta = match std::fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                // Gone since the folder was listed: as if deleted a moment earlier.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(read_err(&path)(e)),
            };
            let kind = match entry_kind(&meta.file_type()) {
                Some(kind) => kind,
                // Sockets cannot be archived: the docker CLI leaves them out too.
                None => continue,
            };
            let (ignored, said) = self.rules.is_ignored_under(&rel_path, parent);
            if ignored {
                if kind == EntryKind::Dir
                    && self.rules.has_exclusions()
                    && self.rules.must_descend(&rel_path)
                {
                    self.walk_dir(&path, &rel_path, Some(&said), visit)?;
                }
                continue;
            }
            visit(&rel_path, &path, kind)?;
            if kind == EntryKind::Dir {
                self.walk_dir(&path, &rel_path, Some(&said), visit)?;
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
            // A file is sent as it was when opened: its size then, however
            // it grows; one that shrinks meanwhile fails the build. What is
            // gone since the walk saw it is left out.
            let opened = match kind {
                EntryKind::File => {
                    std::fs::File::open(path).and_then(|f| Ok((f.metadata()?, Some(f))))
                }
                _ => std::fs::symlink_metadata(path).map(|meta| (meta, None)),
            };
            let (meta, file) = match opened {
                Ok(opened) => opened,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(read_err(e)),
            };
            let mut header = tar::Header::new_gnu();
            header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
            // Like the docker CLI, everything in the context belongs to root.
            header.set_uid(0);
            header.set_gid(0);
            let _ = header.set_username("");
            let _ = header.set_groupname("");
            match (kind, file) {
                (_, Some(file)) => {
                    let before = meta.len();
                    let mut content = Snapshot {
                        file: io::Read::take(file, before),
                        left: before,
                        shrunk_to: None,
                    };
                    if let Err(e) = tar.append_data(&mut header, name, &mut content) {
                        let shrank = e.get_ref().is_some_and(|e| e.is::<Shrank>());
                        return Err(if shrank {
                            ContextError::Changed {
                                path: path.to_path_buf(),
                                before,
                                after: content
                                    .shrunk_to
                                    .filter(|&now| now < before)
                                    .unwrap_or(before - content.left),
                            }
                        } else {
                            ContextError::Write(e)
                        });
                    }
                    progress.bytes.fetch_add(before, Ordering::Relaxed);
                }
                (EntryKind::Dir, None) => {
                    let mut dir = name.as_os_str().to_owned();
                    dir.push("/");
                    tar.append_data(&mut header, dir, io::empty())
                        .map_err(ContextError::Write)?;
                }
                (EntryKind::Symlink, None) => {
                    let target = std::fs::read_link(path).map_err(read_err)?;
                    header.set_size(0);
                    tar.append_link(&mut header, name, target)
                        .map_err(ContextError::Write)?;
                }
                (EntryKind::File | EntryKind::Special, None) => {
                    header.set_size(0);
                    tar.append_data(&mut header, name, io::empty())
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
    /// error rather than a silently truncated archive, and is kept for
    /// [`ContextArchive::failure`].
    pub fn into_stream(self) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        let (reader, writer) = tokio::io::duplex(PIPE_BYTES);
        let failure = self.failure.clone();
        let writer_task = tokio::task::spawn_blocking(move || {
            self.write_tar(tokio_util::io::SyncIoBridge::new(writer))
        });
        let tail = futures_util::stream::once(async move {
            match writer_task.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => {
                    let message = e.to_string();
                    if !matches!(e, ContextError::Write(_))
                        && let Ok(mut kept) = failure.0.lock()
                    {
                        *kept = Some(e);
                    }
                    Some(Err(io::Error::other(message)))
                }
                Err(e) => Some(Err(io::Error::other(format!(
                    "context writer stopped: {e}"
                )))),
            }
        })
        .filter_map(futures_util::future::ready);
        tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024).chain(tail)
    }
}

/// A file's content up to the size it had when opened; ends with
/// [`Shrank`] if the file has fewer bytes by then.
struct Snapshot {
    file: io::Take<std::fs::File>,
    left: u64,
    /// The file's size on disk when it was found shorter (a /proc or /sys
    /// file keeps its stated size: then what could be read tells).
    shrunk_to: Option<u64>,
}

/// The marker error of a file that shrank while it was read.
#[derive(Debug, thiserror::Error)]
#[error("the file shrank while it was read")]
struct Shrank;

impl io::Read for Snapshot {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            self.shrunk_to = self.file.get_ref().metadata().ok().map(|m| m.len());
            return Err(io::Error::other(Shrank));
        }
        self.left -= n as u64;
        Ok(n)
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

    /// A context of three 4 MiB files, `a`, `c` and `d`, around a small
    /// `b`; each big file outlasts the pipe, so the writer is surely inside
    /// a file once the stream has passed that file's header.
    fn big_context() -> (tempfile::TempDir, ContextArchive) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch").unwrap();
        for (name, byte) in [("a", b'a'), ("c", b'c'), ("d", b'd')] {
            std::fs::write(dir.path().join(name), vec![byte; BIG]).unwrap();
        }
        std::fs::write(dir.path().join("b"), "small").unwrap();
        let archive = ContextArchive::new(dir.path(), "Dockerfile").unwrap();
        (dir, archive)
    }

    const BIG: usize = 4 << 20;

    /// Where the content of the `n`th big file starts once `b` is gone:
    /// after the Dockerfile (a header and a block) and the big files before.
    fn content_start(n: usize) -> usize {
        1024 + n * (512 + BIG) + 512
    }

    /// Reads the stream, calling `at` with the bytes read so far after each
    /// chunk; the bytes, and the error that ended it if one did.
    async fn read_while(
        archive: ContextArchive,
        mut at: impl FnMut(usize),
    ) -> (Vec<u8>, Option<io::Error>) {
        let mut stream = std::pin::pin!(archive.into_stream());
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(e) => return (bytes, Some(e)),
            }
            at(bytes.len());
        }
        (bytes, None)
    }

    #[tokio::test]
    async fn a_file_gone_is_left_out_and_one_growing_is_sent_as_opened() {
        let (dir, archive) = big_context();
        let root = dir.path().to_path_buf();
        let (bytes, error) = read_while(archive, |read| {
            if root.join("b").exists() {
                std::fs::remove_file(root.join("b")).unwrap();
            }
            if read > content_start(1)
                && std::fs::metadata(root.join("c")).unwrap().len() == BIG as u64
            {
                let mut c = std::fs::OpenOptions::new()
                    .append(true)
                    .open(root.join("c"))
                    .unwrap();
                c.write_all(b"grown").unwrap();
            }
        })
        .await;
        assert!(error.is_none(), "{error:?}");
        let mut tar = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            let mut content = Vec::new();
            io::Read::read_to_end(&mut entry, &mut content).unwrap();
            if name == "c" {
                assert!(content.len() == BIG && content.iter().all(|&b| b == b'c'));
            }
            seen.push(name);
        }
        assert_eq!(seen, ["Dockerfile", "a", "c", "d"]);
    }

    #[tokio::test]
    async fn a_file_that_shrinks_while_sent_fails_naming_it() {
        let (dir, archive) = big_context();
        let failure = archive.failure();
        let d = dir.path().join("d");
        let (_, error) = read_while(archive, |read| {
            if read > content_start(2) && std::fs::metadata(&d).unwrap().len() == BIG as u64 {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&d)
                    .unwrap()
                    .set_len(1000)
                    .unwrap();
            }
        })
        .await;
        assert!(error.is_some(), "the stream must not end as if complete");
        let Some(ContextError::Changed {
            path,
            before,
            after,
        }) = failure.take()
        else {
            panic!("expected a changed file");
        };
        assert_eq!((path, before, after), (d, BIG as u64, 1000));
    }
}
