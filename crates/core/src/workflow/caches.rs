//! The local cache store behind `save_cache` and `restore_cache`: one tar
//! per key in the data folder, found by exact key then by prefix (the
//! newest), and kept under a size bound by dropping the least recently
//! used. `slipway clean --caches` empties it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The bound when `SLIPWAY_CACHE_MAX_MB` does not set one.
const DEFAULT_MAX_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// The caches' folder.
#[derive(Debug, Clone)]
pub struct CacheStore {
    dir: PathBuf,
    max_bytes: u64,
}

/// One kept cache.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    tar: PathBuf,
    used: std::time::SystemTime,
    bytes: u64,
}

impl CacheStore {
    /// The user's store (in the data folder), if there is a data folder.
    pub fn user() -> Option<Self> {
        let max_bytes = std::env::var("SLIPWAY_CACHE_MAX_MB")
            .ok()
            .and_then(|m| m.parse::<u64>().ok())
            .map_or(DEFAULT_MAX_BYTES, |mb| mb * 1024 * 1024);
        Some(CacheStore {
            dir: crate::paths::data_dir()?.join("caches"),
            max_bytes,
        })
    }

    /// A store in `dir` bounded at `max_bytes` (tests).
    pub fn at(dir: PathBuf, max_bytes: u64) -> Self {
        CacheStore { dir, max_bytes }
    }

    fn entries(&self) -> Vec<Entry> {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        read.flatten()
            .filter_map(|e| {
                let path = e.path();
                if path.extension()? != "key" {
                    return None;
                }
                let key = std::fs::read_to_string(&path).ok()?;
                let tar = path.with_extension("tar");
                let meta = std::fs::metadata(&tar).ok()?;
                Some(Entry {
                    key,
                    used: meta.modified().ok()?,
                    bytes: meta.len(),
                    tar,
                })
            })
            .collect()
    }

    fn file(&self, key: &str) -> PathBuf {
        let digest: String = Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.dir.join(digest)
    }

    /// Whether `key` is kept exactly.
    pub fn has(&self, key: &str) -> bool {
        self.file(key).with_extension("tar").is_file()
    }

    /// The first of `keys` kept exactly or, failing that, as the prefix of
    /// a kept key (the newest such): the key found and its tar.
    pub fn find(&self, keys: &[String]) -> Option<(String, Vec<u8>)> {
        let entries = self.entries();
        for key in keys {
            let exact = entries.iter().find(|e| &e.key == key);
            let found = exact.or_else(|| {
                entries
                    .iter()
                    .filter(|e| e.key.starts_with(key.as_str()))
                    .max_by_key(|e| e.used)
            });
            if let Some(entry) = found
                && let Ok(bytes) = std::fs::read(&entry.tar)
            {
                // Using a cache keeps it: it is the last to go.
                let _ = std::fs::File::options()
                    .append(true)
                    .open(&entry.tar)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                return Some((entry.key.clone(), bytes));
            }
        }
        None
    }

    /// Keeps `tar` under `key`, then drops the least recently used caches
    /// until the store is within its bound.
    pub fn save(&self, key: &str, tar: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let base = self.file(key);
        crate::paths::write_atomic(&base.with_extension("tar"), tar)?;
        crate::paths::write_atomic(&base.with_extension("key"), key.as_bytes())?;
        let mut entries = self.entries();
        entries.sort_by_key(|e| e.used);
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        for entry in entries {
            if total <= self.max_bytes || entry.key == key {
                continue;
            }
            remove(&entry.tar);
            total = total.saturating_sub(entry.bytes);
        }
        Ok(())
    }

    /// Removes every cache: how many, and their bytes.
    pub fn clear(&self) -> (usize, u64) {
        let entries = self.entries();
        let bytes = entries.iter().map(|e| e.bytes).sum();
        for entry in &entries {
            remove(&entry.tar);
        }
        (entries.len(), bytes)
    }
}

fn remove(tar: &Path) {
    let _ = std::fs::remove_file(tar);
    let _ = std::fs::remove_file(tar.with_extension("key"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_newest_prefix_then_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = CacheStore::at(dir.path().join("caches"), 25);
        store.save("deps-main-aaa", b"0123456789").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        store.save("deps-main-bbb", b"abcdefghij").unwrap();
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // A prefix finds the newest; the first key that finds one wins.
        assert_eq!(
            store.find(&keys(&["deps-main-"])).unwrap().0,
            "deps-main-bbb"
        );
        assert_eq!(
            store.find(&keys(&["nope", "deps-"])).unwrap().0,
            "deps-main-bbb"
        );
        assert_eq!(
            store.find(&keys(&["deps-main-aaa"])).unwrap().0,
            "deps-main-aaa"
        );
        assert!(store.find(&keys(&["other"])).is_none());
        // Over the bound: the least recently used goes (aaa was used after bbb).
        std::thread::sleep(std::time::Duration::from_millis(20));
        store.save("deps-main-ccc", b"ABCDEFGHIJ").unwrap();
        assert!(store.has("deps-main-aaa") && store.has("deps-main-ccc"));
        assert!(!store.has("deps-main-bbb"));
        assert_eq!(store.clear(), (2, 20));
        assert!(store.find(&keys(&["deps"])).is_none());
    }
}
