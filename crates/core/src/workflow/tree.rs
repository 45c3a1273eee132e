//! A CircleCI config as a plain tree with line numbers: what 2.1's
//! expansion (parameters, commands, executors, matrix) rewrites before
//! the jobs are read.

use std::path::Path;

use marked_yaml::Node;

use crate::config::{ConfigError, Location};

/// A YAML value and the line it starts on. Scalars stay text, as CircleCI
/// compares them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Y {
    Str(String, usize),
    Seq(Vec<Y>, usize),
    Map(Vec<(String, Y)>, usize),
}

impl Y {
    pub(crate) fn from_node(node: &Node) -> Y {
        let line = node.span().start().map_or(1, |m| m.line());
        match node {
            Node::Scalar(s) => Y::Str(s.as_str().to_string(), line),
            Node::Sequence(seq) => Y::Seq(seq.iter().map(Y::from_node).collect(), line),
            Node::Mapping(map) => Y::Map(
                map.iter()
                    .map(|(k, v)| (k.as_str().to_string(), Y::from_node(v)))
                    .collect(),
                line,
            ),
        }
    }

    pub(crate) fn line(&self) -> usize {
        match self {
            Y::Str(_, l) | Y::Seq(_, l) | Y::Map(_, l) => *l,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Y> {
        match self {
            Y::Map(entries, _) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Y::Str(s, _) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn entries(&self) -> &[(String, Y)] {
        match self {
            Y::Map(entries, _) => entries,
            _ => &[],
        }
    }

    /// A sequence's items; a single value counts as one.
    pub(crate) fn items(&self) -> Vec<&Y> {
        match self {
            Y::Seq(items, _) => items.iter().collect(),
            other => vec![other],
        }
    }

    /// The value as CircleCI prints it into a string.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Y::Str(s, _) => s.clone(),
            Y::Seq(items, _) => items.iter().map(Y::to_text).collect::<Vec<_>>().join(" "),
            Y::Map(entries, _) => entries
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_text()))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// CircleCI's truth: false, null, 0, NaN and the empty string are false.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Y::Str(s, _) => !matches!(
                s.trim(),
                "" | "false" | "False" | "null" | "~" | "0" | "NaN"
            ),
            Y::Seq(items, _) => !items.is_empty(),
            Y::Map(entries, _) => !entries.is_empty(),
        }
    }
}

/// Where in the config file a mistake is.
#[derive(Debug, Clone)]
pub(crate) struct Spot<'a> {
    pub(crate) file: &'a Path,
}

impl Spot<'_> {
    pub(crate) fn error(&self, line: usize, message: impl Into<String>) -> ConfigError {
        ConfigError {
            location: Some(Location {
                path: self.file.to_path_buf(),
                line,
                column: 1,
            }),
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn text<'y>(&self, y: &'y Y, what: &str) -> Result<&'y str, ConfigError> {
        y.as_str()
            .ok_or_else(|| self.error(y.line(), format!("{what} should be a single value")))
    }

    pub(crate) fn map<'y>(&self, y: &'y Y, what: &str) -> Result<&'y [(String, Y)], ConfigError> {
        match y {
            Y::Map(entries, _) => Ok(entries),
            other => Err(self.error(other.line(), format!("{what} should be a mapping of keys"))),
        }
    }

    pub(crate) fn known(&self, y: &Y, what: &str, known: &[&str]) -> Result<(), ConfigError> {
        for (key, value) in y.entries() {
            if !known.contains(&key.as_str()) {
                return Err(self
                    .error(value.line(), format!("unknown key `{key}` in {what}"))
                    .with_hint(format!("Expected one of: {}.", known.join(", "))));
            }
        }
        Ok(())
    }

    /// An `environment`: a mapping, or a list of `KEY=value`.
    pub(crate) fn env(&self, y: &Y) -> Result<Vec<(String, String)>, ConfigError> {
        match y {
            Y::Map(entries, _) => Ok(entries
                .iter()
                .map(|(k, v)| (k.clone(), v.to_text()))
                .collect()),
            Y::Seq(items, _) => items
                .iter()
                .map(|item| {
                    let t = self.text(item, "an environment entry")?;
                    t.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or_else(|| self.error(item.line(), format!("{t:?} is not KEY=value")))
                })
                .collect(),
            Y::Str(_, line) => {
                Err(self.error(*line, "environment should be a mapping of NAME: value"))
            }
        }
    }
}

/// A `<< name >>` reference in a string.
pub(crate) fn references(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(open) = text[at..].find("<<") {
        let open = at + open;
        let Some(close) = text[open + 2..].find(">>") else {
            break;
        };
        let close = open + 2 + close;
        let name = text[open + 2..close].trim();
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || "._-".contains(c))
        {
            found.push((open..close + 2, name.to_string()));
        }
        at = close + 2;
    }
    found
}

/// Replaces each `<< name >>` in `y` that `lookup` knows. A string that is
/// one whole reference takes the value itself (a list of steps splices
/// into the list it is in); references `lookup` does not know are left for
/// a later pass, unless they are in `scope` (`parameters.`), which is an
/// error naming the reference.
pub(crate) fn substitute(
    spot: &Spot,
    y: &Y,
    scope: &str,
    lookup: &dyn Fn(&str) -> Option<Y>,
) -> Result<Y, ConfigError> {
    Ok(match y {
        Y::Str(s, line) => {
            let refs = references(s);
            if refs.is_empty() {
                return Ok(y.clone());
            }
            if refs.len() == 1 && refs[0].0 == (0..s.len()) {
                let name = &refs[0].1;
                return match lookup(name) {
                    Some(Y::Str(v, _)) => Ok(Y::Str(v, *line)),
                    Some(other) => Ok(other),
                    None if name.starts_with(scope) => {
                        Err(spot.error(*line, format!("`<< {name} >>` names no parameter here")))
                    }
                    None => Ok(y.clone()),
                };
            }
            let mut out = String::new();
            let mut last = 0;
            for (range, name) in refs {
                out.push_str(&s[last..range.start]);
                match lookup(&name) {
                    Some(v) => out.push_str(&v.to_text()),
                    None if name.starts_with(scope) => {
                        return Err(
                            spot.error(*line, format!("`<< {name} >>` names no parameter here"))
                        );
                    }
                    None => out.push_str(&s[range.clone()]),
                }
                last = range.end;
            }
            out.push_str(&s[last..]);
            Y::Str(out, *line)
        }
        Y::Seq(items, line) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let was_reference = matches!(item, Y::Str(s, _) if references(s).len() == 1
                    && references(s)[0].0 == (0..s.len()));
                match substitute(spot, item, scope, lookup)? {
                    Y::Seq(spliced, _) if was_reference => out.extend(spliced),
                    other => out.push(other),
                }
            }
            Y::Seq(out, *line)
        }
        Y::Map(entries, line) => Y::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), substitute(spot, v, scope, lookup)?)))
                .collect::<Result<_, ConfigError>>()?,
            *line,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Y {
        Y::from_node(&marked_yaml::parse_yaml(0, text).unwrap())
    }

    #[test]
    fn references_are_found_with_their_ranges() {
        let refs = references("a << parameters.x >> b <<pipeline.git.branch>> <<not a ref>>");
        let names: Vec<&str> = refs.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["parameters.x", "pipeline.git.branch"]);
    }

    #[test]
    fn a_whole_reference_takes_the_value_and_steps_splice() {
        let y = parse(
            "steps:\n  - checkout\n  - << parameters.more >>\n  - run: echo << parameters.who >>!\n",
        );
        let spot = Spot {
            file: Path::new("c.yml"),
        };
        let more = parse("more:\n  - run: one\n  - run: two\n")
            .get("more")
            .cloned()
            .unwrap();
        let out = substitute(&spot, &y, "parameters.", &|name| match name {
            "parameters.more" => Some(more.clone()),
            "parameters.who" => Some(Y::Str("world".into(), 1)),
            _ => None,
        })
        .unwrap();
        let steps = out.get("steps").unwrap().items();
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[3].get("run").unwrap().as_str(), Some("echo world!"));
        let missing = substitute(
            &spot,
            &parse("a: << parameters.nope >>"),
            "parameters.",
            &|_| None,
        )
        .unwrap_err();
        assert!(missing.to_string().contains("parameters.nope"), "{missing}");
        assert!(missing.to_string().contains("c.yml:1"), "{missing}");
        // Another scope's reference is left for its own pass.
        let kept = substitute(
            &spot,
            &parse("a: << pipeline.number >>"),
            "parameters.",
            &|_| None,
        )
        .unwrap();
        assert_eq!(
            kept.get("a").unwrap().as_str(),
            Some("<< pipeline.number >>")
        );
    }

    #[test]
    fn truth_is_circleci_s() {
        for falsy in ["false", "", "0", "null"] {
            assert!(!Y::Str(falsy.into(), 1).truthy(), "{falsy:?}");
        }
        assert!(Y::Str("main".into(), 1).truthy());
    }
}
