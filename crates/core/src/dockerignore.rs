//! `.dockerignore` rules, matched exactly as the Docker CLI matches them.
//!
//! The semantics follow moby's `patternmatcher` and `ignorefile` packages:
//! lines starting with `#` are comments, surrounding spaces are trimmed,
//! patterns are cleaned like Go's `filepath.Clean` and lose a leading `/`,
//! `*` and `?` stop at `/`, `**` spans folders, `!` re-includes, the last
//! matching rule wins, and a rule that matches a folder matches everything
//! below it. Only `.` and `$` are escaped when a pattern becomes a regular
//! expression, as Docker does, so `+`, `(` and friends keep their regex
//! meaning there too.

use regex::Regex;

/// A `.dockerignore` line that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(".dockerignore:{line}: invalid pattern {pattern:?}: {reason}")]
pub struct PatternError {
    /// 1-based line in `.dockerignore`.
    pub line: usize,
    /// The pattern as written.
    pub pattern: String,
    /// Why it cannot be used.
    pub reason: String,
}

/// One rule of a `.dockerignore`.
#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    regex: Regex,
}

impl Pattern {
    /// The cleaned pattern, without its leading `!`.
    pub fn text(&self) -> &str {
        &self.cleaned
    }

    /// Whether this is a `!` rule that re-includes paths.
    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    fn matches(&self, path: &str) -> bool {
        self.regex.is_match(path)
    }

    /// Whether it matches one of the folders holding `path`.
    fn matches_a_parent(&self, path: &str) -> bool {
        let Some(end) = path.rfind('/') else {
            return false;
        };
        let mut prefix = String::new();
        path[..end].split('/').any(|dir| {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(dir);
            self.matches(&prefix)
        })
    }
}

/// What each rule said of a folder, handed to the entries inside it.
#[derive(Debug, Clone, Default)]
pub struct ParentMatches(Vec<bool>);

/// The rules of a `.dockerignore`, in order.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

impl IgnoreRules {
    /// Parses the contents of a `.dockerignore`.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let mut rules = IgnoreRules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, raw) in text.split('\n').enumerate() {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.starts_with('#') {
                continue;
            }
            let mut pattern = raw.trim();
            if pattern.is_empty() {
                continue;
            }
            let exclusion = pattern.starts_with('!');
            if exclusion {
                pattern = pattern[1..].trim();
                if pattern.is_empty() {
                    return Err(PatternError {
                        line: index + 1,
                        pattern: raw.to_string(),
                        reason: "illegal exclusion pattern: a `!` needs a pattern after it".into(),
                    });
                }
            }
            let mut cleaned = if pattern.is_empty() {
                String::new()
            } else {
                clean(pattern)
            };
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            rules
                .push(&cleaned, exclusion)
                .map_err(|reason| PatternError {
                    line: index + 1,
                    pattern: raw.to_string(),
                    reason,
                })?;
        }
        Ok(rules)
    }

    /// Adds a rule at the end (it wins over the ones before it).
    fn push(&mut self, cleaned: &str, exclusion: bool) -> Result<(), String> {
        // Docker's words, not the regular expression the pattern became.
        let regex = Regex::new(&to_regex(cleaned)).map_err(|_| {
            "syntax error in pattern (an unclosed `[` or a stray `\\`?)".to_string()
        })?;
        self.patterns.push(Pattern {
            cleaned: cleaned.to_string(),
            exclusion,
            regex,
        });
        Ok(())
    }

    /// The rules, in order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether any rule is a `!` exception.
    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// Keeps `path` (slash-separated, relative to the context) in the context
    /// whatever the rules say, as Docker does for the Dockerfile and the
    /// `.dockerignore` itself.
    pub fn always_send(&mut self, path: &str) {
        if self.is_ignored(path) {
            let cleaned = clean(path);
            // A path that is not a valid regex once converted cannot have
            // matched in the first place, so the push cannot fail here.
            if self.push(&cleaned, true).is_err() {
                tracing::warn!(path, "could not force-include path");
            }
        }
    }

    /// Whether `path` (slash-separated, relative to the context) is left out
    /// of the context: the last rule matching it or one of its parent
    /// folders decides.
    pub fn is_ignored(&self, path: &str) -> bool {
        self.is_ignored_under(path, None).0
    }

    /// [`IgnoreRules::is_ignored`] as Docker's context walk decides it: what
    /// each rule said of the parent folder is handed down instead of the
    /// parents being matched again, and a rule is not tried when it could
    /// not change the answer (an exception while nothing is ignored, a plain
    /// rule while something is), so it does not count as matching for what
    /// is inside either. Returns the answer and what to hand to children.
    pub fn is_ignored_under(
        &self,
        path: &str,
        parent: Option<&ParentMatches>,
    ) -> (bool, ParentMatches) {
        let mut ignored = false;
        let mut said = vec![false; self.patterns.len()];
        for (i, pattern) in self.patterns.iter().enumerate() {
            let mut hit = parent.is_some_and(|p| p.0.get(i).copied().unwrap_or(false));
            if !hit {
                if pattern.exclusion != ignored {
                    continue;
                }
                hit = pattern.matches(path) || (parent.is_none() && pattern.matches_a_parent(path));
            }
            said[i] = hit;
            if hit {
                ignored = !pattern.exclusion;
            }
        }
        (ignored, ParentMatches(said))
    }

    /// Whether an ignored folder must still be walked because an exception
    /// names something inside it (Docker's test: the exception's text starts
    /// with the folder's path).
    pub fn must_descend(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.patterns
            .iter()
            .filter(|p| p.exclusion)
            .any(|p| format!("{}/", p.cleaned).starts_with(&dir_slash))
    }
}

/// Go's `filepath.Clean` for slash-separated paths.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Converts a cleaned pattern to an anchored regular expression.
fn to_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i >= chars.len() {
                    out.push_str(".*");
                } else {
                    out.push_str("(.*/)?");
                }
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                out.push('\\');
                out.push(ch);
            }
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.get(i) {
                    out.push(*next);
                    i += 1;
                }
            }
            other => out.push(other),
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(text).unwrap()
    }

    #[test]
    fn a_rule_not_tried_on_a_folder_does_not_reach_inside_it() {
        // `*` is not tried on `src` (already ignored by `src`), so for
        // `src/main.py` it only counts if it matches the file itself.
        let r = rules("src\n!src/main.py\n*\n");
        let (ignored, said) = r.is_ignored_under("src", None);
        assert!(ignored);
        assert!(!r.is_ignored_under("src/main.py", Some(&said)).0);
        // Tried and matching on the folder, it does reach inside.
        let r = rules("!src/main.py\n*\n");
        let (ignored, said) = r.is_ignored_under("src", None);
        assert!(ignored);
        assert!(r.is_ignored_under("src/main.py", Some(&said)).0);
    }

    #[test]
    fn bad_lines_are_named_in_dockers_words() {
        let lone = IgnoreRules::parse("*.log\n!\n").unwrap_err();
        assert_eq!(lone.line, 2);
        assert!(
            lone.reason.contains("illegal exclusion pattern"),
            "{}",
            lone.reason
        );
        let unclosed = IgnoreRules::parse("a\nb\n[abc\n").unwrap_err();
        assert_eq!(unclosed.line, 3);
        assert!(
            unclosed.reason.starts_with("syntax error in pattern"),
            "{}",
            unclosed.reason
        );
        assert!(!unclosed.to_string().contains('^'), "{unclosed}");
    }

    #[test]
    fn cleans_like_go() {
        assert_eq!(clean("a//b/./c/.."), "a/b");
        assert_eq!(clean("./"), ".");
        assert_eq!(clean("/a/../.."), "/");
        assert_eq!(clean("../x"), "../x");
    }

    #[test]
    fn stars_and_double_stars() {
        let r = rules("*.log\n**/*.tmp\ndocs/**\n");
        assert!(r.is_ignored("a.log"));
        assert!(!r.is_ignored("dir/a.log"));
        assert!(r.is_ignored("x/y/z.tmp"));
        assert!(r.is_ignored("z.tmp"));
        assert!(r.is_ignored("docs/a/b"));
        assert!(!r.is_ignored("docs"));
    }

    #[test]
    fn parents_and_exceptions() {
        let r = rules("# comment\n  build  \n!build/keep.txt\n/secret\n");
        assert!(r.is_ignored("build/x"));
        assert!(!r.is_ignored("build/keep.txt"));
        assert!(r.is_ignored("secret"));
        assert!(r.is_ignored("secret/a/b"));
        assert!(r.must_descend("build"));
        assert!(!r.must_descend("secret"));
    }

    #[test]
    fn last_rule_wins() {
        let r = rules("*.md\n!README.md\nREADME.md\n");
        assert!(r.is_ignored("README.md"));
        let r = rules("*\n!src\n");
        assert!(!r.is_ignored("src/main.rs"));
        assert!(r.is_ignored("Cargo.toml"));
    }

    #[test]
    fn escapes_and_classes() {
        let r = rules("file[0-9].txt\n\\#hash\nq?.c\n");
        assert!(r.is_ignored("file3.txt"));
        assert!(!r.is_ignored("fileX.txt"));
        assert!(r.is_ignored("#hash"));
        assert!(r.is_ignored("qa.c"));
        assert!(!r.is_ignored("q/.c"));
    }

    #[test]
    fn always_send_overrides() {
        let mut r = rules("*\n");
        r.always_send("Dockerfile");
        r.always_send(".dockerignore");
        assert!(!r.is_ignored("Dockerfile"));
        assert!(!r.is_ignored(".dockerignore"));
        assert!(r.is_ignored("other"));
    }

    #[test]
    fn bad_pattern_names_its_line() {
        let e = IgnoreRules::parse("ok\nbad[\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("bad["));
    }
}
