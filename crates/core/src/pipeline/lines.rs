//! Splitting byte chunks from the engine into text lines, and pacing how
//! often they are read.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

/// Collects chunks and hands back whole lines; a line split across chunks is
/// joined. Carriage returns end a line too, so progress bars do not pile up.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    after_cr: bool,
}

/// Longest line kept whole; longer ones are cut so one runaway line cannot
/// eat memory.
const MAX_LINE: usize = 64 * 1024;

impl LineSplitter {
    /// Adds a chunk; returns the lines it completed.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(&first) = rest.first() {
            if std::mem::take(&mut self.after_cr) && first == b'\n' {
                rest = &rest[1..];
                continue;
            }
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.append(rest, &mut lines);
                break;
            };
            self.after_cr = rest[end] == b'\r';
            if self.pending.is_empty() && end <= MAX_LINE {
                // The whole line is in this chunk: no copy through `pending`.
                lines.push(String::from_utf8_lossy(&rest[..end]).into_owned());
            } else {
                self.append(&rest[..end], &mut lines);
                lines.push(self.take());
            }
            rest = &rest[end + 1..];
        }
        lines
    }

    /// Adds bytes of an unfinished line, cutting it at [`MAX_LINE`].
    fn append(&mut self, mut bytes: &[u8], lines: &mut Vec<String>) {
        while self.pending.len() + bytes.len() > MAX_LINE {
            let room = MAX_LINE - self.pending.len();
            self.pending.extend_from_slice(&bytes[..room]);
            lines.push(self.take());
            bytes = &bytes[room..];
        }
        self.pending.extend_from_slice(bytes);
    }

    /// The unfinished last line, if any.
    pub(crate) fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let line = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        line
    }
}

/// The last lines of an output, for error summaries.
#[derive(Debug)]
pub(crate) struct Tail {
    lines: std::collections::VecDeque<String>,
    keep: usize,
}

impl Tail {
    pub(crate) fn new(keep: usize) -> Self {
        Tail {
            lines: std::collections::VecDeque::with_capacity(keep),
            keep,
        }
    }

    pub(crate) fn push(&mut self, line: &str) {
        if self.keep == 0 {
            return;
        }
        // A full tail reuses its oldest line's buffer.
        let mut kept = if self.lines.len() == self.keep {
            self.lines.pop_front().unwrap_or_default()
        } else {
            String::new()
        };
        kept.clear();
        kept.push_str(line);
        self.lines.push_back(kept);
    }

    pub(crate) fn clear(&mut self) {
        self.lines.clear();
    }

    pub(crate) fn joined(&self) -> String {
        self.lines
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Least time between two reads of a container's output.
///
/// A command that floods its output keeps the engine relaying it in small
/// pieces, each waking the engine, its shim and Slipway, which takes the CPU
/// from the window showing the log. Spaced reads take what gathered
/// meanwhile in one piece; output that comes less often is not delayed.
pub(crate) const READ_EVERY: Duration = Duration::from_millis(2);

/// Spaces reads of a stream at least [`READ_EVERY`] apart.
#[derive(Debug)]
pub(crate) struct ReadPace {
    every: Duration,
    last: Option<Instant>,
}

impl ReadPace {
    pub(crate) fn new(every: Duration) -> Self {
        ReadPace { every, last: None }
    }

    /// Call before each read: waits until `every` has passed since the
    /// previous one, if it has not.
    pub(crate) async fn wait(&mut self) {
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + self.every).await;
        }
        self.last = Some(Instant::now());
    }

    /// The stream's next item, read no sooner than the pace allows.
    pub(crate) async fn next<S: Stream + Unpin>(&mut self, stream: &mut S) -> Option<S::Item> {
        self.wait().await;
        stream.next().await
    }
}

impl Default for ReadPace {
    fn default() -> Self {
        ReadPace::new(READ_EVERY)
    }
}

/// The next line of a child's output; never, once that output ended (so a
/// `select!` over stdout and stderr waits on the other).
pub(crate) async fn next_line<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut Option<tokio::io::Lines<R>>,
) -> Option<String> {
    match lines {
        Some(l) => l.next_line().await.ok().flatten(),
        None => std::future::pending().await,
    }
}

/// Why reading an exec's output stopped early.
#[derive(Debug)]
pub(crate) enum OutputEnd {
    /// Nothing came for the quiet limit.
    Quiet,
    /// The engine failed.
    Engine(bollard::errors::Error),
}

/// Reads an exec's output to its end: each chunk's whole lines go to `sink`
/// with their stream (and into `tail`), the unfinished last lines at the
/// end. With `quiet`, nothing for that long stops it.
pub(crate) async fn read_output<S, F, Fut>(
    output: &mut S,
    quiet: Option<Duration>,
    tail: &mut Tail,
    mut sink: F,
) -> Result<(), OutputEnd>
where
    S: Stream<Item = Result<bollard::container::LogOutput, bollard::errors::Error>> + Unpin,
    F: FnMut(crate::event::LogStream, Vec<String>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use crate::event::LogStream;
    let mut out = LineSplitter::default();
    let mut err = LineSplitter::default();
    let mut pace = ReadPace::default();
    loop {
        let next = match quiet {
            Some(limit) => tokio::time::timeout(limit, pace.next(output))
                .await
                .map_err(|_| OutputEnd::Quiet)?,
            None => pace.next(output).await,
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(OutputEnd::Engine)?;
        let (lines, stream) = match &chunk {
            bollard::container::LogOutput::StdErr { message } => {
                (err.push(message), LogStream::Stderr)
            }
            other => (out.push(other.as_ref()), LogStream::Stdout),
        };
        for line in &lines {
            tail.push(line);
        }
        if !lines.is_empty() {
            sink(stream, lines).await;
        }
    }
    for (rest, stream) in [
        (out.finish(), LogStream::Stdout),
        (err.finish(), LogStream::Stderr),
    ] {
        if let Some(line) = rest {
            tail.push(&line);
            sink(stream, vec![line]).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn reads_are_spaced_only_when_they_come_faster_than_the_pace() {
        let every = Duration::from_millis(2);
        let mut pace = ReadPace::new(every);
        let start = Instant::now();
        // The first read does not wait.
        pace.wait().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        // A flood: each read waits out the rest of the interval (to the
        // timer's resolution of a millisecond).
        let tick = Duration::from_millis(1);
        pace.wait().await;
        assert!((every..every + tick).contains(&start.elapsed()));
        let second = Instant::now();
        tokio::time::advance(Duration::from_micros(500)).await;
        pace.wait().await;
        assert!(
            (every..every + tick).contains(&second.elapsed()),
            "{:?}",
            second.elapsed()
        );
        // Output that comes slower than the pace is read at once.
        tokio::time::advance(Duration::from_millis(10)).await;
        let before = Instant::now();
        pace.wait().await;
        assert_eq!(before.elapsed(), Duration::ZERO);
    }

    #[test]
    fn joins_lines_across_chunks() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"he"), Vec::<String>::new());
        assert_eq!(s.push(b"llo\nwor"), vec!["hello"]);
        assert_eq!(s.push(b"ld\r\n\nx"), vec!["world", ""]);
        assert_eq!(s.finish(), Some("x".into()));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn cuts_runaway_lines_and_ends_lines_at_carriage_returns() {
        let mut s = LineSplitter::default();
        let long = vec![b'a'; MAX_LINE * 2 + 5];
        assert_eq!(s.push(&long[..10]), Vec::<String>::new());
        let cut = s.push(&long[10..]);
        assert_eq!(cut.len(), 2);
        assert!(cut.iter().all(|l| l.len() == MAX_LINE));
        assert_eq!(
            s.push(b"\rbar 10%\rbar 100%\r"),
            vec!["aaaaa", "bar 10%", "bar 100%"]
        );
        // A CR LF split across chunks is one line break.
        assert_eq!(s.push(b"\nnext\r"), vec!["next"]);
        assert_eq!(s.push(b"\n"), Vec::<String>::new());
        assert_eq!(s.push(&long[..MAX_LINE]), Vec::<String>::new());
        assert_eq!(
            s.push(b"\n").iter().map(String::len).collect::<Vec<_>>(),
            vec![MAX_LINE]
        );
        assert_eq!(s.push(b"caf\xc3"), Vec::<String>::new());
        assert_eq!(s.push(b"\xa9\n\xff\n"), vec!["café", "\u{fffd}"]);
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut t = Tail::new(2);
        for l in ["a", "b", "c"] {
            t.push(l);
        }
        assert_eq!(t.joined(), "b\nc");
    }
}
