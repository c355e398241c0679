//! Transport errors, and the one place that decides retry / don't retry.

use crate::push::PushError;
#[cfg(feature = "outbox")]
use hipkit_store::StoreError;
use std::path::PathBuf;
#[cfg(feature = "outbox")]
use std::sync::Arc;
use std::time::SystemTime;
use thiserror::Error;

/// Why a transport could not send.
#[derive(Debug, Error)]
pub enum TransportError {
    /// The message breaks a HipChat limit; it was not sent.
    #[error(transparent)]
    Invalid(#[from] hipchat::ValidationError),
    /// HipChat answered (or could not be reached); see [`TransportError::retry`].
    #[error(transparent)]
    HipChat(hipchat::Error),
    /// Writing the message failed (file transport).
    #[error("cannot write message to {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The message could not be turned into JSON (file and outbox transports).
    #[error("cannot serialise message: {0}")]
    Encode(#[source] serde_json::Error),
    /// Persisting the message failed (outbox); it was not accepted. Shared: one failed
    /// commit fails every message of its batch with the same error.
    #[cfg(feature = "outbox")]
    #[error("cannot persist message: {0}")]
    Store(#[source] Arc<StoreError>),
    /// The transport is shutting down and accepts nothing more.
    #[error("shutting down")]
    ShuttingDown,
    /// The deadline passed before the message was accepted: it was not stored and will not
    /// be sent (sending it again is safe).
    #[error("not accepted before the deadline; the message was not stored")]
    TimedOut,
    /// The deadline passed while a direct transport was still sending: the message may or
    /// may not have arrived.
    #[error("the deadline passed while sending; the message may have been delivered")]
    OutcomeUnknown,
    /// The idempotency key was already used for a different message.
    #[error("idempotency key `{key}` was already used for a different message (id {id})")]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The id of the message stored under it.
        id: String,
    },
    /// Only the outbox can deduplicate by idempotency key.
    #[error("idempotency keys need the outbox delivery backend")]
    IdempotencyUnsupported,
    /// An HTTP push was refused or could not be sent; see [`TransportError::retry`].
    #[error(transparent)]
    Push(#[from] PushError),
    /// A parcel's courier is not (or no longer) configured, or cannot carry it.
    #[error("cannot deliver through `{via}`: {reason}")]
    Undeliverable {
        /// The courier's name.
        via: String,
        /// Why not.
        reason: String,
    },
}

#[cfg(feature = "outbox")]
impl From<StoreError> for TransportError {
    fn from(e: StoreError) -> Self {
        Self::Store(Arc::new(e))
    }
}

impl From<hipchat::Error> for TransportError {
    fn from(e: hipchat::Error) -> Self {
        match e {
            hipchat::Error::Validation(v) => Self::Invalid(v),
            other => Self::HipChat(other),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Permanent: the message goes to the dead letters.
    Never,
    /// Rate limited: nothing may be sent with this token before the given time.
    At(Option<SystemTime>),
    /// Transient (5xx, timeout, connection error): back off and try again.
    Backoff,
}

impl TransportError {
    /// Classifies the failure, for HipChat and HTTP pushes alike: 429 → wait for the reset
    /// (HipChat's headers, or `Retry-After`); 5xx, network, storage → back off; any other
    /// 4xx, validation, a request that cannot be made, an unknown courier → dead.
    pub fn retry(&self) -> Retry {
        match self {
            Self::Push(PushError::Status {
                status: 429,
                retry_at,
                ..
            }) => Retry::At(*retry_at),
            Self::Push(PushError::Status { status, .. }) if *status >= 500 => Retry::Backoff,
            Self::Push(PushError::Network(e)) if !e.is_builder() => Retry::Backoff,
            Self::Push(_) | Self::Undeliverable { .. } => Retry::Never,
            Self::HipChat(hipchat::Error::RateLimited { rate_limit, .. }) => {
                Retry::At(rate_limit.retry_at())
            }
            Self::HipChat(e) if e.is_retryable() => Retry::Backoff,
            Self::HipChat(hipchat::Error::Decode { .. }) => Retry::Backoff,
            #[cfg(feature = "outbox")]
            Self::Store(_) => Retry::Backoff,
            Self::Io { .. } | Self::ShuttingDown | Self::TimedOut | Self::OutcomeUnknown => {
                Retry::Backoff
            }
            Self::HipChat(_)
            | Self::Invalid(_)
            | Self::Encode(_)
            | Self::IdempotencyConflict { .. }
            | Self::IdempotencyUnsupported => Retry::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hipchat::RateLimit;

    fn status(code: u16) -> TransportError {
        TransportError::from(hipchat::Error::from_status(
            code,
            b"{}",
            RateLimit::default(),
        ))
    }

    #[test]
    fn classification() {
        assert_eq!(status(500).retry(), Retry::Backoff);
        assert_eq!(status(503).retry(), Retry::Backoff);
        assert_eq!(status(401).retry(), Retry::Never);
        assert_eq!(status(404).retry(), Retry::Never);
        assert_eq!(status(400).retry(), Retry::Never);
        assert!(matches!(status(429).retry(), Retry::At(None)));
        let timeout = TransportError::HipChat(hipchat::Error::Network {
            message: "timed out".into(),
            timeout: true,
        });
        assert_eq!(timeout.retry(), Retry::Backoff);
    }

    fn push(status: u16, retry_at: Option<SystemTime>) -> TransportError {
        TransportError::Push(PushError::Status {
            status,
            body: String::new(),
            retry_at,
        })
    }

    #[test]
    fn http_pushes_are_classified_in_the_same_place() {
        assert_eq!(push(500, None).retry(), Retry::Backoff);
        assert_eq!(push(503, None).retry(), Retry::Backoff);
        assert_eq!(push(400, None).retry(), Retry::Never);
        assert_eq!(push(404, None).retry(), Retry::Never);
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        assert_eq!(push(429, Some(at)).retry(), Retry::At(Some(at)));
        assert_eq!(push(429, None).retry(), Retry::At(None));
        assert_eq!(
            TransportError::Push(PushError::CaBundleUnreadable {
                path: "ca.pem".into(),
                source: std::io::ErrorKind::NotFound.into(),
            })
            .retry(),
            Retry::Never
        );
        let gone = TransportError::Undeliverable {
            via: "http-1".into(),
            reason: "no such reporter".into(),
        };
        assert_eq!(gone.retry(), Retry::Never);
        assert_eq!(
            gone.to_string(),
            "cannot deliver through `http-1`: no such reporter"
        );
    }
}
