//! The one TOML writer for the `slipway.toml` files Slipway writes
//! (`slipway init`'s template, `slipway import`'s pipeline): comments and
//! tables as lines, values quoted as TOML quotes them.

use std::fmt::Write as _;

/// A TOML string literal.
pub fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A TOML key, bare when it can be.
pub fn key(text: &str) -> String {
    let bare = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match bare {
        true => text.to_string(),
        false => quote(text),
    }
}

/// `{ A = "1", B = "2" }`.
pub fn inline_table(pairs: &[(String, String)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} = {}", key(k), quote(v)))
        .collect();
    format!("{{ {} }}", items.join(", "))
}

/// `["a", "b"]`.
pub fn array(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A commented TOML file, written a line at a time.
#[derive(Debug, Default)]
pub struct TomlText {
    out: String,
}

impl TomlText {
    /// A line as it is (several, when it holds newlines).
    pub fn line(&mut self, text: impl AsRef<str>) -> &mut Self {
        self.out.push_str(text.as_ref());
        self.out.push('\n');
        self
    }

    /// An empty line.
    pub fn blank(&mut self) -> &mut Self {
        self.out.push('\n');
        self
    }

    /// `# text`, each of its lines commented.
    pub fn comment(&mut self, text: impl AsRef<str>) -> &mut Self {
        for line in text.as_ref().lines() {
            let _ = writeln!(self.out, "# {line}");
        }
        self
    }

    /// `[name]`.
    pub fn table(&mut self, name: &str) -> &mut Self {
        self.line(format!("[{name}]"))
    }

    /// `[[name]]`.
    pub fn array_table(&mut self, name: &str) -> &mut Self {
        self.line(format!("[[{name}]]"))
    }

    /// `key = value`, the value already TOML.
    pub fn set(&mut self, name: &str, value: impl AsRef<str>) -> &mut Self {
        self.line(format!("{} = {}", key(name), value.as_ref()))
    }

    /// `key = "text"`.
    pub fn string(&mut self, name: &str, text: &str) -> &mut Self {
        self.set(name, quote(text))
    }

    /// Text as it is, newlines included.
    pub fn push_str(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// The file.
    pub fn finish(self) -> String {
        self.out
    }
}

impl std::fmt::Write for TomlText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.out.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_as_toml_quotes_them() {
        let mut t = TomlText::default();
        t.comment("two\nlines")
            .table("run")
            .string("command", "say \"hi\"");
        t.set("env", inline_table(&[("A B".into(), "1".into())]));
        t.set("ports", array(&["80".into()]));
        let text = t.finish();
        assert_eq!(
            text,
            "# two\n# lines\n[run]\ncommand = 'say \"hi\"'\nenv = { \"A B\" = \"1\" }\nports = [\"80\"]\n"
        );
        let parsed: toml::Table = text.parse().unwrap();
        assert_eq!(parsed["run"]["command"].as_str(), Some("say \"hi\""));
    }
}
