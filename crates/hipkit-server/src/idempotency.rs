//! The `Idempotency-Key` request header (as Stripe's and the IETF draft's): a client's
//! name for a request, so a retry is stored once.

use crate::ApiError;
use axum::http::HeaderMap;

/// The header's name.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The request's `Idempotency-Key`, if any: 1 to `max_len` visible ASCII characters, or a
/// 400 saying so.
pub fn idempotency_key(headers: &HeaderMap, max_len: usize) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default();
    check_idempotency_key(key, max_len)?;
    Ok(Some(key))
}

/// A key (from the header or a body's `id`) is 1 to `max_len` visible ASCII characters.
pub fn check_idempotency_key(key: &str, max_len: usize) -> Result<(), ApiError> {
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > max_len || !visible {
        return Err(ApiError::bad_request(format!(
            "an idempotency key is 1 to {max_len} visible ASCII characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_within_the_bound() {
        let mut headers = HeaderMap::new();
        assert_eq!(idempotency_key(&headers, 8).ok(), Some(None));
        headers.insert(IDEMPOTENCY_KEY, "build-7".parse().unwrap());
        assert_eq!(idempotency_key(&headers, 8).ok(), Some(Some("build-7")));
        for bad in ["", "a b", "123456789", "caf\u{e9}"] {
            assert!(check_idempotency_key(bad, 8).is_err(), "{bad:?}");
        }
    }
}
