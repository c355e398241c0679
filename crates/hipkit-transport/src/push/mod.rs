//! The generic HTTP destination: a POST of a body to a URL (a build status receiver, any
//! webhook). [`request`] is the POST ready to send, whose secret parts never show;
//! [`stored`] the form the outbox keeps, which holds no secret; [`client`] sends it (TLS
//! verification, debug logging with every secret redacted).

mod client;
mod request;
mod stored;

pub use client::{PUSH_TIMEOUT, PushClient, PushError, Verify};
pub use request::{Header, PushRequest, SHOWN_HEADERS, header_is_shown, redact_url};
pub use stored::{HttpPush, StoredHeader};
