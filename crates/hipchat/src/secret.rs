//! API tokens that never show themselves in logs, debug output or errors.

use std::fmt;

/// An API access token; `Debug` and `Display` print a redacted form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

impl<'de> serde::Deserialize<'de> for Token {
    /// A string; an integer is taken as its digits, because configuration layers that parse
    /// environment values (figment's) turn an all-digit token into a number.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Token;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an API token string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Token, E> {
                Ok(Token::new(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Token, E> {
                Ok(Token::new(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Token, E> {
                Ok(Token::new(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Token {
    /// Wraps a raw token string.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The raw token, for putting on the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `given` is this token, compared without stopping at the first difference
    /// (so the time taken does not tell how much of a guess was right).
    pub fn matches(&self, given: &[u8]) -> bool {
        same_secret(self.0.as_bytes(), given)
    }

    /// A short, non-secret hint (length only) for diagnostics.
    pub fn redacted(&self) -> String {
        format!("<redacted token, {} chars>", self.0.chars().count())
    }
}

/// Whether two secrets are equal, compared in constant time (`subtle`): the time taken says
/// nothing about how much of a guess was right (only, at most, whether its length was).
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole_values() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(same_secret(b"", b""));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
        assert!(Token::new("abc").matches(b"abc"));
        assert!(!Token::new("abc").matches(b"ab"));
    }

    #[test]
    fn debug_and_display_hide_the_token() {
        let t = Token::new("s3cr3t-value");
        assert!(!format!("{t:?}").contains("s3cr3t"));
        assert!(!format!("{t}").contains("s3cr3t"));
        assert_eq!(t.expose(), "s3cr3t-value");
    }
}
