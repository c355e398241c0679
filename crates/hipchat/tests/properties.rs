#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Property tests of the parsers of outside input in the `hipchat` crate (issue 20): the
//! duration syntax (`wait=`, CLI flags), the `Authorization` header, JWTs, room references, v1
//! form fields and v2 request bodies. Each: no panic on arbitrary input, every refusal an error
//! value that names what is wrong, and what is accepted means what it says.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hipchat::jwt::{self, JwtError, JwtSecret, WebhookClaims};
use hipchat::model::V1RoomMessage;
use hipchat::{
    Credentials, RoomNotification, RoomRef, Validate, parse_authorization, parse_duration,
};
use proptest::prelude::*;
use serde_json::Value;
use std::time::Duration;

/// Arbitrary JSON values, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        // Long strings: the limits sit at 1,000 and 10,000 characters.
        (0usize..12_000).prop_map(|n| Value::String("x".repeat(n))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for a known field: mostly one a client would send, sometimes anything.
fn field(
    plausible: impl Strategy<Value = Value> + 'static,
) -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(prop_oneof![3 => plausible.boxed(), 1 => json().boxed()])
}

/// Notification-shaped JSON: each field present or not, plausible or arbitrary, plus a stray
/// key now and then.
fn notification_like() -> impl Strategy<Value = Value> {
    let text = |max: usize| (0..max).prop_map(|n| Value::String("é".repeat(n)));
    let one_of = |names: &[&'static str]| {
        prop::sample::select(names.to_vec()).prop_map(|n| Value::String(n.to_owned()))
    };
    (
        field(text(10_050)),
        field(one_of(&[
            "yellow", "green", "red", "purple", "gray", "random", "blue", "",
        ])),
        field(one_of(&["html", "text", "markdown"])),
        field(any::<bool>().prop_map(Value::Bool)),
        field(text(70)),
        field(json()),
        proptest::option::of((".{0,10}", json())),
    )
        .prop_map(|(message, color, format, notify, from, card, stray)| {
            let mut body = serde_json::Map::new();
            for (key, value) in [
                ("message", message),
                ("color", color),
                ("message_format", format),
                ("notify", notify),
                ("from", from),
                ("card", card),
            ] {
                if let Some(value) = value {
                    body.insert(key.to_owned(), value);
                }
            }
            if let Some((key, value)) = stray {
                body.insert(key, value);
            }
            Value::Object(body)
        })
}

proptest! {
    // No regression files: a failure prints its minimal input, which goes into a unit test.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_a_duration_or_an_error_naming_it(raw in ".{0,40}") {
        match parse_duration(&raw) {
            Ok(_) => {}
            Err(e) => {
                prop_assert_eq!(&e.raw, raw.trim());
                prop_assert!(e.to_string().contains("1m30s"), "{}", e);
            }
        }
    }

    #[test]
    fn a_shown_duration_parses_back_to_itself(millis in 0u64..10_000_000_000_000) {
        let duration = Duration::from_millis(millis);
        let shown = hipchat::duration::format_duration(duration).to_string();
        prop_assert_eq!(parse_duration(&shown).unwrap(), duration);
        prop_assert_eq!(parse_duration(&(millis / 1000).to_string()).unwrap(), Duration::from_secs(millis / 1000));
    }

    #[test]
    fn any_authorization_header_parses_or_is_none_and_its_debug_hides_the_secret(raw in ".{0,60}") {
        if let Some(credentials) = parse_authorization(&raw) {
            let shown = format!("{credentials:?}");
            prop_assert!(shown.ends_with("<redacted>"), "{}", shown);
        }
    }

    #[test]
    fn bearer_and_basic_credentials_come_back_as_sent(
        scheme in prop::sample::select(vec!["Bearer", "bearer", "BEARER"]),
        token in "[!-~]{1,40}",
        user in "[^:]{0,20}",
        password in ".{0,20}",
    ) {
        let bearer = format!("{scheme} {token}");
        prop_assert_eq!(parse_authorization(&bearer), Some(Credentials::Bearer(&token)));
        let basic = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        prop_assert_eq!(
            parse_authorization(&basic),
            Some(Credentials::Basic { user: user.into_bytes(), password: password.into_bytes() })
        );
    }

    #[test]
    fn any_text_as_a_jwt_is_refused_with_an_error_that_does_not_hold_the_secret(
        token in ".{0,200}",
        secret in "[a-z0-9]{16,40}",
    ) {
        let refused = jwt::verify(&token, &JwtSecret::new(secret.as_bytes()), None).unwrap_err();
        let shown = format!("{refused} {refused:?}");
        prop_assert!(!shown.contains(&secret), "{}", shown);
        prop_assert!(jwt::unverified_issuer(&token).is_err() || token.matches('.').count() == 2);
    }

    #[test]
    fn a_signed_jwt_verifies_only_with_its_secret_and_issuer_and_unaltered(
        issuer in "[ -~]{1,40}",
        room in any::<u64>(),
        user in proptest::option::of(any::<u64>()),
        secret in "[a-z0-9]{16,40}",
        other in "[A-Z]{16,40}",
        flip in any::<prop::sample::Index>(),
    ) {
        let key = JwtSecret::new(secret.as_bytes());
        let claims = WebhookClaims::for_call(&issuer, user, room);
        let token = jwt::sign(&key, &claims).unwrap();
        prop_assert_eq!(jwt::verify(&token, &key, Some(&issuer)).unwrap(), claims);
        prop_assert_eq!(jwt::unverified_issuer(&token).unwrap(), issuer.clone());
        prop_assert!(matches!(
            jwt::verify(&token, &JwtSecret::new(other.as_bytes()), None),
            Err(JwtError::BadSignature)
        ));
        let wrong_issuer = matches!(
            jwt::verify(&token, &key, Some("someone else")),
            Err(JwtError::WrongIssuer { .. })
        );
        prop_assert!(wrong_issuer || issuer == "someone else");
        // Any one character changed (to one that is still base64url) breaks the token.
        let at = flip.index(token.len());
        let mut altered = token.clone().into_bytes();
        altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        if altered != token {
            prop_assert!(jwt::verify(&altered, &key, Some(&issuer)).is_err());
        }
    }

    #[test]
    fn a_room_reference_round_trips_through_text_and_its_path_segment(raw in ".{0,30}") {
        let room = RoomRef::parse(&raw);
        prop_assert_eq!(RoomRef::parse(&room.to_string()), room.clone());
        let segment = room.to_segment();
        prop_assert!(!segment.contains(['/', '?', '#', ' ']), "{}", segment);
        let decoded = percent_encoding::percent_decode_str(&segment).decode_utf8().unwrap();
        prop_assert_eq!(RoomRef::parse(&decoded), room);
    }

    #[test]
    fn v1_form_fields_are_a_message_or_an_error_naming_the_field(
        fields in prop::collection::vec(
            (prop::sample::select(vec!["room_id", "from", "message", "message_format", "notify", "color", "format", "x"]), ".{0,20}"),
            0..8,
        ),
    ) {
        let pairs: Vec<(String, String)> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        match V1RoomMessage::from_pairs(&pairs) {
            Ok(message) => {
                prop_assert!((1..=15).contains(&message.from.chars().count()));
                prop_assert!(!message.message.is_empty());
                prop_assert!(message.into_notification().validate().is_ok());
            }
            Err(e) => {
                prop_assert!(!e.field.is_empty() && !e.problem.is_empty(), "{:?}", e);
            }
        }
    }

    #[test]
    fn any_json_is_a_valid_notification_or_an_error_naming_the_field(body in notification_like()) {
        if let Ok(notification) = serde_json::from_value::<RoomNotification>(body) {
            match notification.validate() {
                Ok(()) => {
                    let n = notification.message.chars().count();
                    prop_assert!((1..=10_000).contains(&n), "{} characters accepted", n);
                }
                Err(e) => prop_assert!(!e.field.is_empty() && !e.problem.is_empty(), "{:?}", e),
            }
        }
    }
}
