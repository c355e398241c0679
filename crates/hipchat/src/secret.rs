//! API tokens that never show themselves in logs, debug output or errors.

use std::fmt;

/// An API access token; `Debug` and `Display` print a redacted form.
#[derive(Clone, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a raw token string.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The raw token, for putting on the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short, non-secret hint (length only) for diagnostics.
    pub fn redacted(&self) -> String {
        format!("<redacted token, {} chars>", self.0.chars().count())
    }
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
    fn debug_and_display_hide_the_token() {
        let t = Token::new("s3cr3t-value");
        assert!(!format!("{t:?}").contains("s3cr3t"));
        assert!(!format!("{t}").contains("s3cr3t"));
        assert_eq!(t.expose(), "s3cr3t-value");
    }
}
