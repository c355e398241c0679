//! Straight to HipChat through [`hipchat::Client`].

use crate::{Delivery, Destination, Message, Transport, TransportError};
use async_trait::async_trait;
use hipchat::{Client, RoomRef, UserRef, Validate};

/// Sends each message with one API call.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: Client,
}

impl HttpTransport {
    /// Wraps a configured client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Transport for HttpTransport {
    async fn send(&self, message: &Message) -> Result<Delivery, TransportError> {
        message.validate()?;
        match &message.to {
            Destination::Room(room) => {
                self.client
                    .send_notification(&RoomRef::parse(room), &message.body)
                    .await?;
            }
            Destination::User(user) => {
                self.client
                    .send_private_message(&UserRef::parse(user), &message.private_message())
                    .await?;
            }
        }
        Ok(Delivery::delivered())
    }
}
