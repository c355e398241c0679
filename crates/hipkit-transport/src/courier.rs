//! Deliveries through named couriers: a [`Parcel`] names the courier that carries it (a
//! build reporter with its own token, an HTTP receiver with its own credentials), and the
//! courier is looked up in the live configuration when the parcel is delivered. So nothing
//! that must stay secret (tokens, passwords, secret headers) is ever stored with it, and a
//! parcel whose courier is gone is refused with a reason instead of being sent blindly.

use crate::push::HttpPush;
use crate::{Delivery, Message, TransportError};
use async_trait::async_trait;
use hipchat::{Validate, ValidationError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Something to deliver through the courier named `via`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parcel {
    /// The courier's name (a reporter's `name`).
    pub via: String,
    /// What it carries.
    pub item: ParcelItem,
}

/// What a parcel carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParcelItem {
    /// A HipChat message, sent with the courier's own token and server.
    Message(Box<Message>),
    /// An HTTP push, sent with the courier's URL, credentials and TLS settings.
    Http(HttpPush),
    /// A message for another chat system (the bridge's): what was accepted, as its courier's
    /// own JSON, rendered and sent with the courier's live settings at delivery.
    Chat(ChatItem),
    /// A slash command's reply, posted to the platform's `response_url`.
    Reply(ReplyItem),
}

/// A slash command's reply for the platform's `response_url` (Slack's, Mattermost's). That
/// URL is a short-lived capability whose path is the secret: it is stored, so a reply
/// survives a restart, but shown ([`Parcel::destination`], `Debug`, `hipkit outbox`) as its
/// scheme and host only.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyItem {
    /// The `response_url`.
    pub url: String,
    /// The response to post (JSON).
    pub body: serde_json::Value,
    /// When the platform stops taking posts at `url` (Unix milliseconds).
    pub expires_at: i64,
}

impl std::fmt::Debug for ReplyItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyItem")
            .field("url", &hipchat::redact_capability_url(&self.url))
            .field("body", &self.body)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A stored payload as it may be shown (`hipkit outbox list --json`): a reply's
/// `response_url` reduced to its scheme and host; any other payload as it is.
pub fn shown_payload(payload: &str) -> std::borrow::Cow<'_, str> {
    if !payload.contains("\"reply\"") {
        return payload.into();
    }
    match serde_json::from_str::<Parcel>(payload) {
        Ok(Parcel {
            via,
            item: ParcelItem::Reply(mut reply),
        }) => {
            reply.url = hipchat::redact_capability_url(&reply.url);
            let shown = Parcel {
                via,
                item: ParcelItem::Reply(reply),
            };
            serde_json::to_string(&shown).map_or_else(|_| "<unreadable reply>".into(), Into::into)
        }
        _ => payload.into(),
    }
}

/// A message for another chat system: opaque here, read by the courier that queued it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatItem {
    /// Where it was addressed, as shown (`room:Build Room`, `user:@bob`).
    pub to: String,
    /// What the courier stored (never a secret).
    pub payload: serde_json::Value,
}

impl Parcel {
    /// Where it goes, as listed: `room:Builds via hipchat-2`, `https://x/hook via http-1`.
    pub fn destination(&self) -> String {
        match &self.item {
            ParcelItem::Message(m) => format!("{} via {}", m.to, self.via),
            ParcelItem::Http(push) => format!("{} via {}", push.url, self.via),
            ParcelItem::Chat(chat) => format!("{} via {}", chat.to, self.via),
            ParcelItem::Reply(reply) => format!(
                "{} via {}",
                hipchat::redact_capability_url(&reply.url),
                self.via
            ),
        }
    }
}

impl Validate for Parcel {
    fn validate(&self) -> Result<(), ValidationError> {
        match &self.item {
            ParcelItem::Message(m) => m.validate(),
            ParcelItem::Reply(reply) => {
                let web = ["http://", "https://"];
                if web.iter().any(|scheme| reply.url.starts_with(scheme)) {
                    Ok(())
                } else {
                    Err(ValidationError::new(
                        "response_url",
                        "must be an http(s) URL",
                    ))
                }
            }
            ParcelItem::Http(_) | ParcelItem::Chat(_) => Ok(()),
        }
    }
}

/// The couriers of the live configuration, by name.
#[async_trait]
pub trait Couriers: Send + Sync {
    /// Delivers `parcel` once through the courier it names;
    /// [`TransportError::Undeliverable`] when no fitting courier is configured.
    async fn deliver(&self, parcel: &Parcel) -> Result<Delivery, TransportError>;

    /// Whether a courier named `via` is among these, so a [`CourierSet`] can pick the member
    /// that carries a parcel.
    fn carries(&self, via: &str) -> bool;

    /// Each courier's name and the configuration that gives it (`[[bridge.destinations]]
    /// \`ops\``), so a [`CourierSet`] can refuse a name two capabilities both claim; none
    /// unless an implementation lists them.
    fn named(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// Two capabilities name a courier alike: a parcel for that name would go to the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the courier name `{name}` is given twice, by {first} and by {second}: parcels for it \
     would all go to the first; rename one of them"
)]
pub struct CourierClash {
    /// The name.
    pub name: String,
    /// The configuration that gave it first.
    pub first: String,
    /// The one that gave it again.
    pub second: String,
}

/// The couriers of every capability of one process, each parcel handed to the member that
/// carries its `via`.
#[derive(Clone, Default)]
pub struct CourierSet {
    members: Vec<Arc<dyn Couriers>>,
}

impl std::fmt::Debug for CourierSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CourierSet")
            .field("members", &self.members.len())
            .finish()
    }
}

impl CourierSet {
    /// Adds a capability's couriers; refused when one of their names is already carried
    /// by a member.
    pub fn add(&mut self, couriers: Arc<dyn Couriers>) -> Result<(), CourierClash> {
        let taken = self.named();
        for (name, second) in couriers.named() {
            if let Some((_, first)) = taken.iter().find(|(n, _)| *n == name) {
                return Err(CourierClash {
                    name,
                    first: first.clone(),
                    second,
                });
            }
        }
        self.members.push(couriers);
        Ok(())
    }
}

#[async_trait]
impl Couriers for CourierSet {
    async fn deliver(&self, parcel: &Parcel) -> Result<Delivery, TransportError> {
        match self.members.iter().find(|m| m.carries(&parcel.via)) {
            Some(member) => member.deliver(parcel).await,
            None => Err(TransportError::Undeliverable {
                via: parcel.via.clone(),
                reason: "no reporter of this name is configured any more, and its credentials \
                         are never stored; add it back to hipkit.toml, restart, and run \
                         `hipkit outbox retry`"
                    .into(),
            }),
        }
    }

    fn carries(&self, via: &str) -> bool {
        self.members.iter().any(|m| m.carries(via))
    }

    fn named(&self) -> Vec<(String, String)> {
        self.members.iter().flat_map(|m| m.named()).collect()
    }
}

/// No couriers at all (a host that configures none): every parcel is undeliverable.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCouriers;

#[async_trait]
impl Couriers for NoCouriers {
    async fn deliver(&self, parcel: &Parcel) -> Result<Delivery, TransportError> {
        Err(TransportError::Undeliverable {
            via: parcel.via.clone(),
            reason: "this process configures no couriers (only `hipkit serve` delivers parcels)"
                .into(),
        })
    }

    fn carries(&self, _: &str) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hipchat::RoomNotification;

    /// Couriers named `names`, answering every parcel delivered with a note of `tag`.
    struct Named {
        names: &'static [&'static str],
        tag: &'static str,
    }

    #[async_trait]
    impl Couriers for Named {
        async fn deliver(&self, _: &Parcel) -> Result<Delivery, TransportError> {
            Ok(Delivery {
                id: self.tag.into(),
                state: crate::DeliveryState::Delivered,
            })
        }

        fn carries(&self, via: &str) -> bool {
            self.names.contains(&via)
        }

        fn named(&self) -> Vec<(String, String)> {
            let named = |n: &&str| ((*n).to_owned(), format!("{} `{n}`", self.tag));
            self.names.iter().map(named).collect()
        }
    }

    #[tokio::test]
    async fn a_set_hands_each_parcel_to_the_member_that_carries_it() {
        let mut set = CourierSet::default();
        set.add(Arc::new(Named {
            names: &["hipchat-2", "http-1"],
            tag: "reporters",
        }))
        .unwrap();
        set.add(Arc::new(Named {
            names: &["ops-slack"],
            tag: "bridge",
        }))
        .unwrap();
        let clash = set
            .add(Arc::new(Named {
                names: &["ops-matrix", "http-1"],
                tag: "bridge",
            }))
            .unwrap_err();
        assert_eq!(
            (clash.first.as_str(), clash.second.as_str()),
            ("reporters `http-1`", "bridge `http-1`")
        );
        assert!(!set.carries("ops-matrix"), "a clashing member is not added");
        let parcel = |via: &str| Parcel {
            via: via.into(),
            item: ParcelItem::Message(Box::new(Message::room("Ops", RoomNotification::new("hi")))),
        };
        let note = |d: Delivery| d.id;
        assert_eq!(
            set.deliver(&parcel("http-1")).await.map(note).unwrap(),
            "reporters"
        );
        assert_eq!(
            set.deliver(&parcel("ops-slack")).await.map(note).unwrap(),
            "bridge"
        );
        assert!(set.carries("hipchat-2") && !set.carries("gone"));
        match set.deliver(&parcel("gone")).await {
            Err(TransportError::Undeliverable { via, reason }) => {
                assert_eq!(via, "gone");
                assert!(reason.contains("configured any more"), "{reason}");
            }
            other => panic!("a parcel nobody carries is undeliverable: {other:?}"),
        }
        assert!(!NoCouriers.carries("http-1"));
    }

    #[test]
    fn parcels_round_trip_and_say_where_they_go() {
        let message = Parcel {
            via: "hipchat-2".into(),
            item: ParcelItem::Message(Box::new(Message::room(
                "Builds",
                RoomNotification::new("hi"),
            ))),
        };
        assert_eq!(message.destination(), "room:Builds via hipchat-2");
        let json = serde_json::to_string(&message).unwrap();
        assert!(
            json.starts_with(r#"{"via":"hipchat-2","item":{"message":"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Parcel>(&json).unwrap(), message);
        assert!(
            serde_json::from_str::<Message>(&json).is_err(),
            "never mistaken for a plain message"
        );
        let push = Parcel {
            via: "http-1".into(),
            item: ParcelItem::Http(HttpPush {
                url: "https://x/hook".into(),
                headers: vec![("Content-Type".to_owned(), "application/json".to_owned()).into()],
                body: "{\"a\": 1}".into(),
            }),
        };
        assert_eq!(push.destination(), "https://x/hook via http-1");
        let json = serde_json::to_string(&push).unwrap();
        assert_eq!(serde_json::from_str::<Parcel>(&json).unwrap(), push);
        let chat = Parcel {
            via: "ops-slack".into(),
            item: ParcelItem::Chat(ChatItem {
                to: "room:Build Room".into(),
                payload: serde_json::json!({"message": "hi"}),
            }),
        };
        assert_eq!(chat.destination(), "room:Build Room via ops-slack");
        let json = serde_json::to_string(&chat).unwrap();
        assert!(json.contains(r#""item":{"chat":"#), "{json}");
        assert_eq!(serde_json::from_str::<Parcel>(&json).unwrap(), chat);
    }

    #[test]
    fn a_reply_is_stored_whole_and_shown_without_its_path() {
        let secret = "https://hooks.slack.com/commands/T0/B0/s3cret-path";
        let reply = Parcel {
            via: "slack:response_url".into(),
            item: ParcelItem::Reply(ReplyItem {
                url: secret.into(),
                body: serde_json::json!({"text": "done", "response_type": "in_channel"}),
                expires_at: 1_800_000_000_000,
            }),
        };
        assert!(reply.validate().is_ok());
        assert_eq!(
            reply.destination(),
            "https://hooks.slack.com/<redacted> via slack:response_url"
        );
        let debug = format!("{reply:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("hooks.slack.com"),
            "{debug}"
        );
        let json = serde_json::to_string(&reply).unwrap();
        assert!(json.contains(secret), "stored whole: {json}");
        assert_eq!(serde_json::from_str::<Parcel>(&json).unwrap(), reply);
        let shown = shown_payload(&json);
        assert!(
            !shown.contains("s3cret") && shown.contains(r#""text":"done""#),
            "{shown}"
        );
        assert_eq!(
            shown_payload(r#"{"to":{"room":"x"},"message":"hi"}"#),
            r#"{"to":{"room":"x"},"message":"hi"}"#
        );
        let ftp = Parcel {
            via: "slack:response_url".into(),
            item: ParcelItem::Reply(ReplyItem {
                url: "ftp://x/y".into(),
                body: serde_json::Value::Null,
                expires_at: 0,
            }),
        };
        assert_eq!(ftp.validate().unwrap_err().field, "response_url");
    }
}
