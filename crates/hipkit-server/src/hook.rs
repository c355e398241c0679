//! What every webhook endpoint (`/hooks/buildbot`, `/hooks/hipchat`) asks of a request
//! before reading it: a JSON body, as the real senders (Buildbot's HttpStatusPush, HipChat)
//! send, and no browser marking it as sent by another site. A cross-site HTML form can
//! only send `text/plain`, form or multipart bodies, so with both checks a web page the
//! developer visits cannot post builds or run integrations.

use crate::ApiError;
use axum::http::{HeaderMap, StatusCode, header};

/// `Ok` when a webhook request may be read: its `Content-Type` is JSON (`application/json`
/// or `application/*+json`, parameters allowed), and neither `Sec-Fetch-Site: cross-site`
/// nor an `Origin` other than the request's own `Host` marks it as sent by another site.
/// Otherwise the refusal: 403 for a cross-site request, 415 for another content type.
pub fn check_webhook(headers: &HeaderMap) -> Result<(), ApiError> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if text("sec-fetch-site").is_some_and(|s| s.trim().eq_ignore_ascii_case("cross-site")) {
        return Err(cross_site());
    }
    if origin_is_own(headers) == Some(false) {
        return Err(cross_site());
    }
    let media = text(header::CONTENT_TYPE.as_str())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json = media == "application/json"
        || media
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be sent as `Content-Type: application/json`",
        ));
    }
    Ok(())
}

/// Whether the request's `Origin` names its own `Host` (`scheme://host[:port]` against
/// `Host`); `None` without an `Origin` (servers and curl send none, browsers do).
pub fn origin_is_own(headers: &HeaderMap) -> Option<bool> {
    let origin = headers.get(header::ORIGIN)?;
    let named = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host);
    let own = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    Some(named.is_some() && named == own)
}

fn cross_site() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "a request another site's page sent is refused (Origin / Sec-Fetch-Site)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pairs: &[(&'static str, &str)]) -> Option<u16> {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        check_webhook(&h).err().map(|e| e.status().as_u16())
    }

    #[test]
    fn json_from_a_non_browser_or_the_same_origin_passes() {
        assert_eq!(check(&[("content-type", "application/json")]), None);
        assert_eq!(
            check(&[("content-type", "Application/JSON; charset=utf-8")]),
            None
        );
        assert_eq!(
            check(&[
                ("content-type", "application/json"),
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "same-origin"),
            ]),
            None
        );
    }

    #[test]
    fn forms_and_cross_site_requests_are_refused() {
        assert_eq!(check(&[("content-type", "text/plain")]), Some(415));
        assert_eq!(check(&[]), Some(415));
        assert_eq!(
            check(&[("content-type", "application/x-www-form-urlencoded")]),
            Some(415)
        );
        let json = ("content-type", "application/json");
        assert_eq!(check(&[json, ("sec-fetch-site", "cross-site")]), Some(403));
        assert_eq!(
            check(&[
                json,
                ("host", "127.0.0.1:8080"),
                ("origin", "https://evil.example")
            ]),
            Some(403)
        );
        assert_eq!(
            check(&[json, ("host", "127.0.0.1:8080"), ("origin", "null")]),
            Some(403)
        );
    }
}
