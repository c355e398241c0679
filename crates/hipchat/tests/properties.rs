//! Property tests (issue 20) for the parsers of outside input in `hipchat`: the duration
//! syntax (`wait=`, `--timeout`), the `Authorization` header, the v1 `rooms/message` form and
//! the webhook payload. Each takes arbitrary input without panicking, refuses with an error
//! value, and gives back what a well-formed input says.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hipchat::{
    Credentials, MessageFormat, RoomMessagePayload, V1RoomMessage, parse_authorization,
    parse_duration,
};
use proptest::prelude::*;
use std::time::Duration;

/// Cases per property: enough to find a panic in a small parser, few enough that
/// scripts/test stays fast.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// Text that looks like a duration often: digits, units, spaces, signs and dots, plus any
/// character now and then.
fn duration_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[0-9]{1,25}",
        4 => prop::sample::select(vec![
            "ms", "s", "m", "h", "d", "w", "us", "ns", "sec", "min", "hours", "days", "y", "M",
        ])
        .prop_map(str::to_owned),
        1 => "[ .+\\-_:]",
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_a_duration_or_a_duration_error(raw in prop_oneof![duration_like(), ".*"]) {
        match parse_duration(&raw) {
            Ok(_) => {}
            Err(e) => {
                prop_assert_eq!(&e.raw, raw.trim());
                prop_assert!(e.to_string().contains("is not a duration"), "{}", e);
            }
        }
    }

    #[test]
    fn whole_seconds_parse_as_seconds(secs in any::<u64>(), pad in "[ \t]{0,3}") {
        let raw = format!("{pad}{secs}{pad}");
        prop_assert_eq!(parse_duration(&raw).unwrap(), Duration::from_secs(secs));
    }

    #[test]
    fn a_shown_duration_parses_back(ms in 1u64..(400 * 86_400_000)) {
        let d = Duration::from_millis(ms);
        let shown = hipchat::duration::format_duration(d).to_string();
        prop_assert_eq!(parse_duration(&shown).unwrap(), d, "{}", shown);
    }

    #[test]
    fn any_authorization_header_parses_or_is_refused(value in ".*") {
        // No panic; a refusal is `None`, and whatever parses has non-empty credentials.
        match parse_authorization(&value) {
            None => {}
            Some(Credentials::Bearer(t) | Credentials::Jwt(t)) => {
                prop_assert!(!t.is_empty() && t == t.trim());
            }
            Some(Credentials::Basic { .. }) => {}
        }
    }

    #[test]
    fn basic_credentials_round_trip(
        user in prop::collection::vec(any::<u8>().prop_filter("no colon", |b| *b != b':'), 0..40),
        password in prop::collection::vec(any::<u8>(), 0..40),
        scheme in prop::sample::select(vec!["Basic", "basic", "BASIC", "bAsIc"]),
        space in "[ \t]{1,3}",
    ) {
        let mut raw = user.clone();
        raw.push(b':');
        raw.extend_from_slice(&password);
        let value = format!("{scheme}{space}{}", STANDARD.encode(&raw));
        prop_assert_eq!(
            parse_authorization(&value),
            Some(Credentials::Basic { user, password })
        );
    }

    #[test]
    fn bearer_and_jwt_tokens_round_trip(
        token in "[!-~]{1,80}",
        jwt in any::<bool>(),
        space in "[ \t]{1,3}",
    ) {
        let (scheme, expected) = if jwt {
            ("jwt", Credentials::Jwt(&token))
        } else {
            ("bearer", Credentials::Bearer(&token))
        };
        let value = format!("  {scheme}{space}{token} ");
        prop_assert_eq!(parse_authorization(&value), Some(expected));
    }

    #[test]
    fn any_v1_form_is_a_message_or_a_validation_error(
        pairs in prop::collection::vec(
            (
                prop_oneof![
                    prop::sample::select(vec![
                        "room_id", "from", "message", "message_format", "notify", "color",
                        "format", "auth_token",
                    ])
                    .prop_map(str::to_owned),
                    ".{0,12}",
                ],
                prop_oneof![".{0,20}", "[a-z0-9]{0,16}", Just(String::new())],
            ),
            0..10,
        )
    ) {
        match V1RoomMessage::from_pairs(&pairs) {
            Ok(m) => {
                prop_assert!(!m.room_id.is_empty() && !m.message.is_empty());
                let n = m.from.chars().count();
                prop_assert!((1..=hipchat::V1_FROM_MAX).contains(&n));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let _ = hipchat::v1_format_is_json(&pairs);
    }

    #[test]
    fn a_well_formed_v1_form_reads_back(
        room in "[A-Za-z0-9 ]{1,30}",
        from in "[A-Za-z0-9_ -]{1,15}",
        message in "\\PC{1,200}",
        notify in any::<bool>(),
        text in any::<bool>(),
    ) {
        let pairs: Vec<(String, String)> = [
            ("room_id", room.clone()),
            ("from", from.clone()),
            ("message", message.clone()),
            ("notify", if notify { "1" } else { "0" }.to_owned()),
            ("message_format", if text { "text" } else { "html" }.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let m = V1RoomMessage::from_pairs(&pairs).unwrap();
        prop_assert_eq!((m.room_id, m.from, m.message, m.notify), (room, from, message, notify));
        let format = if text { MessageFormat::Text } else { MessageFormat::Html };
        prop_assert_eq!(m.message_format, format);
    }

    #[test]
    fn any_webhook_body_is_a_payload_or_a_json_error(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            ".{0,200}".prop_map(String::into_bytes),
            webhook_like().prop_map(String::into_bytes),
        ]
    ) {
        // Refusals are serde_json errors (the hooks answer them with a 400 envelope).
        let _ = serde_json::from_slice::<RoomMessagePayload>(&body);
    }
}

/// A real payload with one field's value swapped for another JSON value.
fn webhook_like() -> impl Strategy<Value = String> {
    let field = prop::sample::select(vec![
        "event",
        "item",
        "message",
        "date",
        "from",
        "id",
        "mentions",
        "type",
        "room",
        "name",
        "links",
        "webhook_id",
        "oauth_client_id",
    ]);
    let value = prop_oneof![
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| serde_json::json!(n).to_string()),
        ".{0,10}".prop_map(|s| serde_json::json!(s).to_string()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just(r#"[{"id":1}]"#.to_owned()),
    ];
    (field, value).prop_map(|(field, value)| {
        let mut payload: serde_json::Value = serde_json::from_str(WEBHOOK).expect("sample");
        replace(&mut payload, field, &value);
        payload.to_string()
    })
}

/// Sets every `field` anywhere in `json` to `value` (raw JSON).
fn replace(json: &mut serde_json::Value, field: &str, value: &str) {
    match json {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == field {
                    *v = serde_json::from_str(value).unwrap_or(serde_json::Value::Null);
                } else {
                    replace(v, field, value);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| replace(v, field, value)),
        _ => {}
    }
}

const WEBHOOK: &str = r#"{"event":"room_message","item":{"message":{"date":"2016-05-04T10:11:12.123456+00:00","from":{"id":1001,"links":{"self":"https://api.hipchat.com/v2/user/1001"},"mention_name":"alice","name":"Alice Smith","version":"00000000"},"id":"0f3a9c2e-1111-2222-3333-444455556666","mentions":[],"message":"/deploy api staging","type":"message"},"room":{"id":2002,"links":{"self":"https://api.hipchat.com/v2/room/2002"},"name":"Ops","version":"ABCD1234"}},"oauth_client_id":"abc","webhook_id":7}"#;

#[test]
fn the_webhook_sample_parses() {
    let payload: RoomMessagePayload = serde_json::from_str(WEBHOOK).unwrap();
    assert_eq!(payload.item.room.name, "Ops");
}
