//! A PostgreSQL connection URL that never shows its password (`Debug`, `Display`,
//! serialization and every error print it with the password replaced).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What stands in for a password wherever a URL is shown.
const HIDDEN: &str = "***";

/// A `postgres://` (or `postgresql://`) URL; only [`DatabaseUrl::expose`] gives the password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL as given.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// Whether `text` names a PostgreSQL database (its scheme), rather than a file path.
    pub fn is_url(text: &str) -> bool {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// The URL as written, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password (in the user part or a `password=` parameter) replaced.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

/// `raw` with the password of its user part and of any `password` query parameter hidden.
fn redact(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://").map(|i| i + 3) else {
        return raw.to_owned();
    };
    let (scheme, rest) = raw.split_at(scheme_end);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (user_info, host) = authority.split_at(at);
            match user_info.split_once(':') {
                Some((user, _password)) => format!("{user}:{HIDDEN}{host}"),
                None => authority.to_owned(),
            }
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}={HIDDEN}")
                    }
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_wherever_they_are_written() {
        let cases = [
            (
                "postgres://app:s3cr%40t@db.example:5432/hipkit",
                "postgres://app:***@db.example:5432/hipkit",
            ),
            (
                "postgresql://app@db/hipkit?password=s3cret&sslmode=disable",
                "postgresql://app@db/hipkit?password=***&sslmode=disable",
            ),
            ("postgres://db/hipkit", "postgres://db/hipkit"),
            ("postgres://a:b:c@h", "postgres://a:***@h"),
        ];
        for (raw, shown) in cases {
            let url = DatabaseUrl::new(raw);
            assert_eq!(url.redacted(), shown);
            assert_eq!(format!("{url:?}"), shown);
            assert_eq!(url.to_string(), shown);
            assert_eq!(serde_json::to_string(&url).unwrap(), format!("\"{shown}\""));
        }
    }

    #[test]
    fn only_postgres_schemes_are_urls() {
        assert!(DatabaseUrl::is_url("postgres://h/db"));
        assert!(DatabaseUrl::is_url("PostgreSQL://h/db"));
        assert!(!DatabaseUrl::is_url("hipkit.db"));
        assert!(!DatabaseUrl::is_url("/var/lib/postgres://x"));
    }
}
