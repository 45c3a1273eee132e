//! The log filter both front ends install: the user's `SLIPWAY_LOG`
//! (tracing's filter syntax), with caps no setting can lift on libraries
//! that would log secrets.

use tracing_subscriber::EnvFilter;

/// The variable that sets the log filter.
pub const LOG_ENV: &str = "SLIPWAY_LOG";

/// What is logged when `SLIPWAY_LOG` is not set.
const DEFAULT_FILTER: &str = "warn,octocrab=off";

/// Directives added after the user's own: libraries that log request
/// bodies at debug level (bollard logs a container's environment, where
/// secrets are passed) stay at info whatever is asked.
pub const SECRET_SAFE_CAPS: &[&str] = &["bollard=info"];

/// The filter from `SLIPWAY_LOG` (or the default), with the caps applied.
pub fn filter() -> EnvFilter {
    let user = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    capped(user)
}

fn capped(filter: EnvFilter) -> EnvFilter {
    SECRET_SAFE_CAPS
        .iter()
        .fold(filter, |filter, cap| match cap.parse() {
            Ok(directive) => filter.add_directive(directive),
            Err(_) => filter,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_win_over_the_users_trace() {
        let filter = capped(EnvFilter::new("trace"));
        let text = filter.to_string();
        assert!(text.contains("bollard=info"), "{text}");
        assert!(text.contains("trace"), "{text}");
    }
}
