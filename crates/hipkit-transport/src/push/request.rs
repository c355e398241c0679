//! The POST ready to send: URL, headers (each marked secret or not) and body; shown with its
//! secrets redacted.

use super::stored::{HttpPush, StoredHeader};

/// One header of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// A secret value is never shown or stored.
    pub secret: bool,
}

impl Header {
    /// A header that may be shown and stored.
    pub fn plain(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            secret: false,
        }
    }

    /// A header whose value is a secret.
    pub fn secret(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            secret: true,
        }
    }
}

impl From<&StoredHeader> for Header {
    fn from(stored: &StoredHeader) -> Self {
        Self::plain(stored.name.clone(), stored.value.clone())
    }
}

/// One POST, ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct PushRequest {
    /// The URL.
    pub url: String,
    /// The headers, in order.
    pub headers: Vec<Header>,
    /// The body (JSON text).
    pub body: String,
}

impl std::fmt::Debug for PushRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PushRequest {
    /// The request as text, secrets redacted (for `--dry-run` and `debug`).
    pub fn describe(&self) -> String {
        let mut out = format!("POST {}\n", redact_url(&self.url));
        for header in &self.headers {
            let value = if header.secret {
                "<redacted>"
            } else {
                &header.value
            };
            out.push_str(&format!("{}: {value}\n", header.name));
        }
        out.push('\n');
        out.push_str(&self.body);
        out.push('\n');
        out
    }

    /// What the outbox may keep: the URL without credentials or query, the headers that are
    /// not secret, the body.
    pub fn stored(&self) -> HttpPush {
        HttpPush {
            url: redact_url(&self.url),
            headers: self
                .headers
                .iter()
                .filter(|h| !h.secret)
                .map(|h| StoredHeader {
                    name: h.name.clone(),
                    value: h.value.clone(),
                })
                .collect(),
            body: self.body.clone(),
        }
    }
}

/// Header names (lower case) whose values may be shown and stored; every other header's
/// value is treated as a secret (`X-Credential`, `Private-Token`, `X-Pass`, ...), because a
/// deny-list of secret-looking names always misses one.
pub const SHOWN_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "content-language",
    "content-type",
    "user-agent",
    "x-correlation-id",
    "x-request-id",
];

/// Whether header `name`'s value may be shown and stored (see [`SHOWN_HEADERS`]).
pub fn header_is_shown(name: &str) -> bool {
    SHOWN_HEADERS
        .iter()
        .any(|shown| shown.eq_ignore_ascii_case(name.trim()))
}

/// The one URL redaction, re-exported where pushes are built.
pub use hipchat::redact_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_pushes_keep_no_secret_header() {
        let request = PushRequest {
            url: "http://u:p@x/hook".into(),
            headers: vec![
                Header::plain("Content-Type", "application/json"),
                Header::secret("Authorization", "Bearer t0k"),
            ],
            body: "{\"a\": 1}".into(),
        };
        let stored = request.stored();
        assert_eq!(stored.url, "http://<redacted>@x/hook");
        assert_eq!(
            stored.headers,
            [StoredHeader {
                name: "Content-Type".to_owned(),
                value: "application/json".to_owned()
            }]
        );
        assert_eq!(stored.body, "{\"a\": 1}");
        let shown = format!("{request:?}");
        assert!(shown.contains("Authorization: <redacted>") && !shown.contains("t0k"));
        assert!(!shown.contains("u:p"));
    }
}
