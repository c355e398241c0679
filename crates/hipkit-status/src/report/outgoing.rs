//! One report ready to leave: what it is, how to send it, and how to show it with its
//! secrets redacted.

use crate::http::{HttpDelivery, PushError, PushRequest};
use hipkit_transport::{
    Delivery, Destination, Message, Retry, SendOptions, Transport, TransportError,
};
use std::sync::Arc;

/// A report, and the reporter it came from.
#[derive(Clone)]
pub struct Outgoing {
    /// The reporter's name.
    pub reporter: String,
    /// What to send.
    pub kind: OutgoingKind,
}

/// What a report sends.
#[derive(Clone)]
pub enum OutgoingKind {
    /// A HipChat room notification or private message.
    HipChat {
        /// The message.
        message: Box<Message>,
        /// Its transport (the outbox under `serve`).
        transport: Arc<dyn Transport>,
        /// The HipChat server, for [`Outgoing::describe`].
        endpoint: Arc<str>,
    },
    /// An HTTP push.
    Http {
        /// The request.
        request: PushRequest,
        /// How it is delivered.
        delivery: Arc<dyn HttpDelivery>,
    },
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A report that was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The HipChat transport refused it or could not reach HipChat.
    #[error(transparent)]
    HipChat(#[from] TransportError),
    /// The HTTP receiver refused it or could not be reached.
    #[error(transparent)]
    Http(#[from] PushError),
}

impl SendError {
    /// Whether trying again may help, and when.
    pub fn retry(&self) -> Retry {
        match self {
            Self::HipChat(e) => e.retry(),
            Self::Http(e) => e.retry(),
        }
    }
}

impl Outgoing {
    /// A HipChat message from `reporter`.
    pub fn hipchat(
        reporter: &str,
        message: Message,
        transport: Arc<dyn Transport>,
        endpoint: &Arc<str>,
    ) -> Self {
        Self {
            reporter: reporter.to_owned(),
            kind: OutgoingKind::HipChat {
                message: Box::new(message),
                transport,
                endpoint: endpoint.clone(),
            },
        }
    }

    /// An HTTP push from `reporter`.
    pub fn http(reporter: &str, request: PushRequest, delivery: Arc<dyn HttpDelivery>) -> Self {
        Self {
            reporter: reporter.to_owned(),
            kind: OutgoingKind::Http { request, delivery },
        }
    }

    /// The HipChat message, if this is one.
    pub fn message(&self) -> Option<&Message> {
        match &self.kind {
            OutgoingKind::HipChat { message, .. } => Some(message.as_ref()),
            OutgoingKind::Http { .. } => None,
        }
    }

    /// The HTTP push, if this is one.
    pub fn push_request(&self) -> Option<&PushRequest> {
        match &self.kind {
            OutgoingKind::Http { request, .. } => Some(request),
            OutgoingKind::HipChat { .. } => None,
        }
    }

    /// Where it goes, e.g. `room:Build Room`.
    pub fn destination(&self) -> String {
        match &self.kind {
            OutgoingKind::HipChat { message, .. } => message.to.to_string(),
            OutgoingKind::Http { request, .. } => request.url.clone(),
        }
    }

    /// Sends (or, through the outbox, durably queues) the report once.
    pub async fn send(&self, options: &SendOptions) -> Result<Delivery, SendError> {
        match &self.kind {
            OutgoingKind::HipChat {
                message, transport, ..
            } => Ok(transport.send_with(message, options).await?.delivery),
            OutgoingKind::Http { request, delivery } => {
                let push = delivery.deliver(request);
                match options.deadline {
                    None => Ok(push.await?),
                    Some(at) => tokio::time::timeout_at(at, push)
                        .await
                        .map_err(|_| TransportError::OutcomeUnknown)?
                        .map_err(SendError::Http),
                }
            }
        }
    }

    /// The HTTP request this report makes, as text, with every secret redacted.
    pub fn describe(&self) -> String {
        match &self.kind {
            OutgoingKind::HipChat {
                message, endpoint, ..
            } => {
                let (path, body) = match &message.to {
                    Destination::Room(_) => {
                        let room = message
                            .room_ref()
                            .map(|r| r.to_segment())
                            .unwrap_or_default();
                        let body = serde_json::to_string_pretty(&message.body);
                        (format!("room/{room}/notification"), body)
                    }
                    Destination::User(_) => {
                        let user = message
                            .user_ref()
                            .map(|u| u.to_segment())
                            .unwrap_or_default();
                        let body = serde_json::to_string_pretty(&message.private_message());
                        (format!("user/{user}/message"), body)
                    }
                };
                format!(
                    "# reporter {}\nPOST {endpoint}/v2/{path}?auth_token=<redacted>\nContent-Type: application/json\n\n{}\n",
                    self.reporter,
                    body.unwrap_or_default()
                )
            }
            OutgoingKind::Http { request, .. } => {
                format!("# reporter {}\n{}", self.reporter, request.describe())
            }
        }
    }
}
