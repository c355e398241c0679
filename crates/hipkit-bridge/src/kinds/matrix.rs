//! Matrix rooms through the client-server API:
//! `PUT {homeserver}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}` with the
//! access token as Bearer. The transaction id is made from the parcel's id (and the part's
//! number), so a retry of the same parcel is the same transaction: the homeserver answers
//! it with the first event and never posts twice. 429 `M_LIMIT_EXCEEDED` carries
//! `retry_after_ms`, which [`crate::deliver::send`] honours.
//! <https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid>

use super::{Kind, checked_url, plain_text, secret, split};
use crate::accepted::Accepted;
use crate::config::{ConfigError, SecretSource};
use crate::deliver::{Request, Sender};
use async_trait::async_trait;
use hipchat::MessageFormat;
use hipkit_transport::TransportError;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

/// Kept well under Matrix's 64 KiB event limit.
const MAX_BODY: usize = 16_000;

/// `kind = "matrix"`: `homeserver`, `room_id` (`!abc:example.org`), `access_token` (a
/// secret).
#[derive(Debug, Clone, Deserialize)]
pub struct MatrixConfig {
    /// The homeserver's base URL.
    pub homeserver: String,
    /// The room's id.
    pub room_id: String,
    /// The posting user's access token.
    pub access_token: SecretSource,
}

/// A Matrix room.
pub struct Matrix {
    base: String,
    authorization: String,
}

impl MatrixConfig {
    /// Reads the access token and checks the homeserver URL.
    pub fn build(&self, name: &str) -> Result<Matrix, ConfigError> {
        let token = secret(name, &self.access_token)?;
        let home = checked_url(
            name,
            "homeserver",
            &::hipchat::Token::new(self.homeserver.clone()),
        )?;
        Ok(Matrix {
            base: format!(
                "{}/_matrix/client/v3/rooms/{}/send/m.room.message",
                home.trim_end_matches('/'),
                utf8_percent_encode(&self.room_id, NON_ALPHANUMERIC)
            ),
            authorization: format!("Bearer {}", token.expose()),
        })
    }
}

/// The transaction id of part `n` of the parcel `id`.
pub fn txn_id(id: &str, n: usize) -> String {
    format!("hipkit-{id}-{n}")
}

#[async_trait]
impl Kind for Matrix {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        let msgtype = if accepted.message.notify {
            "m.text"
        } else {
            "m.notice"
        };
        let html = accepted.format() == MessageFormat::Html && accepted.file.is_none();
        let parts = split(&plain_text(accepted), MAX_BODY);
        for (n, part) in parts.iter().enumerate() {
            let mut body = json!({ "msgtype": msgtype, "body": part });
            if html && parts.len() == 1 {
                let formatted = match accepted.author() {
                    Some(a) => format!(
                        "<b>{}</b>: {}",
                        ::hipchat::escape_html(a),
                        accepted.message.message
                    ),
                    None => accepted.message.message.clone(),
                };
                body["format"] = json!("org.matrix.custom.html");
                body["formatted_body"] = json!(formatted);
            }
            let request = Request {
                method: Method::PUT,
                url: format!("{}/{}", self.base, txn_id(&accepted.id, n)),
                headers: vec![
                    ("Content-Type", "application/json".to_owned()),
                    ("Authorization", self.authorization.clone()),
                ],
                body: body.to_string().into_bytes(),
            };
            sender.send(&request).await?;
        }
        Ok(())
    }
}
