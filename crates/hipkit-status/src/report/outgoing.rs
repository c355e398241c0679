//! One report ready to leave: what it is, how to send it, and how to show it with its
//! secrets redacted.

use hipkit_transport::outbox::Outbox;
use hipkit_transport::push::PushRequest;
use hipkit_transport::{
    Couriers, Delivery, Destination, Message, Parcel, ParcelItem, SendOptions, Transport,
    TransportError,
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

/// Where parcels (HTTP pushes, HipChat messages with a reporter's own client) go.
#[derive(Clone)]
pub enum ParcelPost {
    /// Durably queued in the outbox, whose workers deliver them through the couriers.
    Queue(Outbox),
    /// Delivered at once through the couriers (`hipkit report`, a backend without outbox).
    Direct(Arc<dyn Couriers>),
}

impl ParcelPost {
    /// Queues or delivers `parcel`, answering by the deadline if one is given.
    pub async fn post(
        &self,
        parcel: &Parcel,
        options: &SendOptions,
    ) -> Result<Delivery, TransportError> {
        match self {
            Self::Queue(outbox) => Ok(outbox.send_parcel(parcel, options).await?.delivery),
            Self::Direct(couriers) => match options.deadline {
                None => couriers.deliver(parcel).await,
                Some(at) => tokio::time::timeout_at(at, couriers.deliver(parcel))
                    .await
                    .map_err(|_| TransportError::OutcomeUnknown)?,
            },
        }
    }
}

/// How a HipChat message leaves.
#[derive(Clone)]
pub enum HipChatRoute {
    /// Through the shared transport (the outbox under `serve`), with `[hipchat]`'s client.
    Shared(Arc<dyn Transport>),
    /// As a parcel for the reporter's own client (its token, endpoint or verify).
    Own(ParcelPost),
}

/// What a report sends.
#[derive(Clone)]
pub enum OutgoingKind {
    /// A HipChat room notification or private message.
    HipChat {
        /// The message.
        message: Box<Message>,
        /// How it leaves.
        route: HipChatRoute,
        /// The HipChat server, for [`Outgoing::describe`].
        endpoint: Arc<str>,
    },
    /// An HTTP push.
    Http {
        /// The request (with its secrets, which are never stored).
        request: PushRequest,
        /// Where it goes.
        post: ParcelPost,
    },
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Outgoing {
    /// A HipChat message from `reporter`.
    pub fn hipchat(
        reporter: &str,
        message: Message,
        route: HipChatRoute,
        endpoint: &Arc<str>,
    ) -> Self {
        Self {
            reporter: reporter.to_owned(),
            kind: OutgoingKind::HipChat {
                message: Box::new(message),
                route,
                endpoint: endpoint.clone(),
            },
        }
    }

    /// An HTTP push from `reporter`.
    pub fn http(reporter: &str, request: PushRequest, post: ParcelPost) -> Self {
        Self {
            reporter: reporter.to_owned(),
            kind: OutgoingKind::Http { request, post },
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

    /// Where it goes, e.g. `room:Build Room` (URLs without credentials or query).
    pub fn destination(&self) -> String {
        match &self.kind {
            OutgoingKind::HipChat { message, .. } => message.to.to_string(),
            OutgoingKind::Http { request, .. } => hipkit_transport::push::redact_url(&request.url),
        }
    }

    /// The outbox lane of the report: its reporter (the courier of its parcels) and its
    /// destination. Reports sharing a lane are delivered in the order they were queued;
    /// other destinations (a build's private message and its room notification, say) go in
    /// parallel.
    pub fn lane(&self) -> String {
        format!("{} {}", self.reporter, self.destination())
    }

    /// Sends (or, through the outbox, durably queues) the report once.
    pub async fn send(&self, options: &SendOptions) -> Result<Delivery, TransportError> {
        let parcel = |item| Parcel {
            via: self.reporter.clone(),
            item,
        };
        match &self.kind {
            OutgoingKind::HipChat {
                message,
                route: HipChatRoute::Shared(transport),
                ..
            } => Ok(transport.send_with(message, options).await?.delivery),
            OutgoingKind::HipChat {
                message,
                route: HipChatRoute::Own(post),
                ..
            } => {
                let item = ParcelItem::Message(message.clone());
                post.post(&parcel(item), options).await
            }
            OutgoingKind::Http { request, post } => {
                let item = ParcelItem::Http(request.stored());
                post.post(&parcel(item), options).await
            }
        }
    }

    /// Checks the report as its transport would at [`Outgoing::send`], without queueing it:
    /// a build's reports are all checked before any is committed.
    pub fn validate(&self) -> Result<(), hipchat::ValidationError> {
        use hipchat::Validate;
        let item = match &self.kind {
            OutgoingKind::HipChat { message, .. } => return message.validate(),
            OutgoingKind::Http { request, .. } => ParcelItem::Http(request.stored()),
        };
        Parcel {
            via: self.reporter.clone(),
            item,
        }
        .validate()
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
