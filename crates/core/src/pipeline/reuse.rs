//! Reusing the last build when nothing it read has changed: the context's
//! files (as they would be sent), the Dockerfile's base images, and the
//! build's options. Their digest is a label on the image; a build whose
//! digest matches the image's is not sent to the engine again.

use std::io::Write;

use sha2::{Digest, Sha256};

use super::Runner;
use crate::context::ContextArchive;

/// Label holding the digest of everything the build read.
pub const LABEL_INPUTS: &str = "dev.slipway.inputs";

/// The digest of the build's inputs, or `None` when it cannot be known
/// without building (no cache asked, a base image chosen by a build
/// argument or not here yet, a file fetched from the network).
pub(super) async fn inputs(
    runner: &Runner,
    archive: &ContextArchive,
    dockerfile: &str,
) -> Option<String> {
    let spec = runner.pipeline.build.clone();
    if spec.no_cache {
        return None;
    }
    let bases = base_images(dockerfile)?;
    let mut hasher = Sha256::new();
    for base in bases {
        let id = super::engine_call("inspect image", runner.engine.docker().inspect_image(&base))
            .await
            .ok()?
            .id?;
        hasher.update(format!("from {base} {id}\n"));
    }
    let options = serde_json::json!({
        "image": runner.pipeline.image.to_string(),
        "project": runner.pipeline.project,
        "dockerfile": spec.dockerfile,
        "args": spec.args,
        "target": spec.target,
        "builder": format!("{:?}", spec.builder),
        "commit": runner.commit,
    });
    hasher.update(options.to_string());
    let archive = archive.again();
    let context = tokio::task::spawn_blocking(move || {
        let mut digest = HashWriter(Sha256::new());
        archive.write_tar(&mut digest).ok()?;
        Some(digest.0.finalize())
    })
    .await
    .ok()??;
    hasher.update(context);
    Some(format!("{:x}", hasher.finalize()))
}

/// The images a Dockerfile builds on (`FROM`), skipping `scratch` and its
/// own stages; `None` when they cannot be told from the text alone.
fn base_images(dockerfile: &str) -> Option<Vec<String>> {
    let mut stages: Vec<String> = Vec::new();
    let mut bases = Vec::new();
    for line in dockerfile.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = words.first() else {
            continue;
        };
        if first.eq_ignore_ascii_case("ADD")
            && words
                .iter()
                .any(|w| w.contains("://") || w.starts_with("git@"))
        {
            return None;
        }
        if !first.eq_ignore_ascii_case("FROM") {
            continue;
        }
        let rest: Vec<&str> = words[1..]
            .iter()
            .copied()
            .filter(|w| !w.starts_with("--"))
            .collect();
        let image = rest.first()?;
        if image.contains('$') {
            return None;
        }
        let image = image.to_lowercase();
        if image != "scratch" && !stages.contains(&image) {
            bases.push(image);
        }
        if let [_, as_word, name] = rest.as_slice()
            && as_word.eq_ignore_ascii_case("AS")
        {
            stages.push(name.to_lowercase());
        }
    }
    Some(bases)
}

struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::base_images;

    #[test]
    fn base_images_are_read_from_the_dockerfile() {
        assert_eq!(
            base_images("FROM slipway-test/flask-base:bookworm\nCOPY app /app\n"),
            Some(vec!["slipway-test/flask-base:bookworm".to_string()])
        );
        assert_eq!(
            base_images(
                "FROM --platform=linux/amd64 Golang:1 AS build\nRUN make\nFROM scratch\nCOPY --from=build /x /x\nFROM build AS test\n"
            ),
            Some(vec!["golang:1".to_string()])
        );
        assert_eq!(base_images("ARG V=1\nFROM python:$V\n"), None);
        assert_eq!(
            base_images("FROM scratch\nADD https://example.com/x /x\n"),
            None
        );
        assert_eq!(
            base_images("FROM scratch\nCOPY busybox /bin/busybox\n"),
            Some(vec![])
        );
    }
}
