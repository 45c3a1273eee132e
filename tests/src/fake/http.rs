//! What the fake services share: strong ETags and `If-None-Match`, `Link`
//! pagination, and a rate limit that counts what the service would charge
//! (a 304 is free, as on GitHub).

use axum::http::{HeaderMap, HeaderValue};

/// A strong ETag for a body (FNV-1a: stable across runs).
pub fn etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
pub fn not_modified(request: &HeaderMap, etag: &str) -> bool {
    request
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
}

/// The `Link` header of page `page` (1-based) of `total` items, `per_page`
/// a page, at `url` (which may carry other query parameters); `None` when
/// everything fits on one page.
pub fn link(url: &str, page: usize, per_page: usize, total: usize) -> Option<String> {
    let last = total.div_ceil(per_page.max(1)).max(1);
    if last == 1 {
        return None;
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    let at =
        |n: usize, rel: &str| format!("<{url}{sep}per_page={per_page}&page={n}>; rel=\"{rel}\"");
    let mut parts = Vec::new();
    if page > 1 {
        parts.push(at(page - 1, "prev"));
    }
    if page < last {
        parts.push(at(page + 1, "next"));
        parts.push(at(last, "last"));
    }
    if page > 1 {
        parts.push(at(1, "first"));
    }
    Some(parts.join(", "))
}

/// A rate limit: what is left and when it refills.
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// Requests an hour.
    pub limit: u32,
    /// Requests left.
    pub remaining: u32,
    /// When it refills, Unix seconds.
    pub reset: u64,
    /// The requests charged so far.
    pub charged: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        RateLimit {
            limit: 5000,
            remaining: 5000,
            reset: now + 3600,
            charged: 0,
        }
    }
}

impl RateLimit {
    /// Counts one charged request.
    pub fn charge(&mut self) {
        self.remaining = self.remaining.saturating_sub(1);
        self.charged += 1;
    }

    /// Gives back a charge (the answer was a 304).
    pub fn refund(&mut self) {
        self.remaining = (self.remaining + 1).min(self.limit);
        self.charged = self.charged.saturating_sub(1);
    }

    /// The `x-ratelimit-*` headers.
    pub fn headers(&self, headers: &mut HeaderMap) {
        for (k, v) in [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            (
                "x-ratelimit-used",
                (self.limit - self.remaining).to_string(),
            ),
            ("x-ratelimit-reset", self.reset.to_string()),
            ("x-ratelimit-resource", "core".to_string()),
        ] {
            headers.insert(k, HeaderValue::from_str(&v).expect("header"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_the_neighbouring_pages() {
        assert_eq!(link("http://h/x", 1, 100, 100), None);
        let first = link("http://h/x?filter=all", 1, 100, 250).unwrap();
        assert_eq!(
            first,
            "<http://h/x?filter=all&per_page=100&page=2>; rel=\"next\", <http://h/x?filter=all&per_page=100&page=3>; rel=\"last\""
        );
        let last = link("http://h/x", 3, 100, 250).unwrap();
        assert!(last.contains("page=2>; rel=\"prev\""), "{last}");
        assert!(last.contains("page=1>; rel=\"first\""), "{last}");
        assert!(!last.contains("next"), "{last}");
    }

    #[test]
    fn etags_are_stable_and_matched_weak_or_strong() {
        let tag = etag(b"body");
        assert_eq!(tag, etag(b"body"));
        assert_ne!(tag, etag(b"other"));
        let mut h = HeaderMap::new();
        h.insert(
            "if-none-match",
            HeaderValue::from_str(&format!("W/{tag}")).unwrap(),
        );
        assert!(not_modified(&h, &tag));
        assert!(!not_modified(&HeaderMap::new(), &tag));
    }
}
