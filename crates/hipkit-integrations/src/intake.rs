//! Webhook intake: the raw body of a `room_message` (or `room_notification`) webhook parsed
//! leniently (extra keys, `from` as a string or an object, `webhook_id` as a string or a
//! number, no `oauth_client_id`), with the event checked and every failure named precisely.

use crate::lenient::{Node, Scalar};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A webhook the integrations can act on.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// `room_message` or `room_notification`.
    pub event: String,
    /// The message text (`item.message.message`).
    pub message: String,
    /// The room id as digits (`item.room.id`, a number or a numeric string).
    pub room_id: String,
    /// The sender's name (`from.name`, or `from` itself when it is a label).
    pub sender: Option<String>,
    /// The OAuth client id of the installation, if sent.
    pub oauth_client_id: Option<String>,
    /// The whole payload as the integration receives it: the body's JSON, on one line.
    pub payload: Box<RawValue>,
}

/// The seed's raw-body admin commands, answered with the new way instead of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedCommand {
    /// `save FILE`.
    Save,
    /// `load FILE`.
    Load,
    /// `erase`.
    Erase,
}

impl SeedCommand {
    /// What replaces it.
    pub fn new_way(self) -> &'static str {
        match self {
            Self::Save => {
                "the `save FILE` command is gone: export an integration's storage with \
                 `GET /admin/storage/{integration}` or `hipkit storage export INTEGRATION` \
                 (admin token required); no file named by a request is ever written"
            }
            Self::Load => {
                "the `load FILE` command is gone: import an integration's storage with \
                 `PUT /admin/storage/{integration}` (a JSON object) or `hipkit storage import \
                 INTEGRATION FILE` (admin token required); no file named by a request is ever read"
            }
            Self::Erase => {
                "the `erase` command is gone: erase an integration's storage with \
                 `DELETE /admin/storage/{integration}` or `hipkit storage erase INTEGRATION` \
                 (admin token required)"
            }
        }
    }
}

/// Why a body is not a usable webhook.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// One of the seed's raw-body admin commands.
    #[error("{}", .0.new_way())]
    SeedCommand(SeedCommand),
    /// The body is not UTF-8.
    #[error("the body is not UTF-8 (invalid byte at offset {0})")]
    NotUtf8(usize),
    /// The body is not JSON.
    #[error("the body is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// JSON, but not readable as a webhook (a key the webhook needs given twice).
    #[error("the body is JSON but not a readable webhook: {0}")]
    Shape(#[source] serde_json::Error),
    /// A field the webhook needs is missing or of the wrong type.
    #[error("`{field}` {problem}")]
    Field {
        /// The field's path, e.g. `item.message.message`.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// An event the integrations do not handle.
    #[error("event `{0}` is not handled here (expected room_message or room_notification)")]
    Event(String),
}

/// Recognises the seed's `save`/`load`/`erase` text commands by their prefix, as it did.
pub fn seed_command(body: &[u8]) -> Option<SeedCommand> {
    if body.starts_with(b"save") {
        Some(SeedCommand::Save)
    } else if body.starts_with(b"load") {
        Some(SeedCommand::Load)
    } else if body.starts_with(b"erase") {
        Some(SeedCommand::Erase)
    } else {
        None
    }
}

/// The top level of a webhook: only what intake reads, the rest skipped without building it.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    event: Scalar<'a>,
    #[serde(borrow, default)]
    item: Node<'a, Item<'a>>,
    #[serde(borrow, default)]
    oauth_client_id: Scalar<'a>,
}

/// `item`.
#[derive(Default, Deserialize)]
struct Item<'a> {
    #[serde(borrow, default)]
    message: Node<'a, Message<'a>>,
    #[serde(borrow, default)]
    room: Node<'a, Room<'a>>,
}

/// `item.message`.
#[derive(Default, Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    message: Scalar<'a>,
    #[serde(borrow, default)]
    from: Node<'a, Sender<'a>>,
}

/// `item.room`.
#[derive(Default, Deserialize)]
struct Room<'a> {
    #[serde(borrow, default)]
    id: Scalar<'a>,
}

/// `item.message.from` when it is an object.
#[derive(Default, Deserialize)]
struct Sender<'a> {
    #[serde(borrow, default)]
    name: Scalar<'a>,
}

/// Parses a webhook body in one pass over the fields intake needs; the payload is kept as
/// the body's own JSON text (on one line) for the integration.
pub fn parse(body: &[u8]) -> Result<Webhook, IntakeError> {
    if let Some(cmd) = seed_command(body) {
        return Err(IntakeError::SeedCommand(cmd));
    }
    let text = std::str::from_utf8(body).map_err(|e| IntakeError::NotUtf8(e.valid_up_to()))?;
    let whole: &RawValue = serde_json::from_str(text).map_err(IntakeError::Json)?;
    let field = |field, problem| IntakeError::Field { field, problem };
    // Checked first: serde would read an array positionally into the struct.
    if !whole.get().starts_with('{') {
        return Err(field("(body)", "must be a JSON object"));
    }
    // The syntax is checked: what can fail here is a key given twice.
    let top: Envelope = serde_json::from_str(whole.get()).map_err(IntakeError::Shape)?;
    let event = required_string(top.event, "event")?;
    if event != "room_message" && event != "room_notification" {
        return Err(IntakeError::Event(event));
    }
    // Through anything but an object, a field is as missing as a JSON pointer finds it.
    let item = top.item.into_object().unwrap_or_default();
    if !item.message.is_present() {
        return Err(field("item.message", "is missing"));
    }
    let message = item.message.into_object().unwrap_or_default();
    let text = required_string(message.message, "item.message.message")?;
    let room_id = match item.room.into_object().unwrap_or_default().id {
        Node::Whole(n) => n.to_string(),
        Node::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.into_owned(),
        Node::Absent => return Err(field("item.room.id", "is missing")),
        _ => return Err(field("item.room.id", "must be a room id (digits)")),
    };
    let sender = match message.from {
        Node::Str(label) => Some(label.into_owned()),
        Node::Object(from) => from.name.into_string(),
        _ => None,
    };
    Ok(Webhook {
        event,
        message: text,
        room_id,
        sender,
        oauth_client_id: top.oauth_client_id.into_string(),
        payload: flattened(whole)?,
    })
}

/// The string at `field`, or an error naming the field.
fn required_string<T>(node: Node<'_, T>, field: &'static str) -> Result<String, IntakeError> {
    let problem = match node {
        Node::Str(s) => return Ok(s.into_owned()),
        Node::Absent => "is missing",
        _ => "must be a string",
    };
    Err(IntakeError::Field { field, problem })
}

/// The same JSON on one line: line breaks and tabs can only be whitespace between tokens
/// (inside strings JSON escapes them), so they become spaces.
fn flattened(json: &RawValue) -> Result<Box<RawValue>, IntakeError> {
    let text = json.get();
    if !text.bytes().any(|b| matches!(b, b'\n' | b'\r' | b'\t')) {
        return Ok(json.to_owned());
    }
    RawValue::from_string(text.replace(['\n', '\r', '\t'], " ")).map_err(IntakeError::Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn lenient_shapes() {
        let hook = parse(&body(json!({
            "event": "room_notification", "extra": 1, "webhook_id": "abc",
            "item": {"message": {"message": "/x y", "from": "CI bot", "color": "red"},
                     "room": {"id": "42", "name": "Ops"}}
        })))
        .unwrap();
        assert_eq!(hook.room_id, "42");
        assert_eq!(hook.sender.as_deref(), Some("CI bot"));
        assert_eq!(hook.oauth_client_id, None);
        let hook = parse(&body(json!({
            "event": "room_message", "oauth_client_id": "c0ffee", "webhook_id": 5,
            "item": {"message": {"message": "50% off", "from": {"name": "Al"}}, "room": {"id": 7}}
        })))
        .unwrap();
        assert_eq!(hook.sender.as_deref(), Some("Al"));
        assert_eq!(hook.oauth_client_id.as_deref(), Some("c0ffee"));
    }

    #[test]
    fn precise_errors() {
        let err = |b: &[u8]| parse(b).unwrap_err().to_string();
        assert!(err(b"save /etc/passwd").contains("GET /admin/storage"));
        assert!(err(b"erase").contains("DELETE /admin/storage"));
        assert!(err(b"{\"a\": \"\xff\"}").contains("offset 7"));
        assert!(err(b"{nope").contains("not JSON"));
        assert!(err(b"[1]").contains("JSON object"));
        assert!(err(&body(json!({"event": "room_enter"}))).contains("room_enter"));
        assert!(err(&body(json!({"event": "room_message"}))).contains("item.message"));
        assert!(
            err(&body(
                json!({"event": "room_message", "item": {"message": {"message": "x"},
            "room": {"id": "../1"}}})
            ))
            .contains("item.room.id")
        );
    }

    #[test]
    fn pretty_bodies_reach_the_integration_on_one_line_unchanged() {
        let sent = json!({
            "event": "room_message",
            "item": {"message": {"message": "/x a\nb\t\u{e9} \"q\"", "from": 7},
                     "room": {"id": 12345678901u64}},
            "oauth_client_id": null
        });
        let pretty = serde_json::to_vec_pretty(&sent).unwrap();
        assert!(pretty.contains(&b'\n'));
        let hook = parse(&pretty).unwrap();
        assert_eq!(hook.message, "/x a\nb\t\u{e9} \"q\"");
        assert_eq!(hook.room_id, "12345678901");
        assert_eq!(hook.sender, None);
        assert_eq!(hook.oauth_client_id, None);
        let line = hook.payload.get();
        assert!(!line.contains(['\n', '\r', '\t']), "{line}");
        assert_eq!(serde_json::from_str::<Value>(line).unwrap(), sent);
    }

    #[test]
    fn present_but_wrong_fields_are_named() {
        let err = |v: Value| parse(&body(v)).unwrap_err().to_string();
        assert_eq!(err(json!({"event": null})), "`event` must be a string");
        assert_eq!(
            err(json!({"event": "room_message", "item": {"message": {"message": 5}}})),
            "`item.message.message` must be a string"
        );
        assert_eq!(
            err(json!({"event": "room_message", "item": [1]})),
            "`item.message` is missing"
        );
        assert_eq!(
            err(
                json!({"event": "room_message", "item": {"message": {"message": "/a"},
                       "room": {"id": -3}}})
            ),
            "`item.room.id` must be a room id (digits)"
        );
        assert!(parse(b"{\"event\": \"room_message\"} trailing").is_err());
        let twice = br#"{"event": "room_message", "event": "room_enter"}"#;
        assert_eq!(
            parse(twice).unwrap_err().to_string(),
            "the body is JSON but not a readable webhook: duplicate field `event` at line 1 column 33"
        );
    }
}
