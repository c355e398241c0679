//! References to rooms (id or name) and users (id, email or @mention) as they appear in paths.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::fmt;

/// Characters kept as-is in a path segment; everything else (space → `%20`, never `+`) is encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'@');

/// Percent-encodes one path segment the way HipChat expects.
pub fn encode_segment(raw: &str) -> String {
    utf8_percent_encode(raw, SEGMENT).to_string()
}

/// A room, named by numeric id or by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RoomRef {
    /// Numeric room id.
    Id(u64),
    /// Room name (may contain spaces).
    Name(String),
}

impl RoomRef {
    /// Parses a path/CLI value: all digits → id, anything else → name.
    pub fn parse(raw: &str) -> Self {
        match raw.parse::<u64>() {
            Ok(id) if !raw.is_empty() => Self::Id(id),
            _ => Self::Name(raw.to_owned()),
        }
    }

    /// The encoded path segment.
    pub fn to_segment(&self) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Name(name) => encode_segment(name),
        }
    }
}

impl fmt::Display for RoomRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

impl From<&str> for RoomRef {
    fn from(raw: &str) -> Self {
        Self::parse(raw)
    }
}

impl From<u64> for RoomRef {
    fn from(id: u64) -> Self {
        Self::Id(id)
    }
}

/// A user, named by numeric id, email, or `@mention_name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserRef {
    /// Numeric user id.
    Id(u64),
    /// Email address.
    Email(String),
    /// Mention name without the leading `@`.
    Mention(String),
}

impl UserRef {
    /// Parses a path/CLI value: digits → id, leading `@` → mention, otherwise email.
    pub fn parse(raw: &str) -> Self {
        if let Some(mention) = raw.strip_prefix('@') {
            return Self::Mention(mention.to_owned());
        }
        match raw.parse::<u64>() {
            Ok(id) => Self::Id(id),
            Err(_) => Self::Email(raw.to_owned()),
        }
    }

    /// The encoded path segment.
    pub fn to_segment(&self) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Email(email) => encode_segment(email),
            Self::Mention(name) => format!("@{}", encode_segment(name)),
        }
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Email(email) => f.write_str(email),
            Self::Mention(name) => write!(f, "@{name}"),
        }
    }
}

impl From<&str> for UserRef {
    fn from(raw: &str) -> Self {
        Self::parse(raw)
    }
}

impl From<u64> for UserRef {
    fn from(id: u64) -> Self {
        Self::Id(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_use_percent_20_never_plus() {
        assert_eq!(RoomRef::parse("Build Room").to_segment(), "Build%20Room");
        assert_eq!(RoomRef::parse("a+b/c").to_segment(), "a%2Bb%2Fc");
        assert_eq!(RoomRef::parse("42"), RoomRef::Id(42));
    }

    #[test]
    fn user_refs_parse_all_three_forms() {
        assert_eq!(UserRef::parse("7"), UserRef::Id(7));
        assert_eq!(UserRef::parse("@alice"), UserRef::Mention("alice".into()));
        assert_eq!(UserRef::parse("a@b.example").to_segment(), "a@b.example");
    }
}
