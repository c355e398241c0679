//! Matrix rooms through the client-server API:
//! `PUT {homeserver}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}` with the
//! access token as Bearer. The transaction id is made from the parcel's id (and the part's
//! number), so a retry of the same parcel is the same transaction: the homeserver answers
//! it with the first event and never posts twice. 429 `M_LIMIT_EXCEEDED` carries
//! `retry_after_ms`, which [`crate::deliver::send`] honours.
//! <https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid>

use super::{Kind, checked_url, secret, translated};
use crate::accepted::Accepted;
use crate::config::{ConfigError, SecretSource};
use crate::deliver::{Request, Sender};
use async_trait::async_trait;
use hipkit_translate::{Options, Platform};
use hipkit_transport::TransportError;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde::Deserialize;

/// `kind = "matrix"`: `homeserver`, `room_id` (`!abc:example.org`), `access_token` (a
/// secret).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// The homeserver's base URL.
    pub homeserver: String,
    /// The room's id.
    pub room_id: String,
    /// The posting user's access token.
    pub access_token: SecretSource,
    /// How the message is translated (`mass_mention`, `author`, `mentions`).
    #[serde(flatten)]
    pub options: Options,
}

/// A Matrix room.
pub struct Matrix {
    base: String,
    authorization: String,
    options: Options,
}

impl MatrixConfig {
    /// Reads the access token and checks the homeserver URL.
    pub fn build(&self, name: &str) -> Result<Matrix, ConfigError> {
        let token = secret(name, "access_token", &self.access_token)?;
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
            options: self.options.clone(),
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
        let bodies = translated(Platform::Matrix, accepted, &self.options);
        for (n, body) in bodies.iter().enumerate() {
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
