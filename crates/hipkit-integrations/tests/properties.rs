#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Property tests of the integrations server's parsers of outside input (issue 20): webhook
//! payloads, command routing and token specs. Each: no panic on arbitrary input, every
//! refusal an error that names what is wrong (and never the token), and what is accepted
//! means what it says.

use hipkit_integrations::command::{self, Command};
use hipkit_integrations::intake;
use hipkit_integrations::tokens::{TokenSpec, parse_file};
use hipkit_testkit::props;
use proptest::prelude::*;
use serde_json::{Value, json};

/// The reference `room_message` payload (HipChat's documented example, trimmed).
fn reference() -> Value {
    json!({
        "event": "room_message",
        "item": {
            "message": {
                "date": "2016-05-04T10:11:12.123456+00:00",
                "from": {"id": 1001, "mention_name": "alice", "name": "Alice Smith"},
                "id": "0f3a9c2e-1111-2222-3333-444455556666",
                "mentions": [],
                "message": "/deploy api staging",
                "type": "message"
            },
            "room": {"id": 2002, "name": "Ops"}
        },
        "oauth_client_id": "client-1",
        "webhook_id": 7
    })
}

/// The reference payload with one field (by JSON pointer) replaced or removed.
fn mutated_payload() -> impl Strategy<Value = Vec<u8>> {
    let pointers = vec![
        "/event",
        "/item",
        "/item/message",
        "/item/message/message",
        "/item/message/from",
        "/item/message/from/name",
        "/item/room",
        "/item/room/id",
        "/oauth_client_id",
        "/webhook_id",
    ];
    props::mutated(reference(), pointers, 1..2)
}

proptest! {
    // No regression files: a failure prints its minimal input, which goes into a unit test.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_mutated_webhook_payload_parses_or_names_what_is_wrong(body in mutated_payload()) {
        match intake::parse(&body) {
            Ok(webhook) => {
                prop_assert!(webhook.room_id.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(!webhook.room_id.is_empty());
                let payload: Value = serde_json::from_str(webhook.payload.get()).unwrap();
                prop_assert_eq!(payload["item"]["message"]["message"].as_str(), Some(webhook.message.as_str()));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn any_bytes_as_a_webhook_body_are_refused_with_a_reason(body in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(e) = intake::parse(&body) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn a_command_is_anchored_at_the_start_and_keeps_its_query(message in ".{0,60}") {
        match command::parse(&message) {
            Command::None => prop_assert!(
                !message.starts_with('/') || message[1..].starts_with(char::is_whitespace) || message.len() == 1
            ),
            Command::BadName(name) => {
                let anchored = message.starts_with(&format!("/{name}"));
                prop_assert!(anchored, "{:?}", message);
                prop_assert!(!name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            }
            Command::Call { name, query } => {
                prop_assert!(!name.is_empty());
                prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
                let anchored = message.starts_with(&format!("/{name}"));
                prop_assert!(anchored, "{:?}", message);
                prop_assert!(message.ends_with(query));
                // Only one separating whitespace character lies between the name and the query.
                let between = message.len() - 1 - name.len() - query.len();
                prop_assert!(between <= 4, "{:?}", message);
            }
        }
    }

    #[test]
    fn a_token_spec_parses_or_its_error_never_shows_the_token(
        first in prop_oneof![Just(String::new()), "[0-9]{1,6}", "[A-Za-z0-9_-]{1,10}", ".{0,10}"],
        middle in proptest::option::of(prop_oneof!["[A-Za-z0-9_-]{1,10}", ".{0,10}"]),
        token in "[!-~]{0,30}",
    ) {
        let raw = match &middle {
            Some(m) => format!("{first}:{m}:{token}"),
            None => format!("{first}:{token}"),
        };
        match raw.parse::<TokenSpec>() {
            Ok(spec) => {
                let shown = format!("{spec} {spec:?}");
                prop_assert!(token.len() < 8 || !shown.contains(&token), "{}", shown);
            }
            Err(e) => {
                let shown = format!("{e} {e:?}");
                prop_assert!(token.len() < 8 || !shown.contains(&token), "{}", shown);
            }
        }
        if let Err(e) = parse_file(&format!("# tokens\n\n{raw}\n")) {
            prop_assert!(e.to_string().contains("line 3"), "{}", e);
        }
    }
}
