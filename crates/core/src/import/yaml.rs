//! The YAML of a CI file with positions (`marked-yaml`): parse errors and
//! unexpected keys or shapes come back as `file:line:column` with a hint.

use std::path::Path;

use marked_yaml::{Node, types::MarkedMappingNode};

use crate::config::{ConfigError, Location};

/// Parses `text`, the contents of `file`; its top level must be a mapping.
pub(crate) fn parse(file: &Path, text: &str) -> Result<MarkedMappingNode, ConfigError> {
    let node = marked_yaml::parse_yaml(0, text).map_err(|e| {
        let (line, column, message) = load_error(&e);
        ConfigError {
            location: Some(Location {
                path: file.to_path_buf(),
                line,
                column,
            }),
            message,
            hint: Some(format!("Fix the YAML in {}.", file.display())),
        }
    })?;
    match node {
        Node::Mapping(map) => Ok(map),
        other => Err(error(
            file,
            &other,
            "the file is not a mapping of keys".into(),
        )),
    }
}

/// Where and what a parse error is.
fn load_error(e: &marked_yaml::LoadError) -> (usize, usize, String) {
    use marked_yaml::LoadError as E;
    let (marker, message) = match e {
        E::TopLevelMustBeMapping(m) | E::TopLevelMustBeSequence(m) => {
            (Some(*m), "the file should be a mapping of keys".to_string())
        }
        E::UnexpectedAnchor(m) => (Some(*m), "an anchor Slipway cannot follow".into()),
        E::MappingKeyMustBeScalar(m) => (Some(*m), "a key that is not a single value".into()),
        E::UnexpectedTag(m) => (
            Some(*m),
            "a YAML tag (`!name`) Slipway does not read".into(),
        ),
        E::ScanError(m, scan) => (Some(*m), format!("invalid YAML: {}", scan.info())),
        E::DuplicateKey(d) => (
            d.key.span().start().copied(),
            format!("the key `{}` appears twice", d.key.as_str()),
        ),
    };
    marker.map_or((1, 1, message.clone()), |m| (m.line(), m.column(), message))
}

/// The 1-based line a node starts on.
pub(crate) fn line(node: &Node) -> usize {
    node.span().start().map_or(1, |m| m.line())
}

/// The 1-based line of `key` in `map` (not of its value, which may start
/// on the next line).
pub(crate) fn key_line(map: &MarkedMappingNode, key: &str) -> usize {
    map.iter()
        .find(|(k, _)| k.as_str() == key)
        .and_then(|(k, _)| k.span().start().map(|m| m.line()))
        .unwrap_or(1)
}

/// A mistake at `node`.
pub(crate) fn error(file: &Path, node: &Node, message: String) -> ConfigError {
    let (line, column) = node
        .span()
        .start()
        .map_or((1, 1), |m| (m.line(), m.column()));
    ConfigError {
        location: Some(Location {
            path: file.to_path_buf(),
            line,
            column,
        }),
        message,
        hint: None,
    }
}

/// Checks that every key of `map` is one of `known`.
pub(crate) fn known_keys(
    file: &Path,
    map: &MarkedMappingNode,
    what: &str,
    known: &[&str],
) -> Result<(), ConfigError> {
    for (key, _) in map.iter() {
        if !known.contains(&key.as_str()) {
            let node = Node::Scalar(key.clone());
            return Err(error(
                file,
                &node,
                format!("unknown key `{}` in {what}", key.as_str()),
            )
            .with_hint(format!("Expected one of: {}.", known.join(", "))));
        }
    }
    Ok(())
}

/// A scalar's text, or a mistake naming what was expected.
pub(crate) fn text<'a>(file: &Path, node: &'a Node, what: &str) -> Result<&'a str, ConfigError> {
    node.as_scalar()
        .map(|s| s.as_str())
        .ok_or_else(|| error(file, node, format!("{what} should be a single value")))
}

/// A mapping, or a mistake naming what was expected.
pub(crate) fn mapping<'a>(
    file: &Path,
    node: &'a Node,
    what: &str,
) -> Result<&'a MarkedMappingNode, ConfigError> {
    node.as_mapping()
        .ok_or_else(|| error(file, node, format!("{what} should be a mapping of keys")))
}

/// A sequence's items (a single value counts as one item).
pub(crate) fn items(node: &Node) -> Vec<&Node> {
    match node {
        Node::Sequence(seq) => seq.iter().collect(),
        other => vec![other],
    }
}

/// An `environment` mapping, in order, values as text.
pub(crate) fn env(file: &Path, node: &Node) -> Result<Vec<(String, String)>, ConfigError> {
    match node {
        Node::Mapping(map) => map
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.as_str().to_string(),
                    text(file, v, "an environment value")?.to_string(),
                ))
            })
            .collect(),
        // CircleCI 2.x also takes a list of `KEY=value`.
        Node::Sequence(seq) => seq
            .iter()
            .map(|item| {
                let t = text(file, item, "an environment entry")?;
                t.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| error(file, item, format!("{t:?} is not KEY=value")))
            })
            .collect(),
        Node::Scalar(_) => Err(error(
            file,
            node,
            "environment should be a mapping of NAME: value".into(),
        )),
    }
}
