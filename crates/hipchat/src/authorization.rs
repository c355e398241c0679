//! The `Authorization` request header (RFC 9110 §11.6.2): a scheme, matched without regard
//! to case, then its credentials. The one parser every hipkit endpoint uses.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::fmt;

/// The credentials an `Authorization` header carries, by scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Basic` (RFC 7617): base64 of `user:password`; either part may be any bytes.
    Basic {
        /// The user id (the part before the first colon).
        user: Vec<u8>,
        /// The password (everything after the first colon).
        password: Vec<u8>,
    },
    /// `Bearer` (RFC 6750): an API token.
    Bearer(&'a str),
    /// `JWT`: the scheme HipChat signs its webhook calls with.
    Jwt(&'a str),
}

impl fmt::Debug for Credentials<'_> {
    /// The scheme only: credentials are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Basic { .. } => "Basic <redacted>",
            Self::Bearer(_) => "Bearer <redacted>",
            Self::Jwt(_) => "JWT <redacted>",
        })
    }
}

/// Parses an `Authorization` header value: `None` for an unknown scheme, no credentials, or
/// `Basic` credentials that are not base64 of `user:password`. Whitespace around the scheme
/// and the credentials is ignored.
pub fn parse_authorization(value: &str) -> Option<Credentials<'_>> {
    let (scheme, rest) = value.trim().split_once([' ', '\t'])?;
    let credentials = rest.trim();
    if credentials.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("Bearer") {
        Some(Credentials::Bearer(credentials))
    } else if scheme.eq_ignore_ascii_case("JWT") {
        Some(Credentials::Jwt(credentials))
    } else if scheme.eq_ignore_ascii_case("Basic") {
        let mut decoded = STANDARD.decode(credentials).ok()?;
        let colon = decoded.iter().position(|b| *b == b':')?;
        let password = decoded.split_off(colon + 1);
        decoded.truncate(colon);
        Some(Credentials::Basic {
            user: decoded,
            password,
        })
    } else {
        None
    }
}

impl<'a> Credentials<'a> {
    /// The token of a `Bearer` header, if that is what it is.
    pub fn bearer(value: &'a str) -> Option<&'a str> {
        match parse_authorization(value)? {
            Self::Bearer(token) => Some(token),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(pair: &str) -> String {
        format!("Basic {}", STANDARD.encode(pair))
    }

    #[test]
    fn schemes_match_in_any_case() {
        for value in ["Bearer tok", "bearer tok", "BEARER  tok ", " bEaReR\ttok"] {
            assert_eq!(parse_authorization(value), Some(Credentials::Bearer("tok")));
        }
        for value in ["JWT a.b.c", "jwt a.b.c", "Jwt   a.b.c"] {
            assert_eq!(parse_authorization(value), Some(Credentials::Jwt("a.b.c")));
        }
        let expected = Some(Credentials::Basic {
            user: b"bb".to_vec(),
            password: b"pw:with:colons".to_vec(),
        });
        assert_eq!(parse_authorization(&basic("bb:pw:with:colons")), expected);
        let lower = basic("bb:pw:with:colons").replace("Basic", "basic");
        assert_eq!(parse_authorization(&lower), expected);
    }

    #[test]
    fn malformed_values_carry_no_credentials() {
        for value in [
            "",
            "Bearer",
            "Bearer ",
            "Bearertok",
            "Token tok",
            "Basic not-base64!",
            &basic("no-colon"),
        ] {
            assert_eq!(parse_authorization(value), None, "{value:?}");
        }
        assert_eq!(Credentials::bearer("Bearer t"), Some("t"));
        assert_eq!(Credentials::bearer("JWT t"), None);
    }

    #[test]
    fn debug_hides_the_credentials() {
        let shown = format!("{:?}", parse_authorization("Bearer s3cr3t"));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        let shown = format!("{:?}", parse_authorization(&basic("u:s3cr3t")));
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
