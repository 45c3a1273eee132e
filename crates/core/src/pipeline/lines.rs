//! Splitting byte chunks from the engine into text lines.

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
        for &byte in chunk {
            let after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
            match byte {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => lines.push(self.take()),
                _ if self.pending.len() >= MAX_LINE => {
                    lines.push(self.take());
                    self.pending.push(byte);
                }
                _ => self.pending.push(byte),
            }
        }
        lines
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
        if self.lines.len() == self.keep {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn tail_keeps_the_last_lines() {
        let mut t = Tail::new(2);
        for l in ["a", "b", "c"] {
            t.push(l);
        }
        assert_eq!(t.joined(), "b\nc");
    }
}
