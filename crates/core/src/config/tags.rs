//! Image tags as `[push] tags` declares them: templates with `{branch}` and
//! `{sha}`, checked when the file is read and filled in for a commit.

use serde::Serialize;

/// The longest a tag may be.
pub const TAG_MAX: usize = 128;

/// A checked tag template (`{branch}`, `v-{sha}`, `stable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TagTemplate(String);

impl TagTemplate {
    /// Checks `template`: tag characters, and only `{branch}` and `{sha}`.
    pub fn parse(template: &str) -> Result<Self, String> {
        let literal = template.replace("{branch}", "b").replace("{sha}", "s");
        if literal.contains(['{', '}']) {
            return Err(format!(
                "tag {template:?} has an unknown placeholder: use {{branch}} and {{sha}}"
            ));
        }
        if !is_tag(&literal) {
            return Err(format!(
                "invalid tag {template:?}: use letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            ));
        }
        Ok(TagTemplate(template.to_string()))
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it names the commit.
    pub fn has_sha(&self) -> bool {
        self.0.contains("{sha}")
    }

    /// Whether it names the branch.
    pub fn has_branch(&self) -> bool {
        self.0.contains("{branch}")
    }

    /// The tag for `sha` on `branch` (the branch made tag-safe, the SHA short).
    pub fn render(&self, branch: &str, sha: &str) -> String {
        self.0
            .replace("{branch}", &branch_tag(branch))
            .replace("{sha}", crate::git::short_sha(sha))
            .chars()
            .take(TAG_MAX)
            .collect()
    }
}

impl std::fmt::Display for TagTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `tag` is a valid image tag.
pub fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= TAG_MAX
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// A branch name as a tag: `feature/login` becomes `feature-login`.
pub fn branch_tag(branch: &str) -> String {
    let tag: String = branch
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || "_.-".contains(c) {
            true => c,
            false => '-',
        })
        .collect();
    let tag = tag.trim_start_matches(['.', '-']);
    tag.chars().take(TAG_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_checked_and_filled_in() {
        assert!(TagTemplate::parse("{branch}-{sha}").is_ok());
        assert!(TagTemplate::parse("v1.0").is_ok());
        assert!(
            TagTemplate::parse("{tag}")
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(TagTemplate::parse("-x").is_err());
        assert!(TagTemplate::parse("a/b").is_err());
        assert_eq!(branch_tag("-feat/x y"), "feat-x-y");
        assert_eq!(branch_tag(&"b".repeat(200)).len(), 128);
        let t = TagTemplate::parse("v-{branch}-{sha}").unwrap();
        assert_eq!(
            t.render("feature/Login", "0123456789abcdef"),
            "v-feature-Login-0123456"
        );
    }
}
