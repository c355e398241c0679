//! Another HipChat (a real server, or hipkit's emulator): the call forwarded through the
//! `hipchat` crate's client with this destination's endpoint and token, for migrations. A
//! shared file is shared again (`POST /v2/room/{room}/share/file`), bytes and message.

use super::{Kind, secret};
use crate::accepted::{Accepted, CallKind};
use crate::config::{ConfigError, SecretSource};
use crate::deliver::Sender;
use async_trait::async_trait;
use hipchat::{FileShare, PrivateMessage, RoomMessage, RoomRef, UserRef};
use hipkit_transport::TransportError;
use serde::Deserialize;

/// `kind = "hipchat"`: `endpoint`, `token` (a secret), optional `room` (the caller's room
/// name when absent), `accept_invalid_certs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HipChatConfig {
    /// The server's base URL.
    pub endpoint: String,
    /// Its API token.
    pub token: SecretSource,
    /// The room to post to; the caller's room (by name) when absent.
    #[serde(default)]
    pub room: Option<String>,
    /// Accept a self-signed certificate (test servers only).
    #[serde(default)]
    pub accept_invalid_certs: bool,
}

/// A HipChat server.
pub struct HipChat {
    client: hipchat::Client,
    room: Option<String>,
}

impl HipChatConfig {
    /// Reads the token and builds the client.
    pub fn build(&self, name: &str) -> Result<HipChat, ConfigError> {
        let config = hipchat::ClientConfig {
            endpoint: Some(self.endpoint.clone()),
            token: Some(secret(name, "token", &self.token)?),
            accept_invalid_certs: self.accept_invalid_certs,
            ..hipchat::ClientConfig::default()
        };
        let client = config.build().map_err(|e| ConfigError::Destination {
            name: name.to_owned(),
            message: e.to_string(),
        })?;
        Ok(HipChat {
            client,
            room: self.room.clone(),
        })
    }
}

#[async_trait]
impl Kind for HipChat {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        sender.pace().await;
        let room = || RoomRef::parse(self.room.as_deref().unwrap_or(&accepted.to));
        match accepted.call {
            CallKind::Notification => {
                self.client
                    .send_notification(&room(), &accepted.message)
                    .await?;
            }
            CallKind::File => match accepted
                .file
                .as_ref()
                .and_then(|f| f.bytes().map(|d| (f, d)))
            {
                Some((note, data)) => {
                    let message = &accepted.message.message;
                    let share = FileShare {
                        message: (!message.is_empty()).then(|| message.clone()),
                        filename: note.name.clone(),
                        content_type: note.content_type.clone(),
                        data: data.into(),
                    };
                    self.client.share_file_with_room(&room(), &share).await?;
                }
                None => {
                    let mut n = accepted.message.clone();
                    n.message = accepted.text();
                    self.client.send_notification(&room(), &n).await?;
                }
            },
            CallKind::Message => {
                let m = RoomMessage {
                    message: accepted.message.message.clone(),
                };
                self.client.send_room_message(&room(), &m).await?;
            }
            CallKind::Private => {
                let user = accepted.address.as_deref().unwrap_or(&accepted.to);
                let m = PrivateMessage {
                    message: accepted.message.message.clone(),
                    notify: accepted.message.notify,
                    message_format: accepted.message.message_format,
                };
                self.client
                    .send_private_message(&UserRef::parse(user), &m)
                    .await?;
            }
        }
        Ok(())
    }

    fn takes_files(&self) -> bool {
        true
    }
}
