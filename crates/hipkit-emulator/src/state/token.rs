//! Tokens the emulator makes (the generated one at start, the UI's minted ones): credentials
//! once it listens beyond loopback, so they come from the OS random source.

use axum::http::StatusCode;
use hipkit_server::ApiError;

/// Characters of a token.
const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Characters per token (about 238 bits).
const LENGTH: usize = 40;
/// Random bytes at or above this (the largest multiple of 62 in a byte) are skipped, so every
/// character is equally likely.
const UNBIASED_BELOW: u8 = 248;

/// The OS random source failed, so no token was made.
#[derive(Debug, thiserror::Error)]
#[error("the OS random source failed")]
pub struct RandomSourceError(#[source] getrandom::Error);

impl From<RandomSourceError> for ApiError {
    fn from(e: RandomSourceError) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("no token was made: {}", hipchat::error_chain(&e)),
        )
    }
}

/// A new random 40-character alphanumeric token from the OS random source.
pub fn random_token() -> Result<String, RandomSourceError> {
    let mut token = String::with_capacity(LENGTH);
    let mut bytes = [0u8; 64];
    while token.len() < LENGTH {
        getrandom::fill(&mut bytes).map_err(RandomSourceError)?;
        let wanted = LENGTH - token.len();
        token.extend(
            bytes
                .iter()
                .filter(|b| **b < UNBIASED_BELOW)
                .take(wanted)
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])),
        );
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_40_alphanumerics_and_differ() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), LENGTH);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }
}
