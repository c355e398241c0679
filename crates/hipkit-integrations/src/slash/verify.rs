//! Who may run a slash command: Slack's request signing (`X-Slack-Signature` = `v0=` + hex
//! HMAC-SHA256 over `v0:{timestamp}:{body}` with the signing secret, the timestamp within
//! five minutes, compared in constant time) and Mattermost's per-command tokens.

use crate::config::IntegrationsConfig;
use crate::secret::SecretError;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

/// How far a Slack request's timestamp may be from now, either way (Slack's own bound).
pub const MAX_SKEW_SECS: u64 = 5 * 60;

/// Why a slash-command request is refused (401; never shows a secret or a signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `/hooks/slack` without a signing secret.
    #[error(
        "Slack requests cannot be verified: no [integrations.slack] signing_secret is configured"
    )]
    SlackOff,
    /// `/hooks/mattermost` without tokens.
    #[error(
        "Mattermost requests cannot be verified: no [integrations.mattermost] tokens are configured"
    )]
    MattermostOff,
    /// No signature or no timestamp header.
    #[error("the request is not signed (X-Slack-Signature and X-Slack-Request-Timestamp)")]
    Unsigned,
    /// The timestamp is not a Unix time.
    #[error("X-Slack-Request-Timestamp is not a Unix time")]
    BadTimestamp,
    /// The timestamp is more than [`MAX_SKEW_SECS`] from now: a replay, or a wrong clock.
    #[error("X-Slack-Request-Timestamp is more than five minutes from now (a replayed request?)")]
    Stale,
    /// The signature is not the body's.
    #[error("X-Slack-Signature does not match the request")]
    Forged,
    /// No configured Mattermost token.
    #[error("the request carries no valid Mattermost command token")]
    BadToken,
}

/// The slash-command secrets, read at start.
pub struct SlashAuth {
    slack: Option<Vec<u8>>,
    mattermost: Vec<Vec<u8>>,
}

impl std::fmt::Debug for SlashAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlashAuth")
            .field("slack", &self.slack.is_some())
            .field("mattermost_tokens", &self.mattermost.len())
            .finish()
    }
}

impl SlashAuth {
    /// Reads `[integrations.slack] signing_secret` and `[integrations.mattermost] tokens`.
    pub fn from_config(config: &IntegrationsConfig) -> Result<Self, SecretError> {
        let slack = config
            .slack
            .signing_secret
            .as_ref()
            .map(|s| s.read("[integrations.slack] signing_secret"))
            .transpose()?
            .map(String::into_bytes);
        let mattermost = config
            .mattermost
            .tokens
            .iter()
            .map(|t| {
                t.read("[integrations.mattermost] tokens")
                    .map(String::into_bytes)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { slack, mattermost })
    }

    /// Whether Slack requests can be verified.
    pub fn slack_on(&self) -> bool {
        self.slack.is_some()
    }

    /// Whether Mattermost requests can be verified.
    pub fn mattermost_on(&self) -> bool {
        !self.mattermost.is_empty()
    }

    /// Checks a Slack request's signature over `body`, `now` being the Unix time.
    pub fn slack(&self, headers: &HeaderMap, body: &[u8], now: u64) -> Result<(), Refusal> {
        let secret = self.slack.as_deref().ok_or(Refusal::SlackOff)?;
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(timestamp), Some(signature)) =
            (text("x-slack-request-timestamp"), text("x-slack-signature"))
        else {
            return Err(Refusal::Unsigned);
        };
        let at: u64 = timestamp.parse().map_err(|_| Refusal::BadTimestamp)?;
        if now.abs_diff(at) > MAX_SKEW_SECS {
            return Err(Refusal::Stale);
        }
        let given = signature
            .strip_prefix("v0=")
            .and_then(unhex)
            .ok_or(Refusal::Forged)?;
        signer(secret, timestamp, body)
            .verify_slice(&given)
            .map_err(|_| Refusal::Forged)
    }

    /// Checks a Mattermost request's token (the form's `token`, or `Authorization: Token`),
    /// against every configured token in constant time.
    pub fn mattermost(&self, headers: &HeaderMap, form_token: Option<&str>) -> Result<(), Refusal> {
        if self.mattermost.is_empty() {
            return Err(Refusal::MattermostOff);
        }
        let header = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Token "));
        let given = form_token.or(header).ok_or(Refusal::BadToken)?.as_bytes();
        let known = self.mattermost.iter().fold(Choice::from(0), |found, t| {
            found | t.as_slice().ct_eq(given)
        });
        if bool::from(known) {
            Ok(())
        } else {
            Err(Refusal::BadToken)
        }
    }
}

/// The HMAC over Slack's base string `v0:{timestamp}:{body}`.
fn signer(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// Lower- or upper-case hex, decoded.
fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: u8| char::from(b).to_digit(16);
            u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> SlashAuth {
        SlashAuth {
            slack: Some(b"8f742231b10e8888abcd99yyyzzz85a5".to_vec()),
            mattermost: vec![b"tok-one".to_vec(), b"tok-two".to_vec()],
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    /// Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
    #[test]
    fn slacks_documented_example_verifies() {
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let signed = headers(&[
            ("x-slack-request-timestamp", "1531420618"),
            (
                "x-slack-signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            ),
        ]);
        assert_eq!(auth().slack(&signed, body, 1_531_420_618 + 60), Ok(()));
        assert_eq!(
            auth().slack(&signed, body, 1_531_420_618 + 301),
            Err(Refusal::Stale)
        );
        assert_eq!(
            auth().slack(&signed, b"token=other", 1_531_420_618),
            Err(Refusal::Forged)
        );
        assert_eq!(
            auth().slack(&HeaderMap::new(), body, 0),
            Err(Refusal::Unsigned)
        );
        let odd = headers(&[
            ("x-slack-request-timestamp", "1531420618"),
            ("x-slack-signature", "v0=abc"),
        ]);
        assert_eq!(
            auth().slack(&odd, body, 1_531_420_618),
            Err(Refusal::Forged)
        );
    }

    #[test]
    fn mattermost_tokens() {
        let none = HeaderMap::new();
        assert_eq!(auth().mattermost(&none, Some("tok-two")), Ok(()));
        assert_eq!(
            auth().mattermost(&none, Some("tok-three")),
            Err(Refusal::BadToken)
        );
        assert_eq!(auth().mattermost(&none, None), Err(Refusal::BadToken));
        let header = headers(&[("authorization", "Token tok-one")]);
        assert_eq!(auth().mattermost(&header, None), Ok(()));
    }
}
