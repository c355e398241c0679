//! One HTTP request to a destination, and the one place that reads its answer for every
//! kind: 2xx delivered; 429 waits for `Retry-After` or the body's `retry_after` (Discord,
//! seconds) / `retry_after_ms` (Matrix); anything else refused with the platform's answer.
//! The outbox's classification ([`hipkit_transport::TransportError::retry`]) then retries
//! 429s at that time and 5xx / network failures with backoff, and dead-letters other 4xx.

use hipkit_transport::TransportError;
use hipkit_transport::push::PushError;
use reqwest::Method;
use std::time::{Duration, SystemTime};

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a refusing answer is kept (it becomes the dead letter's reason).
const ANSWER_CHARS: usize = 500;

/// A request ready to send. Its URL and headers may hold secrets: it is never logged,
/// stored or shown (`Debug` shows the method only).
#[derive(Clone)]
pub struct Request {
    /// POST or PUT.
    pub method: Method,
    /// Where.
    pub url: String,
    /// Headers (`Content-Type`, `Authorization`).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A POST of a JSON body.
    pub fn json(url: impl Into<String>, body: &serde_json::Value) -> Self {
        Self {
            method: Method::POST,
            url: url.into(),
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: body.to_string().into_bytes(),
        }
    }

    /// A POST of `multipart/form-data` (RFC 7578) made of `parts`.
    pub fn form_data(url: impl Into<String>, parts: &[FormPart<'_>]) -> Self {
        let boundary = format!("hipkit-{}", uuid::Uuid::new_v4().simple());
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let mut disposition = format!(
                "Content-Disposition: form-data; name=\"{}\"",
                quoted(part.name)
            );
            if let Some(filename) = part.filename {
                disposition.push_str(&format!("; filename=\"{}\"", quoted(filename)));
            }
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(b"\r\n");
            if let Some(content_type) = part.content_type {
                body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(part.data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Self {
            method: Method::POST,
            url: url.into(),
            headers: vec![(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )],
            body,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, Copy)]
pub struct FormPart<'a> {
    /// The field's name (`payload_json`, `files[0]`).
    pub name: &'a str,
    /// The file name, for a file.
    pub filename: Option<&'a str>,
    /// The part's type.
    pub content_type: Option<&'a str>,
    /// Its bytes.
    pub data: &'a [u8],
}

/// A name fit for a quoted `Content-Disposition` parameter: quotes, backslashes and line
/// breaks (which would end the header) replaced.
fn quoted(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '"' | '\\' | '\r' | '\n' => '_',
            c => c,
        })
        .collect()
}

/// The first of `keys` that a successful JSON `answer` holds as text starting with `prefix`
/// (an upload's link); a missing one is the platform's fault, retried like a 502.
pub fn answered(answer: &str, keys: &[&str], prefix: &str) -> Result<String, TransportError> {
    let json: serde_json::Value = serde_json::from_str(answer).unwrap_or_default();
    keys.iter()
        .find_map(|k| json[*k].as_str().filter(|v| v.starts_with(prefix)))
        .map(str::to_owned)
        .ok_or_else(|| {
            PushError::Status {
                status: 502,
                body: format!(
                    "the upload's answer has no `{}` starting with {prefix}",
                    keys.join("` or `")
                ),
                retry_at: None,
            }
            .into()
        })
}

/// Sends `request` once and reads the answer: its body when it is a success.
pub async fn send(client: &reqwest::Client, request: &Request) -> Result<String, PushError> {
    let mut req = client
        .request(request.method.clone(), &request.url)
        .body(request.body.clone());
    for (name, value) in &request.headers {
        req = req.header(*name, value.as_str());
    }
    // reqwest's errors name the URL, which may carry a webhook's secret.
    let resp = req
        .send()
        .await
        .map_err(|e| PushError::Network(e.without_url()))?;
    let status = resp.status().as_u16();
    let header_wait = retry_after_header(resp.headers());
    let body = resp.text().await.unwrap_or_default();
    classify(status, header_wait, &body).map(|()| body)
}

/// The answer's verdict: `Ok` for 2xx, else the status, the start of the body and, for a
/// 429 or 503, when to try again.
pub fn classify(status: u16, header_wait: Option<SystemTime>, body: &str) -> Result<(), PushError> {
    if status / 100 == 2 {
        return Ok(());
    }
    let retry_at = match status {
        429 | 503 => header_wait.or_else(|| retry_after_body(body)),
        _ => None,
    };
    Err(PushError::Status {
        status,
        body: body.chars().take(ANSWER_CHARS).collect(),
        retry_at,
    })
}

/// `Retry-After`: delay seconds or an HTTP date.
fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<SystemTime> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    match value.parse::<f64>() {
        Ok(secs) => after_secs(secs),
        Err(_) => httpdate::parse_http_date(value).ok(),
    }
}

fn after_secs(secs: f64) -> Option<SystemTime> {
    (secs.is_finite() && secs >= 0.0)
        .then(|| SystemTime::now() + Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The body's wait: Discord's `retry_after` (seconds, may be fractional) or Matrix's
/// `retry_after_ms`.
fn retry_after_body(body: &str) -> Option<SystemTime> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    if let Some(ms) = json
        .get("retry_after_ms")
        .and_then(serde_json::Value::as_f64)
    {
        return after_secs(ms / 1000.0);
    }
    json.get("retry_after")
        .and_then(serde_json::Value::as_f64)
        .and_then(after_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hipkit_transport::{Retry, TransportError};

    fn verdict(status: u16, header: Option<SystemTime>, body: &str) -> Retry {
        TransportError::from(classify(status, header, body).unwrap_err()).retry()
    }

    fn wait_of(r: Retry) -> Duration {
        match r {
            Retry::At(Some(at)) => at.duration_since(SystemTime::now()).unwrap_or_default(),
            other => panic!("expected a wait, got {other:?}"),
        }
    }

    #[test]
    fn an_upload_answer_gives_its_link_or_a_retried_refusal() {
        let zulip = r#"{"result": "success", "uri": "/user_uploads/1/ab/x.log"}"#;
        assert_eq!(
            answered(zulip, &["url", "uri"], "/user_uploads/").unwrap(),
            "/user_uploads/1/ab/x.log"
        );
        let matrix = r#"{"content_uri": "https://elsewhere/x"}"#;
        let refused = answered(matrix, &["content_uri"], "mxc://").unwrap_err();
        assert_eq!(refused.retry(), Retry::Backoff);
        assert!(answered("not json", &["content_uri"], "mxc://").is_err());
    }

    #[test]
    fn a_form_keeps_bytes_and_no_name_breaks_its_header() {
        let data = [0u8, 13, 10, 255];
        let r = Request::form_data(
            "http://x/",
            &[FormPart {
                name: "files[0]",
                filename: Some("a\"b\r\nc.bin"),
                content_type: Some("application/octet-stream"),
                data: &data,
            }],
        );
        let body = r.body;
        let header = String::from_utf8_lossy(&body);
        assert!(header.contains("name=\"files[0]\"; filename=\"a_b__c.bin\"\r\n"));
        let at = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(&body[at..at + 4], &data);
        let (_, boundary) = r.headers[0].1.split_once("boundary=").unwrap();
        assert!(body.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()));
    }

    #[test]
    fn answers_are_classified_in_one_place() {
        assert!(classify(200, None, "ok").is_ok());
        assert!(classify(204, None, "").is_ok());
        assert_eq!(verdict(500, None, ""), Retry::Backoff);
        assert_eq!(verdict(502, None, ""), Retry::Backoff);
        assert_eq!(verdict(400, None, "invalid_payload"), Retry::Never);
        assert_eq!(verdict(404, None, "no_service"), Retry::Never);
        assert_eq!(verdict(429, None, "{}"), Retry::At(None));
        let header = SystemTime::now() + Duration::from_secs(7);
        assert_eq!(verdict(429, Some(header), ""), Retry::At(Some(header)));
        let discord = wait_of(verdict(
            429,
            None,
            r#"{"message": "rate limited", "retry_after": 2.5, "global": false}"#,
        ));
        assert!(discord > Duration::from_secs(2) && discord <= Duration::from_millis(2500));
        let matrix = wait_of(verdict(
            429,
            None,
            r#"{"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500}"#,
        ));
        assert!(matrix > Duration::from_secs(1) && matrix <= Duration::from_millis(1500));
    }

    #[test]
    fn the_platforms_answer_is_kept_for_the_dead_letter() {
        let e = classify(403, None, "action_prohibited").unwrap_err();
        assert!(e.to_string().contains("action_prohibited"), "{e}");
    }
}
