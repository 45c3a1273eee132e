//! Cache key templates as CircleCI renders them: `{{ checksum "f" }}`,
//! `{{ .Branch }}`, `{{ .Revision }}`, `{{ .Environment.X }}`,
//! `{{ epoch }}`, `{{ arch }}`, `{{ .BuildNum }}`.

use sha2::{Digest, Sha256};

/// What a template may name.
pub(crate) struct KeyValues<'a> {
    pub(crate) branch: &'a str,
    pub(crate) revision: &'a str,
    pub(crate) build_num: u64,
    pub(crate) environment: &'a [(String, String)],
    pub(crate) epoch: u64,
    /// A file's contents, by the path as written (relative to the job's folder).
    pub(crate) read: &'a dyn Fn(&str) -> Option<Vec<u8>>,
}

/// The key `template` stands for, or why it cannot be rendered.
pub(crate) fn render(template: &str, values: &KeyValues) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| format!("`{{{{` without `}}}}` in cache key {template:?}"))?;
        out.push_str(&expression(after[..close].trim(), values)?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expression(expr: &str, values: &KeyValues) -> Result<String, String> {
    Ok(match expr {
        ".Branch" => values.branch.to_string(),
        ".Revision" => values.revision.to_string(),
        ".BuildNum" => values.build_num.to_string(),
        "epoch" => values.epoch.to_string(),
        "arch" => arch(),
        _ => {
            if let Some(name) = expr.strip_prefix(".Environment.") {
                values
                    .environment
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| "<no value>".into())
            } else if let Some(file) = expr.strip_prefix("checksum") {
                let file = file.trim().trim_matches('"');
                let bytes = (values.read)(file)
                    .ok_or_else(|| format!("cannot read {file:?} for its checksum"))?;
                Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            } else {
                return Err(format!(
                    "unknown template {{{{ {expr} }}}}: use checksum \"FILE\", .Branch, .Revision, .BuildNum, .Environment.NAME, epoch or arch"
                ));
            }
        }
    })
}

/// CircleCI's `{{ arch }}`: the OS and CPU, like `linux-amd64`.
fn arch() -> String {
    let cpu = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{}-{cpu}", std::env::consts::OS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(
        env: &'a [(String, String)],
        read: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    ) -> KeyValues<'a> {
        KeyValues {
            branch: "feature/x",
            revision: "abc123",
            build_num: 7,
            environment: env,
            epoch: 1_700_000_000,
            read,
        }
    }

    #[test]
    fn each_template_renders() {
        let env = vec![("CACHE_VERSION".to_string(), "v3".to_string())];
        let read = |f: &str| (f == "requirements.txt").then(|| b"flask\n".to_vec());
        let v = values(&env, &read);
        assert_eq!(render("deps-{{ .Branch }}", &v).unwrap(), "deps-feature/x");
        assert_eq!(
            render("{{ .Revision }}-{{ .BuildNum }}", &v).unwrap(),
            "abc123-7"
        );
        assert_eq!(
            render("{{ .Environment.CACHE_VERSION }}", &v).unwrap(),
            "v3"
        );
        assert_eq!(render("{{ .Environment.NOPE }}", &v).unwrap(), "<no value>");
        assert_eq!(render("t-{{ epoch }}", &v).unwrap(), "t-1700000000");
        assert!(render("{{ arch }}", &v).unwrap().starts_with("linux-"));
        let sum = render("deps-{{ checksum \"requirements.txt\" }}", &v).unwrap();
        assert_eq!(sum.len(), "deps-".len() + 64);
        // The same file gives the same key; another gives another.
        assert_eq!(
            sum,
            render("deps-{{checksum \"requirements.txt\"}}", &v).unwrap()
        );
        let missing = render("{{ checksum \"nope.txt\" }}", &v).unwrap_err();
        assert!(missing.contains("nope.txt"), "{missing}");
        assert!(render("{{ .Nope }}", &v).unwrap_err().contains(".Nope"));
        assert!(render("open {{ .Branch", &v).is_err());
    }
}
