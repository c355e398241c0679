//! The client that sends pushes: one sender's TLS settings, a timeout, and debug logging of
//! each request and answer with every secret redacted.

use super::request::PushRequest;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How long one push may take.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a refusing answer is kept for its error.
const ANSWER_CHARS: usize = 500;

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
    /// The CA bundle could not be read.
    #[error("cannot set up the HTTP client: CA bundle {}: {source}", path.display())]
    CaBundleUnreadable {
        /// The bundle.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// The CA bundle is not a PEM certificate bundle.
    #[error("cannot set up the HTTP client: CA bundle {}: {}", path.display(), hipchat::error_chain(source))]
    CaBundleInvalid {
        /// The bundle.
        path: PathBuf,
        /// Why it was refused.
        #[source]
        source: reqwest::Error,
    },
    /// The client could not be built.
    #[error("cannot set up the HTTP client: {}", hipchat::error_chain(.0))]
    Setup(#[source] reqwest::Error),
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
                let pem = std::fs::read(path).map_err(|source| PushError::CaBundleUnreadable {
                    path: path.clone(),
                    source,
                })?;
                let cert = reqwest::Certificate::from_pem(&pem).map_err(|source| {
                    PushError::CaBundleInvalid {
                        path: path.clone(),
                        source,
                    }
                })?;
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(PushError::Setup)?;
        Ok(Self { client, debug })
    }

    /// POSTs `request` once; a 2xx answer is success.
    pub async fn send(&self, request: &PushRequest) -> Result<(), PushError> {
        if self.debug {
            tracing::info!(request = %request.describe(), "HTTP push");
        }
        let mut req = self.client.post(&request.url).body(request.body.clone());
        for header in &request.headers {
            req = req.header(header.name.as_str(), header.value.as_str());
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
    fn a_missing_ca_bundle_keeps_its_cause() {
        let path = PathBuf::from("/nonexistent/hipkit-ca.pem");
        let error = PushClient::new(&Verify::CaBundle(path), false).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "cannot set up the HTTP client: CA bundle /nonexistent/hipkit-ca.pem: "
            ),
            "{error}"
        );
        let cause = std::error::Error::source(&error).expect("a source");
        assert!(cause.is::<std::io::Error>());
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
