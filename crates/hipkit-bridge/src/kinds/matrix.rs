//! Matrix rooms through the client-server API:
//! `PUT {homeserver}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}` with the
//! access token as Bearer. The transaction id is made from the parcel's id (and the part's
//! number), so a retry of the same parcel is the same transaction: the homeserver answers
//! it with the first event and never posts twice. 429 `M_LIMIT_EXCEEDED` carries
//! `retry_after_ms`, which [`crate::deliver::send`] honours.
//! <https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid>
//!
//! A shared file is uploaded (`POST {homeserver}/_matrix/media/v3/upload?filename=...`, the
//! bytes as the body; <https://spec.matrix.org/v1.11/client-server-api/#post_matrixmediav3upload>)
//! and posted as an `m.file` (or, for an image, `m.image`) event with the returned
//! `content_uri` (<https://spec.matrix.org/v1.11/client-server-api/#mfile>), after the
//! accompanying message's parts; the upload is skipped when an earlier attempt already
//! delivered the file's event.

use super::{Kind, checked_url, secret, translated};
use crate::accepted::{Accepted, FileNote};
use crate::config::{ConfigError, SecretSource};
use crate::deliver::{Request, Sender, send};
use async_trait::async_trait;
use hipkit_translate::{Options, Platform};
use hipkit_transport::TransportError;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

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
    /// The media upload endpoint.
    upload: String,
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
            upload: format!("{}/_matrix/media/v3/upload", home.trim_end_matches('/')),
            authorization: format!("Bearer {}", token.expose()),
            options: self.options.clone(),
        })
    }
}

/// The transaction id of part `n` of the parcel `id`.
pub fn txn_id(id: &str, n: usize) -> String {
    format!("hipkit-{id}-{n}")
}

impl Matrix {
    /// The `PUT` of event `body` as part `n` of parcel `id`.
    fn event(&self, id: &str, n: usize, body: &Value) -> Request {
        Request {
            method: Method::PUT,
            url: format!("{}/{}", self.base, txn_id(id, n)),
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                ("Authorization", self.authorization.clone()),
            ],
            body: body.to_string().into_bytes(),
        }
    }

    /// Uploads the file; its `mxc://` URI.
    async fn upload(
        &self,
        note: &FileNote,
        data: Vec<u8>,
        sender: &Sender<'_>,
    ) -> Result<String, TransportError> {
        let request = Request {
            method: Method::POST,
            url: format!(
                "{}?filename={}",
                self.upload,
                utf8_percent_encode(&note.name, NON_ALPHANUMERIC)
            ),
            headers: vec![
                ("Content-Type", note.content_type.clone()),
                ("Authorization", self.authorization.clone()),
            ],
            body: data,
        };
        let answer = sender.upload(&request).await?;
        send::answered(&answer, &["content_uri"], "mxc://")
    }
}

/// The `m.file` (or `m.image`) event content for `note` uploaded as `uri`.
fn file_event(note: &FileNote, uri: &str) -> Value {
    let msgtype = if note.content_type.starts_with("image/") {
        "m.image"
    } else {
        "m.file"
    };
    json!({
        "msgtype": msgtype,
        "body": note.name,
        "filename": note.name,
        "url": uri,
        "info": {"mimetype": note.content_type, "size": note.size},
    })
}

#[async_trait]
impl Kind for Matrix {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        let upload = accepted
            .file
            .as_ref()
            .and_then(|f| f.bytes().map(|data| (f, data)));
        let Some((note, data)) = upload else {
            let bodies = translated(Platform::Matrix, accepted, &self.options, None);
            sender.plan(bodies.len());
            for (n, body) in bodies.iter().enumerate() {
                sender.send(&self.event(&accepted.id, n, body)).await?;
            }
            return Ok(());
        };
        // The accompanying message first (when there is one), then the file's event.
        let mut message = accepted.clone();
        message.file = None;
        let bodies = if message.message.message.is_empty() {
            Vec::new()
        } else {
            translated(Platform::Matrix, &message, &self.options, None)
        };
        sender.plan(bodies.len() + 1);
        for (n, body) in bodies.iter().enumerate() {
            sender.send(&self.event(&accepted.id, n, body)).await?;
        }
        if sender.pending().await? {
            let uri = self.upload(note, data, sender).await?;
            let event = file_event(note, &uri);
            sender
                .send(&self.event(&accepted.id, bodies.len(), &event))
                .await?;
        }
        Ok(())
    }

    fn takes_files(&self) -> bool {
        true
    }
}
