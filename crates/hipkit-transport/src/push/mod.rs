//! The generic HTTP destination: a POST of a body to a URL (a build status receiver, any
//! webhook), the client that sends it (TLS verification, debug logging with every secret
//! redacted), and the stored form the outbox keeps, which holds no secret.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How long one push may take.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a refusing answer is kept for its error.
const ANSWER_CHARS: usize = 500;

/// One POST, ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct PushRequest {
    /// The URL.
    pub url: String,
    /// Headers in order: (name, value, secret); secret values are never shown or stored.
    pub headers: Vec<(String, String, bool)>,
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
        for (name, value, secret) in &self.headers {
            let value = if *secret { "<redacted>" } else { value };
            out.push_str(&format!("{name}: {value}\n"));
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
                .filter(|(_, _, secret)| !secret)
                .map(|(name, value, _)| (name.clone(), value.clone()))
                .collect(),
            body: self.body.clone(),
        }
    }
}

/// An HTTP push as the outbox stores it: nothing secret. The sender's live configuration
/// supplies the URL to use, credentials and secret headers at delivery time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpPush {
    /// The URL as shown: no user information, no query (either may hold a secret).
    pub url: String,
    /// The headers that are not secret, in order.
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte (stored as itself when it is a JSON object or array, which
    /// spares escaping it: the store writes fewer bytes).
    #[serde(with = "stored_body")]
    pub body: String,
}

/// A push body in the stored JSON: an object or array verbatim (a raw value, kept byte for
/// byte), any other text as a JSON string.
mod stored_body {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    /// The body as a raw JSON value, when it is exactly one object or array.
    fn raw(body: &str) -> Option<&RawValue> {
        let bytes = body.as_bytes();
        let bracketed =
            matches!(bytes.first(), Some(b'{' | b'[')) && matches!(bytes.last(), Some(b'}' | b']'));
        bracketed
            .then(|| serde_json::from_str::<&RawValue>(body).ok())
            .flatten()
    }

    pub fn serialize<S: Serializer>(body: &str, serializer: S) -> Result<S::Ok, S::Error> {
        match raw(body) {
            Some(value) => value.serialize(serializer),
            None => body.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        let value = Box::<RawValue>::deserialize(deserializer)?;
        let text = value.get();
        if text.starts_with('"') {
            serde_json::from_str(text).map_err(serde::de::Error::custom)
        } else {
            Ok(text.to_owned())
        }
    }
}

/// `url` without user information and with the query replaced, for showing and storing.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return "<not a URL>".to_owned();
    };
    let had_credentials = !parsed.username().is_empty() || parsed.password().is_some();
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let had_query = parsed.query().is_some();
    parsed.set_query(None);
    parsed.set_fragment(None);
    let mut shown = parsed.to_string();
    if had_credentials {
        let host_at = shown.find("://").map_or(0, |at| at + 3);
        shown.insert_str(host_at, "<redacted>@");
    }
    if had_query {
        shown.push_str("?<redacted>");
    }
    shown
}

/// TLS verification: Buildbot's `verify` (a flag, or a CA bundle path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// `true` (default): the system's roots; `false`: accept any certificate.
    Enabled(bool),
    /// A PEM CA bundle to trust.
    CaBundle(PathBuf),
}

/// A push that was not accepted; [`crate::TransportError::retry`] classifies it.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The receiver answered with a non-2xx status (Buildbot's log line).
    #[error("{status}: unable to upload status: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the answer.
        body: String,
        /// A 429's or 503's `Retry-After`, as a time.
        retry_at: Option<SystemTime>,
    },
    /// No answer (connection, TLS, timeout), or no request could be made (a bad URL).
    #[error("cannot reach the receiver: {}", hipchat::error_chain(.0))]
    Network(#[source] reqwest::Error),
    /// The client could not be built (a bad CA bundle).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

/// Sends pushes with one sender's TLS settings, logging them (redacted) when `debug`.
#[derive(Debug, Clone)]
pub struct PushClient {
    client: reqwest::Client,
    debug: bool,
}

impl PushClient {
    /// A client verifying TLS as `verify` says.
    pub fn new(verify: &Verify, debug: bool) -> Result<Self, PushError> {
        let mut builder = reqwest::Client::builder().timeout(PUSH_TIMEOUT);
        match verify {
            Verify::Enabled(verify) => builder = builder.tls_danger_accept_invalid_certs(!verify),
            Verify::CaBundle(path) => {
                let setup = |e: &dyn std::fmt::Display| {
                    PushError::Setup(format!("CA bundle {}: {e}", path.display()))
                };
                let pem = std::fs::read(path).map_err(|e| setup(&e))?;
                let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| setup(&e))?;
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| PushError::Setup(e.to_string()))?;
        Ok(Self { client, debug })
    }

    /// POSTs `request` once; a 2xx answer is success.
    pub async fn send(&self, request: &PushRequest) -> Result<(), PushError> {
        if self.debug {
            tracing::info!(request = %request.describe(), "HTTP push");
        }
        let mut req = self.client.post(&request.url).body(request.body.clone());
        for (name, value, _) in &request.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        // reqwest's errors name the URL, which may carry credentials.
        let resp = req
            .send()
            .await
            .map_err(|e| PushError::Network(e.without_url()))?;
        let status = resp.status().as_u16();
        let retry_at = retry_after(resp.headers());
        let body = resp.text().await.unwrap_or_default();
        if self.debug {
            tracing::info!(status, body = %body, "HTTP push answered");
        }
        if status / 100 == 2 {
            return Ok(());
        }
        Err(PushError::Status {
            status,
            body: body.chars().take(ANSWER_CHARS).collect(),
            retry_at,
        })
    }
}

/// `Retry-After` as a time: delay seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<SystemTime> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    match value.parse::<u64>() {
        Ok(secs) => Some(SystemTime::now() + Duration::from_secs(secs)),
        Err(_) => httpdate::parse_http_date(value).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials_or_query() {
        assert_eq!(
            redact_url("https://x.example/hook"),
            "https://x.example/hook"
        );
        assert_eq!(
            redact_url("https://bb:pw@x.example:8443/hook?token=abc#f"),
            "https://<redacted>@x.example:8443/hook?<redacted>"
        );
        assert_eq!(redact_url("not a url"), "<not a URL>");
    }

    #[test]
    fn stored_pushes_keep_no_secret_header() {
        let request = PushRequest {
            url: "http://u:p@x/hook".into(),
            headers: vec![
                ("Content-Type".into(), "application/json".into(), false),
                ("Authorization".into(), "Bearer t0k".into(), true),
            ],
            body: "{\"a\": 1}".into(),
        };
        let stored = request.stored();
        assert_eq!(stored.url, "http://<redacted>@x/hook");
        assert_eq!(
            stored.headers,
            [("Content-Type".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(stored.body, "{\"a\": 1}");
        let shown = format!("{request:?}");
        assert!(shown.contains("Authorization: <redacted>") && !shown.contains("t0k"));
        assert!(!shown.contains("u:p"));
    }

    #[tokio::test]
    async fn a_refused_connection_says_so_without_the_url() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let client = PushClient::new(&Verify::Enabled(true), false).unwrap();
        let request = PushRequest {
            url: format!("http://bb:pw-secret@{addr}/hook"),
            headers: Vec::new(),
            body: "{}".into(),
        };
        let error = client.send(&request).await.unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("cannot reach the receiver: "), "{text}");
        assert!(
            text.len() > "cannot reach the receiver: error sending request".len(),
            "{text}"
        );
        assert!(!text.contains("pw-secret"), "{text}");
        assert_eq!(
            crate::TransportError::from(error).retry(),
            crate::Retry::Backoff
        );
    }

    #[test]
    fn stored_bodies_round_trip_byte_for_byte() {
        for body in [
            "{\"a\": [1, 2],  \"b\": \"x\\\"y\", \"c\": \"\\u00e9 é\"}",
            "[1 , 2]",
            "\"a JSON string\"",
            "{not json}",
            " {\"padded\": true}",
            "plain text",
            "",
        ] {
            let push = HttpPush {
                url: "http://x/hook".into(),
                headers: Vec::new(),
                body: body.into(),
            };
            let stored = serde_json::to_string(&push).unwrap();
            let back: HttpPush = serde_json::from_str(&stored).unwrap();
            assert_eq!(back.body, body, "{stored}");
        }
        let push = HttpPush {
            url: "http://x/hook".into(),
            headers: Vec::new(),
            body: "{\"a\": 1}".into(),
        };
        assert!(
            serde_json::to_string(&push)
                .unwrap()
                .ends_with(r#""body":{"a": 1}}"#),
            "an object is stored as itself"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&h),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480))
        );
        h.insert("retry-after", "120".parse().unwrap());
        let at = retry_after(&h).unwrap();
        let ahead = at.duration_since(SystemTime::now()).unwrap();
        assert!(ahead > Duration::from_secs(100) && ahead <= Duration::from_secs(120));
    }
}
