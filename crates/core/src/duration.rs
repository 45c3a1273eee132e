//! Human durations in pipeline files: `"30s"`, `"1m30s"`, `"250ms"`, or a
//! bare number of seconds.

use std::time::Duration;

/// Parses `"1h2m3s"`, `"500ms"`, `"1.5s"` or `"30"` (seconds).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a duration cannot be empty".into());
    }
    if let Ok(secs) = text.parse::<f64>() {
        return from_secs(secs, text);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(format!(
                "invalid duration {text:?}: expected a number before {rest:?}"
            ));
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| {
            format!(
                "invalid duration {text:?}: bad number {:?}",
                &rest[..number_len]
            )
        })?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {unit:?} (use ms, s, m or h, e.g. \"30s\")"
                ));
            }
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    from_secs(total, text)
}

fn from_secs(secs: f64, text: &str) -> Result<Duration, String> {
    if !secs.is_finite() || !(0.0..=7.0 * 24.0 * 3600.0).contains(&secs) {
        return Err(format!(
            "invalid duration {text:?}: must be between 0 and 7 days"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A moment (Unix seconds) as the local clock shows it: `14:05`.
pub fn clock_time(unix_secs: u64) -> String {
    use chrono::TimeZone as _;
    match chrono::Local.timestamp_opt(unix_secs as i64, 0).single() {
        Some(at) => at.format("%H:%M").to_string(),
        None => "later".into(),
    }
}

/// A wait as people say it: `3 s`, `12 min`, `2 h 5 min`.
pub fn roughly(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => format!("{} s", secs.max(1)),
        60..3600 => format!("{} min", (secs + 30) / 60),
        _ => match (secs + 30) / 60 % 60 {
            0 => format!("{} h", secs / 3600),
            m => format!("{} h {m} min", secs / 3600),
        },
    }
}

/// Formats a duration the way the CLI and history show it: `850ms`, `3.2s`,
/// `2m05s`.
pub fn display(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        let secs = duration.as_secs();
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_bare_seconds() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn rejects_unknown_units_with_a_hint() {
        let err = parse("10 sec").unwrap_err();
        assert!(err.contains("unknown unit"), "{err}");
        assert!(parse("").is_err());
        assert!(parse("-1").is_err());
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(display(Duration::from_millis(850)), "850ms");
        assert_eq!(display(Duration::from_millis(3240)), "3.2s");
        assert_eq!(display(Duration::from_secs(125)), "2m05s");
    }
}
