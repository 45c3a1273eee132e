//! The newest lines of a run's log, for a viewer that shows a window of them.
//!
//! A front end keeps one per run while it is shown and reads only the rows
//! it draws: a run that writes a million lines costs a viewer a few dozen
//! rows a frame, not the million. The full log is in history.
//!
//! Lines are stored the way they arrive, in pieces of up to 64 KiB of text
//! with the offsets where each line starts, so holding 100,000 lines is a
//! few dozen allocations, and lines past the capacity are dropped a piece at
//! a time.

use std::collections::VecDeque;

use serde::Serialize;

use crate::event::LogStream;

/// Text held in one piece before another is started.
const PIECE_BYTES: usize = 64 * 1024;

/// One line, numbered from the start of the run.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRow {
    /// Its position since the start of the run (0 is the first line).
    pub seq: u64,
    /// The step it belongs to.
    pub step: usize,
    /// Where it came from.
    pub stream: LogStream,
    /// The line, without its newline.
    pub text: String,
}

/// About what a row's fields other than its text take once serialised
/// (`{"seq":…,"step":…,"stream":"stdout","text":""}`).
const ROW_OVERHEAD: usize = 56;

/// Consecutive lines of one step and stream.
#[derive(Debug)]
struct Piece {
    step: usize,
    stream: LogStream,
    text: String,
    /// Where each line starts in `text`.
    starts: Vec<u32>,
    /// `seq` of its first line.
    first: u64,
}

impl Piece {
    fn end(&self) -> u64 {
        self.first + self.starts.len() as u64
    }

    fn line(&self, n: usize) -> &str {
        let start = self.starts[n] as usize;
        let end = match self.starts.get(n + 1) {
            Some(next) => *next as usize - 1,
            None => self.text.len(),
        };
        &self.text[start..end]
    }
}

/// The newest `capacity` lines of a log.
#[derive(Debug)]
pub struct LiveLog {
    capacity: u64,
    pieces: VecDeque<Piece>,
    /// `seq` of the oldest line held.
    first: u64,
    /// Lines ever pushed.
    total: u64,
}

impl LiveLog {
    /// An empty log that keeps the newest `capacity` lines (at least one).
    pub fn new(capacity: usize) -> Self {
        LiveLog {
            capacity: capacity.max(1) as u64,
            pieces: VecDeque::new(),
            first: 0,
            total: 0,
        }
    }

    /// Lines ever pushed.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// `seq` of the oldest line held: how many lines were dropped.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// Adds a line (it holds no newline).
    pub fn push(&mut self, step: usize, stream: LogStream, line: &str) {
        let fits = |p: &Piece| {
            p.step == step && p.stream == stream && p.text.len() + 1 + line.len() <= PIECE_BYTES
        };
        match self.pieces.back_mut() {
            Some(piece) if fits(piece) => {
                piece.text.push('\n');
                piece.starts.push(piece.text.len() as u32);
                piece.text.push_str(line);
            }
            _ => self.pieces.push_back(Piece {
                step,
                stream,
                text: line.to_owned(),
                starts: vec![0],
                first: self.total,
            }),
        }
        self.total += 1;
        if self.total - self.first > self.capacity {
            self.first = self.total - self.capacity;
            while self.pieces.front().is_some_and(|p| p.end() <= self.first) {
                self.pieces.pop_front();
            }
        }
    }

    /// Index of the piece holding line `seq`, if held.
    fn piece_of(&self, seq: u64) -> Option<usize> {
        if seq < self.first || seq >= self.total {
            return None;
        }
        let i = self.pieces.partition_point(|p| p.end() <= seq);
        (i < self.pieces.len()).then_some(i)
    }

    /// Up to `count` held lines from line `from` on (lines before the
    /// oldest held start at the oldest).
    pub fn rows(&self, from: u64, count: usize) -> Vec<LogRow> {
        let mut out = Vec::new();
        let mut seq = from.max(self.first);
        let end = seq.saturating_add(count as u64).min(self.total);
        let Some(mut i) = self.piece_of(seq) else {
            return out;
        };
        out.reserve((end - seq) as usize);
        while seq < end {
            let piece = &self.pieces[i];
            let upto = end.min(piece.end());
            for s in seq..upto {
                out.push(LogRow {
                    seq: s,
                    step: piece.step,
                    stream: piece.stream,
                    text: piece.line((s - piece.first) as usize).to_owned(),
                });
            }
            seq = upto;
            i += 1;
        }
        out
    }

    /// The newest `count` held lines of step `step` (a service's output),
    /// oldest first.
    pub fn step_tail(&self, step: usize, count: usize) -> Vec<LogRow> {
        let mut out = Vec::new();
        for piece in self.pieces.iter().rev().filter(|p| p.step == step) {
            let skip = self.first.saturating_sub(piece.first) as usize;
            for n in (skip..piece.starts.len()).rev() {
                if out.len() == count {
                    out.reverse();
                    return out;
                }
                out.push(LogRow {
                    seq: piece.first + n as u64,
                    step,
                    stream: piece.stream,
                    text: piece.line(n).to_owned(),
                });
            }
        }
        out.reverse();
        out
    }

    /// The newest `count` lines.
    pub fn tail(&self, count: usize) -> Vec<LogRow> {
        self.rows(self.total.saturating_sub(count as u64), count)
    }

    /// The newest lines, at most `count`, and only as many as fit in about
    /// `bytes` once sent (a line's text plus `ROW_OVERHEAD` for its fields).
    pub fn tail_within(&self, count: usize, bytes: usize) -> Vec<LogRow> {
        let mut rows = self.tail(count);
        let mut size = 0;
        let keep = rows
            .iter()
            .rev()
            .take_while(|row| {
                size += row.text.len() + ROW_OVERHEAD;
                size <= bytes
            })
            .count();
        rows.drain(..rows.len() - keep);
        rows
    }

    /// `seq` of the held lines that contain `needle`, ignoring case and
    /// terminal escape codes; at most `limit` of them, oldest first.
    pub fn search(&self, needle: &str, limit: usize) -> Vec<u64> {
        let needle = needle.to_lowercase();
        let mut hits = Vec::new();
        if needle.is_empty() {
            return hits;
        }
        for piece in &self.pieces {
            // Most pieces cannot match at all: one test on the whole text.
            if !piece.text.contains('\x1b') && !piece.text.to_lowercase().contains(&needle) {
                continue;
            }
            let skip = self.first.saturating_sub(piece.first) as usize;
            for n in skip..piece.starts.len() {
                let line = piece.line(n);
                let matched = if line.contains('\x1b') {
                    strip_escapes(line).to_lowercase().contains(&needle)
                } else {
                    line.to_lowercase().contains(&needle)
                };
                if matched {
                    hits.push(piece.first + n as u64);
                    if hits.len() >= limit {
                        return hits;
                    }
                }
            }
        }
        hits
    }
}

/// A line without its terminal escape sequences (colours, cursor moves,
/// titles), as a viewer shows its text.
pub fn strip_escapes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters, then one final letter.
            Some('[') => {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' {
                        break;
                    }
                    if c == '\x1b' {
                        if chars.peek() == Some(&'\\') {
                            chars.next();
                        }
                        break;
                    }
                }
            }
            // Character set selection: one more character.
            Some('(') | Some(')') => {
                chars.next();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_steps_newest_lines_come_in_order_past_what_was_dropped() {
        let mut log = LiveLog::new(6);
        for n in 0..5 {
            log.push(1, LogStream::Container, &format!("db {n}"));
            log.push(2, LogStream::Stdout, &format!("test {n}"));
        }
        // Six lines held: db 2..4 and test 2..4.
        let db: Vec<String> = log.step_tail(1, 10).into_iter().map(|r| r.text).collect();
        assert_eq!(db, ["db 2", "db 3", "db 4"]);
        let newest = log.step_tail(2, 2);
        assert_eq!(
            newest
                .iter()
                .map(|r| (r.seq, r.text.as_str()))
                .collect::<Vec<_>>(),
            [(7, "test 3"), (9, "test 4")]
        );
        assert!(log.step_tail(3, 5).is_empty());
    }

    fn texts(rows: &[LogRow]) -> Vec<String> {
        rows.iter().map(|r| r.text.clone()).collect()
    }

    /// A live log of `capacity` lines holding `lines` (step, stream, text).
    fn log_of(capacity: usize, lines: &[(usize, LogStream, &str)]) -> LiveLog {
        let mut log = LiveLog::new(capacity);
        for &(step, stream, text) in lines {
            log.push(step, stream, text);
        }
        log
    }

    #[test]
    fn a_tail_within_a_size_keeps_the_newest_lines_that_fit() {
        let mut log = LiveLog::new(100);
        for n in 0..10 {
            log.push(1, LogStream::Stdout, &format!("{n:0>10}"));
        }
        assert_eq!(log.tail_within(4, 10_000).len(), 4);
        let row = 10 + ROW_OVERHEAD;
        let three = log.tail_within(8, 3 * row + row / 2);
        assert_eq!(texts(&three), ["0000000007", "0000000008", "0000000009"]);
        assert!(log.tail_within(8, row - 1).is_empty());
        assert!(LiveLog::new(5).tail_within(8, 10_000).is_empty());
    }

    #[test]
    fn keeps_the_newest_lines_and_counts_the_dropped() {
        let mut log = LiveLog::new(5);
        for n in 0..12 {
            log.push(1, LogStream::Stdout, &format!("line {n}"));
        }
        assert_eq!(log.total(), 12);
        assert_eq!(log.first(), 7);
        assert_eq!(texts(&log.tail(3)), ["line 9", "line 10", "line 11"]);
        let all = log.rows(0, 100);
        assert_eq!(all.first().map(|r| r.seq), Some(7));
        assert_eq!(all.len(), 5);
        assert!(log.rows(12, 10).is_empty());
        assert_eq!(texts(&log.rows(8, 2)), ["line 8", "line 9"]);
    }

    #[test]
    fn lines_keep_their_step_and_stream_across_pieces() {
        let log = log_of(
            100,
            &[
                (0, LogStream::Build, "#1 building"),
                (2, LogStream::Stdout, ""),
                (2, LogStream::Stdout, "out"),
                (2, LogStream::Stderr, "err"),
                (3, LogStream::Stderr, "next step"),
            ],
        );
        let rows = log.rows(0, 10);
        let shape: Vec<_> = rows
            .iter()
            .map(|r| (r.seq, r.step, r.stream, r.text.as_str()))
            .collect();
        assert_eq!(
            shape,
            [
                (0, 0, LogStream::Build, "#1 building"),
                (1, 2, LogStream::Stdout, ""),
                (2, 2, LogStream::Stdout, "out"),
                (3, 2, LogStream::Stderr, "err"),
                (4, 3, LogStream::Stderr, "next step"),
            ]
        );
    }

    #[test]
    fn memory_is_bounded_by_whole_pieces() {
        let mut log = LiveLog::new(1_000);
        let line = "x".repeat(99);
        for _ in 0..200_000 {
            log.push(1, LogStream::Stdout, &line);
        }
        assert_eq!(log.total() - log.first(), 1_000);
        // 1,000 lines of 100 bytes, plus at most one piece beyond them.
        let held: usize = log.pieces.iter().map(|p| p.text.len()).sum();
        assert!(held <= 100_000 + PIECE_BYTES, "{held} bytes held");
        assert_eq!(log.tail(1)[0].seq, 199_999);
        assert_eq!(log.rows(0, 1)[0].seq, 199_000);
    }

    #[test]
    fn search_ignores_case_and_escape_codes_and_skips_dropped_lines() {
        let log = log_of(
            4,
            &[
                (1, LogStream::Stdout, "Ready at start"),
                (1, LogStream::Stdout, "one"),
                (1, LogStream::Stdout, "\x1b[32mREA\x1b[0mDY after 3 ms"),
                (1, LogStream::Stderr, "not ready"),
                (1, LogStream::Stdout, "\x1b]0;title ready\x07plain"),
            ],
        );
        assert_eq!(log.search("ready", 10), [2, 3]);
        assert_eq!(log.search("ready", 1), [2]);
        assert_eq!(log.search("title", 10), Vec::<u64>::new());
        assert_eq!(log.search("", 10), Vec::<u64>::new());
    }

    #[test]
    fn escapes_are_stripped_like_the_viewer_does() {
        assert_eq!(strip_escapes("\x1b[1;31mred\x1b[0m text"), "red text");
        assert_eq!(
            strip_escapes("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"),
            "alinkb"
        );
        assert_eq!(strip_escapes("\x1b(Bbox"), "box");
        assert_eq!(strip_escapes("naïve ✓"), "naïve ✓");
    }
}
