//! Integration tokens in the seed's grammar, `NAME:TOKEN` (global) and
//! `ROOM_ID:INTEGRATION:TOKEN` (one integration in one room), without its edge cases: a
//! token may contain `:`, malformed specs, duplicates and name/room collisions are errors
//! that name what is wrong (never the token), and lookups fall back from the room's token to
//! the integration's global one.

use hipchat::Token;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Whether `name` is a valid integration name: `[A-Za-z0-9_-]+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One token spec. `Debug` and `Display` never show the token.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSpec {
    /// `NAME:TOKEN`: the integration (or any key) `NAME`'s global token.
    Global {
        /// The name.
        name: String,
        /// The token.
        token: Token,
    },
    /// `ROOM_ID:INTEGRATION:TOKEN`: `integration`'s token in room `room`.
    Room {
        /// The room id (digits, as written).
        room: String,
        /// The integration.
        integration: String,
        /// The token.
        token: Token,
    },
}

/// A token spec that cannot be parsed; says why and shows the spec's names, never its token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token spec `{shown}`: {reason}")]
pub struct TokenSpecError {
    /// The spec with its token part replaced by `…`.
    pub shown: String,
    /// What is wrong.
    pub reason: String,
}

impl TokenSpec {
    /// The spec with the token hidden, e.g. `123:echo:…`.
    pub fn shown(&self) -> String {
        match self {
            Self::Global { name, .. } => format!("{name}:…"),
            Self::Room {
                room, integration, ..
            } => format!("{room}:{integration}:…"),
        }
    }
}

impl fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl fmt::Display for TokenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl FromStr for TokenSpec {
    type Err = TokenSpecError;

    /// `NAME:TOKEN`, or `ROOM_ID:INTEGRATION:TOKEN` when the first part is all digits and two
    /// more follow; everything after the last separator used is the token (`:` included).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let fail = |shown: String, reason: &str| TokenSpecError {
            shown,
            reason: reason.to_owned(),
        };
        let Some((first, rest)) = raw.split_once(':') else {
            let shown = if raw.len() > 12 { "…" } else { "<no `:`>" };
            return Err(fail(
                shown.into(),
                "expected NAME:TOKEN or ROOM_ID:INTEGRATION:TOKEN",
            ));
        };
        let room_form = !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit());
        if let (true, Some((integration, token))) = (room_form, rest.split_once(':')) {
            if !valid_name(integration) {
                // Not shown: a part that is no name may be the token, split at its own `:`.
                return Err(fail(
                    format!("{first}:…"),
                    "the integration name must be letters, digits, `_` or `-`",
                ));
            }
            let shown = format!("{first}:{integration}:…");
            if token.is_empty() {
                return Err(fail(shown, "the token is empty"));
            }
            return Ok(Self::Room {
                room: first.to_owned(),
                integration: integration.to_owned(),
                token: Token::new(token),
            });
        }
        let shown = format!("{first}:…");
        if !valid_name(first) {
            return Err(fail(shown, "the name must be letters, digits, `_` or `-`"));
        }
        if rest.is_empty() {
            return Err(fail(shown, "the token is empty"));
        }
        Ok(Self::Global {
            name: first.to_owned(),
            token: Token::new(rest),
        })
    }
}

impl<'de> serde::Deserialize<'de> for TokenSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a tokens file: one spec per line; blank lines and `#` comments are skipped. An
/// error names the line.
pub fn parse_file(text: &str) -> Result<Vec<TokenSpec>, TokenSpecError> {
    let mut specs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        specs.push(line.parse().map_err(|e: TokenSpecError| TokenSpecError {
            shown: e.shown,
            reason: format!("line {}: {}", n + 1, e.reason),
        })?);
    }
    Ok(specs)
}

/// Why a set of specs cannot be used together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokensError {
    /// The same global name twice.
    #[error("duplicate token for `{0}`")]
    DuplicateGlobal(String),
    /// The same integration twice in one room.
    #[error("duplicate token for integration `{integration}` in room {room}")]
    DuplicateRoom {
        /// The room id.
        room: String,
        /// The integration.
        integration: String,
    },
    /// A global name that is also a room id of a room token (the seed mixed them).
    #[error("`{0}` is both a global token name and the room id of a room token")]
    NameIsRoom(String),
}

/// The tokens of every integration: global ones by name, room ones by room id and name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    global: BTreeMap<String, Token>,
    rooms: BTreeMap<String, BTreeMap<String, Token>>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("global", &self.global.keys().collect::<Vec<_>>())
            .field("rooms", &self.rooms.len())
            .finish()
    }
}

impl Tokens {
    /// Collects specs, refusing duplicates and global names that are also room ids.
    pub fn new<'a>(specs: impl IntoIterator<Item = &'a TokenSpec>) -> Result<Self, TokensError> {
        let mut tokens = Self::default();
        for spec in specs {
            match spec {
                TokenSpec::Global { name, token } => {
                    if tokens.global.insert(name.clone(), token.clone()).is_some() {
                        return Err(TokensError::DuplicateGlobal(name.clone()));
                    }
                }
                TokenSpec::Room {
                    room,
                    integration,
                    token,
                } => {
                    let room_tokens = tokens.rooms.entry(room.clone()).or_default();
                    if room_tokens
                        .insert(integration.clone(), token.clone())
                        .is_some()
                    {
                        return Err(TokensError::DuplicateRoom {
                            room: room.clone(),
                            integration: integration.clone(),
                        });
                    }
                }
            }
        }
        if let Some(name) = tokens.global.keys().find(|n| tokens.rooms.contains_key(*n)) {
            return Err(TokensError::NameIsRoom(name.clone()));
        }
        Ok(tokens)
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.global.len() + self.rooms.values().map(BTreeMap::len).sum::<usize>()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The token `integration` gets in `room`: the room's own, else its global one.
    pub fn token_for(&self, room: &str, integration: &str) -> Option<&Token> {
        self.rooms
            .get(room)
            .and_then(|r| r.get(integration))
            .or_else(|| self.global.get(integration))
    }

    /// `all_tokens` in the seed's shape, `{NAME: TOKEN, ROOM_ID: {INTEGRATION: TOKEN}}`;
    /// `scoped`: only `integration`'s own entries.
    pub fn all_tokens(&self, integration: &str, scoped: bool) -> Value {
        let mut all = Map::new();
        for (name, token) in &self.global {
            if !scoped || name == integration {
                all.insert(name.clone(), Value::from(token.expose()));
            }
        }
        for (room, names) in &self.rooms {
            let entries: Map<String, Value> = names
                .iter()
                .filter(|(name, _)| !scoped || *name == integration)
                .map(|(name, token)| (name.clone(), Value::from(token.expose())))
                .collect();
            if !entries.is_empty() {
                all.insert(room.clone(), Value::Object(entries));
            }
        }
        Value::Object(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(raw: &str) -> TokenSpec {
        raw.parse().unwrap()
    }

    #[test]
    fn grammar() {
        assert_eq!(
            spec("echo:abc"),
            TokenSpec::Global {
                name: "echo".into(),
                token: Token::new("abc")
            }
        );
        assert_eq!(
            spec("echo:a:b:c"),
            TokenSpec::Global {
                name: "echo".into(),
                token: Token::new("a:b:c")
            }
        );
        assert_eq!(
            spec("123:echo:x:y"),
            TokenSpec::Room {
                room: "123".into(),
                integration: "echo".into(),
                token: Token::new("x:y")
            }
        );
        // Two parts with a numeric first part: a global token of an all-digit name.
        assert!(matches!(spec("123:x"), TokenSpec::Global { .. }));
        for bad in [
            "",
            "echo",
            "echo:",
            ":abc",
            "ec ho:abc",
            "123:echo:",
            "123:e/x:t",
        ] {
            let err = bad.parse::<TokenSpec>().unwrap_err();
            assert!(!err.to_string().contains("abc"), "{err}");
        }
        assert_eq!(format!("{:?}", spec("123:echo:s3cret")), "123:echo:…");
    }

    #[test]
    fn collisions_and_duplicates_are_named() {
        let t = |raws: &[&str]| {
            let specs: Vec<TokenSpec> = raws.iter().map(|r| spec(r)).collect();
            Tokens::new(&specs)
        };
        assert_eq!(
            t(&["a:1", "a:2"]),
            Err(TokensError::DuplicateGlobal("a".into()))
        );
        assert!(matches!(
            t(&["1:a:1", "1:a:2"]),
            Err(TokensError::DuplicateRoom { .. })
        ));
        assert_eq!(
            t(&["123:G", "123:echo:X"]),
            Err(TokensError::NameIsRoom("123".into()))
        );
        assert_eq!(
            t(&["123:echo:X", "123:G"]),
            Err(TokensError::NameIsRoom("123".into()))
        );
    }

    #[test]
    fn lookup_and_all_tokens() {
        let specs: Vec<TokenSpec> = ["echo:g", "7:echo:r", "file_uploader:f", "7:other:o"]
            .iter()
            .map(|r| spec(r))
            .collect();
        let tokens = Tokens::new(&specs).unwrap();
        assert_eq!(tokens.token_for("7", "echo").unwrap().expose(), "r");
        assert_eq!(tokens.token_for("8", "echo").unwrap().expose(), "g");
        assert!(tokens.token_for("8", "none").is_none());
        assert_eq!(
            tokens.all_tokens("echo", false),
            serde_json::json!({"echo": "g", "file_uploader": "f", "7": {"echo": "r", "other": "o"}})
        );
        assert_eq!(
            tokens.all_tokens("echo", true),
            serde_json::json!({"echo": "g", "7": {"echo": "r"}})
        );
    }

    #[test]
    fn files_name_the_line() {
        let specs = parse_file("# tokens\n\necho:x\n 5:echo:y \n").unwrap();
        assert_eq!(specs.len(), 2);
        let err = parse_file("echo:x\nbad line\n").unwrap_err();
        assert!(err.reason.starts_with("line 2:"), "{err}");
    }
}
