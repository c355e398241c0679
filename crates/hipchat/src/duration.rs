//! The one duration syntax hipkit accepts everywhere (CLI flags such as `--timeout` and
//! `outbox purge --delivered-before`, the emulator's `wait=` parameter): whole seconds (`30`)
//! or numbers with units, combinable (`500ms`, `5s`, `1m30s`, `12h`, `7d`; humantime's units).

use std::fmt;
use std::time::Duration;
use thiserror::Error;

/// A text that is not a duration in hipkit's syntax.
#[derive(Debug, Error)]
#[error("`{raw}` is not a duration like 30, 500ms, 1m30s or 7d")]
pub struct DurationError {
    /// The text as given (trimmed).
    pub raw: String,
    /// What the unit parser found wrong.
    #[source]
    source: humantime::DurationError,
}

/// Parses whole seconds (`30`) or numbers with units (`1m30s`); surrounding spaces are ignored.
pub fn parse_duration(raw: &str) -> Result<Duration, DurationError> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(raw).map_err(|source| DurationError {
        raw: raw.to_owned(),
        source,
    })
}

/// Shows a duration in the same syntax (`1h 30m`), so what is printed can be typed back.
pub fn format_duration(duration: Duration) -> impl fmt::Display {
    humantime::format_duration(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_units_parse_and_round_trip() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration(" 5s ").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        let shown = format_duration(Duration::from_secs(5400)).to_string();
        assert_eq!(parse_duration(&shown).unwrap(), Duration::from_secs(5400));
        let bad = parse_duration("soon").unwrap_err();
        assert_eq!(bad.raw, "soon");
        assert!(bad.to_string().contains("1m30s"), "{bad}");
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("").is_err());
    }
}
