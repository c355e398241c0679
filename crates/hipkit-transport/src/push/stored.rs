//! An HTTP push as the outbox stores it: nothing secret. Rows already stored must keep
//! reading, so this JSON shape does not change: `{"url": .., "headers": [[name, value], ..],
//! "body": ..}`.

use serde::{Deserialize, Serialize};

/// An HTTP push as the outbox stores it. The sender's live configuration supplies the URL to
/// use, credentials and secret headers at delivery time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpPush {
    /// The URL as shown: no user information, no query (either may hold a secret).
    pub url: String,
    /// The headers that are not secret, in order.
    pub headers: Vec<StoredHeader>,
    /// The body, byte for byte (stored as itself when it is a JSON object or array, which
    /// spares escaping it: the store writes fewer bytes).
    #[serde(with = "stored_body")]
    pub body: String,
}

/// A header that is not secret, stored as a `[name, value]` pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(String, String)", into = "(String, String)")]
pub struct StoredHeader {
    /// The header's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

impl From<(String, String)> for StoredHeader {
    fn from((name, value): (String, String)) -> Self {
        Self { name, value }
    }
}

impl From<StoredHeader> for (String, String) {
    fn from(header: StoredHeader) -> Self {
        (header.name, header.value)
    }
}

/// A push body in the stored JSON: an object or array verbatim (a raw value, kept byte for
/// byte), any other text as a JSON string.
mod stored_body {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    /// The body as a raw JSON value, when it is exactly one object or array.
    fn raw(body: &str) -> Option<&RawValue> {
        let bytes = body.as_bytes();
        let bracketed =
            matches!(bytes.first(), Some(b'{' | b'[')) && matches!(bytes.last(), Some(b'}' | b']'));
        bracketed
            .then(|| serde_json::from_str::<&RawValue>(body).ok())
            .flatten()
    }

    pub fn serialize<S: Serializer>(body: &str, serializer: S) -> Result<S::Ok, S::Error> {
        match raw(body) {
            Some(value) => value.serialize(serializer),
            None => body.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        let value = Box::<RawValue>::deserialize(deserializer)?;
        let text = value.get();
        if text.starts_with('"') {
            serde_json::from_str(text).map_err(serde::de::Error::custom)
        } else {
            Ok(text.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_stored_before_headers_were_named_still_reads_and_writes_the_same() {
        let old = r#"{"url":"http://<redacted>@x/hook","headers":[["Content-Type","application/json"],["X-Trace","visible"]],"body":{"a": 1}}"#;
        let push: HttpPush = serde_json::from_str(old).unwrap();
        assert_eq!(
            push.headers,
            [
                StoredHeader {
                    name: "Content-Type".into(),
                    value: "application/json".into()
                },
                StoredHeader {
                    name: "X-Trace".into(),
                    value: "visible".into()
                },
            ]
        );
        assert_eq!(push.body, r#"{"a": 1}"#);
        assert_eq!(serde_json::to_string(&push).unwrap(), old);
    }

    #[test]
    fn stored_bodies_round_trip_byte_for_byte() {
        for body in [
            "{\"a\": [1, 2],  \"b\": \"x\\\"y\", \"c\": \"\\u00e9 é\"}",
            "[1 , 2]",
            "\"a JSON string\"",
            "{not json}",
            " {\"padded\": true}",
            "plain text",
            "",
        ] {
            let push = HttpPush {
                url: "http://x/hook".into(),
                headers: Vec::new(),
                body: body.into(),
            };
            let stored = serde_json::to_string(&push).unwrap();
            let back: HttpPush = serde_json::from_str(&stored).unwrap();
            assert_eq!(back.body, body, "{stored}");
        }
        let push = HttpPush {
            url: "http://x/hook".into(),
            headers: Vec::new(),
            body: "{\"a\": 1}".into(),
        };
        assert!(
            serde_json::to_string(&push)
                .unwrap()
                .ends_with(r#""body":{"a": 1}}"#),
            "an object is stored as itself"
        );
    }
}
