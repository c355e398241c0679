//! The reporters as couriers: parcels queued for a reporter (an HTTP push, a HipChat message
//! for a reporter with its own token or server) are delivered with that reporter's live
//! configuration, looked up by name when the parcel leaves: its URL, credentials, secret
//! headers, TLS settings and `debug` for HTTP; its own HipChat client for messages. None of
//! these is ever stored with the parcel.

use crate::http::{HttpConfig, PushClient, live_request};
use async_trait::async_trait;
use hipkit_transport::{Couriers, Delivery, Parcel, ParcelItem, Transport, TransportError};
use std::collections::HashMap;
use std::sync::Arc;

/// How one configured reporter delivers parcels.
enum Courier {
    /// A HipChat reporter with its own client (token, endpoint or verify).
    HipChat(Arc<dyn Transport>),
    /// A HipChat reporter that uses the shared `[hipchat]` client: it carries no parcels.
    Shared,
    /// An HTTP reporter.
    Http {
        /// Its live configuration.
        config: Box<HttpConfig>,
        /// Its client (`verify`, `debug`).
        client: PushClient,
    },
}

/// Every configured reporter, by name, as a courier of the outbox's parcels.
#[derive(Default)]
pub struct ReporterCouriers {
    by_name: HashMap<String, Courier>,
}

impl std::fmt::Debug for ReporterCouriers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("ReporterCouriers")
            .field("reporters", &names)
            .finish()
    }
}

impl ReporterCouriers {
    /// Adds the HipChat reporter `name`: with its own client, or `None` when it shares the
    /// `[hipchat]` one.
    pub(crate) fn add_hipchat(&mut self, name: &str, own: Option<Arc<dyn Transport>>) {
        let courier = own.map_or(Courier::Shared, Courier::HipChat);
        self.by_name.insert(name.to_owned(), courier);
    }

    /// Adds the HTTP reporter of `config`.
    pub(crate) fn add_http(&mut self, config: &HttpConfig, client: PushClient) {
        let courier = Courier::Http {
            config: Box::new(config.clone()),
            client,
        };
        self.by_name.insert(config.name.clone(), courier);
    }
}

/// Why `parcel` cannot be delivered.
fn undeliverable(parcel: &Parcel, reason: &str) -> TransportError {
    TransportError::Undeliverable {
        via: parcel.via.clone(),
        reason: reason.to_owned(),
    }
}

#[async_trait]
impl Couriers for ReporterCouriers {
    async fn deliver(&self, parcel: &Parcel) -> Result<Delivery, TransportError> {
        let refuse = |reason| Err(undeliverable(parcel, reason));
        match (self.by_name.get(&parcel.via), &parcel.item) {
            (None, _) => refuse(
                "no reporter of this name is configured any more, and its credentials are \
                 never stored; add it back to hipkit.toml, restart, and run `hipkit outbox retry`",
            ),
            (Some(Courier::Http { config, client }), ParcelItem::Http(push)) => {
                client.send(&live_request(config, push)).await?;
                Ok(Delivery::delivered())
            }
            (Some(Courier::HipChat(transport)), ParcelItem::Message(message)) => {
                transport.send(message).await
            }
            (Some(Courier::Shared), ParcelItem::Message(_)) => refuse(
                "this HipChat reporter has no auth_token, endpoint or verify of its own any more",
            ),
            (Some(Courier::Http { .. }), ParcelItem::Message(_)) => {
                refuse("this reporter is an HTTP reporter now; it cannot send a HipChat message")
            }
            (Some(Courier::HipChat(_) | Courier::Shared), ParcelItem::Http(_)) => {
                refuse("this reporter is a HipChat reporter now; it cannot send an HTTP push")
            }
            (Some(_), ParcelItem::Chat(_)) => refuse(
                "a build reporter has this name: it cannot carry a bridge message (give the \
                 bridge destination and the reporter different names)",
            ),
            (Some(_), ParcelItem::Reply(_)) => {
                refuse("a build reporter has this name: it cannot carry a slash-command reply")
            }
        }
    }

    fn carries(&self, via: &str) -> bool {
        self.by_name.contains_key(via)
    }

    fn named(&self) -> Vec<(String, String)> {
        let named = |(name, courier): (&String, &Courier)| {
            let table = match courier {
                Courier::Http { .. } => "[[reporters.http]]",
                Courier::HipChat(_) | Courier::Shared => "[[reporters.hipchat]]",
            };
            (
                name.clone(),
                format!("the Buildbot reporter {table} `{name}`"),
            )
        };
        self.by_name.iter().map(named).collect()
    }
}
