//! A transport for testing code that sends: records every message and succeeds, or fails
//! every send with a chosen error, so error paths can be tested without a server (lettre's
//! stub transport).

use crate::memory::SentLog;
use crate::{Delivery, Message, Transport, TransportError};
use async_trait::async_trait;
use hipchat::{ApiError, RateLimit, Validate};

/// The failure a [`StubTransport`] answers every send with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StubError {
    /// HipChat answers with this HTTP status and its error envelope (503, 401, 404 ...).
    Status(u16),
    /// HipChat answers 429; `reset` is the `X-Ratelimit-Reset` header (Unix seconds).
    RateLimited {
        /// When the rate-limit window resets, if the answer says.
        reset: Option<u64>,
    },
    /// The request times out.
    Timeout,
    /// The connection is refused.
    Unreachable,
}

impl StubError {
    /// The error one send fails with (a fresh value each time).
    pub fn to_error(self) -> TransportError {
        let status = |code: u16, rate_limit| {
            let body = serde_json::json!({"error": ApiError::new(code, "stub transport failure")});
            hipchat::Error::from_status(code, body.to_string().as_bytes(), rate_limit)
        };
        let error = match self {
            Self::Status(code) => status(code, RateLimit::default()),
            Self::RateLimited { reset } => status(
                429,
                RateLimit {
                    reset,
                    ..RateLimit::default()
                },
            ),
            Self::Timeout => hipchat::Error::Network {
                message: "operation timed out (stub transport)".into(),
                timeout: true,
            },
            Self::Unreachable => hipchat::Error::Network {
                message: "connection refused (stub transport)".into(),
                timeout: false,
            },
        };
        TransportError::from(error)
    }
}

/// Validates and records every message, then succeeds or fails as configured; clones
/// share the record.
#[derive(Debug, Clone)]
pub struct StubTransport {
    sent: SentLog,
    failure: Option<StubError>,
}

impl StubTransport {
    /// A stub whose sends all succeed.
    pub fn new_ok() -> Self {
        Self {
            sent: SentLog::default(),
            failure: None,
        }
    }

    /// A stub whose sends all fail with `error` (after recording the message).
    pub fn new_error(error: StubError) -> Self {
        Self {
            sent: SentLog::default(),
            failure: Some(error),
        }
    }

    /// Every valid message handed to `send` so far, failed ones included, in order.
    pub fn sent_messages(&self) -> Vec<Message> {
        self.sent.snapshot()
    }
}

#[async_trait]
impl Transport for StubTransport {
    async fn send(&self, message: &Message) -> Result<Delivery, TransportError> {
        message.validate()?;
        self.sent.push(message);
        match self.failure {
            None => Ok(Delivery::delivered()),
            Some(error) => Err(error.to_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Retry;
    use hipchat::RoomNotification;
    use std::time::{Duration, UNIX_EPOCH};

    fn note(text: &str) -> Message {
        Message::room("Ops", RoomNotification::new(text))
    }

    #[tokio::test]
    async fn ok_records_and_succeeds() {
        let stub = StubTransport::new_ok();
        stub.send(&note("one")).await.unwrap();
        stub.clone().send(&note("two")).await.unwrap();
        let texts: Vec<String> = stub
            .sent_messages()
            .into_iter()
            .map(|m| m.body.message)
            .collect();
        assert_eq!(texts, ["one", "two"], "clones share the record");
        assert!(matches!(
            stub.send(&note("")).await,
            Err(TransportError::Invalid(_))
        ));
        assert_eq!(
            stub.sent_messages().len(),
            2,
            "invalid messages are not recorded"
        );
    }

    #[tokio::test]
    async fn errors_are_the_real_hipchat_errors_and_classify_like_them() {
        let unavailable = StubTransport::new_error(StubError::Status(503));
        let err = unavailable.send(&note("x")).await.unwrap_err();
        assert!(matches!(
            &err,
            TransportError::HipChat(e) if e.status() == Some(503)
        ));
        assert_eq!(err.retry(), Retry::Backoff);
        assert!(err.to_string().contains("stub transport failure"), "{err}");
        assert_eq!(
            unavailable.sent_messages().len(),
            1,
            "failed sends are recorded"
        );

        let unauthorized = StubTransport::new_error(StubError::Status(401));
        assert_eq!(
            unauthorized.send(&note("x")).await.unwrap_err().retry(),
            Retry::Never
        );

        let limited = StubTransport::new_error(StubError::RateLimited { reset: Some(100) });
        assert_eq!(
            limited.send(&note("x")).await.unwrap_err().retry(),
            Retry::At(Some(UNIX_EPOCH + Duration::from_secs(100)))
        );

        for (error, timeout) in [(StubError::Timeout, true), (StubError::Unreachable, false)] {
            let err = StubTransport::new_error(error)
                .send(&note("x"))
                .await
                .unwrap_err();
            assert!(matches!(
                err,
                TransportError::HipChat(hipchat::Error::Network { timeout: t, .. }) if t == timeout
            ));
            assert_eq!(err.retry(), Retry::Backoff);
        }
    }
}
