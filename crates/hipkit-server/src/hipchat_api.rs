//! HipChat's request rules, shared by every listener that answers HipChat API calls (the
//! emulator and the bridge), so they cannot drift: the token (Bearer header or
//! `auth_token`), scope checks with HipChat's 401/403 words and `auth_test`'s 202, JSON
//! bodies (`Content-Type`, parsing, the `hipchat` crate's validation), shared files
//! (multipart) and v1's parameters.

use crate::ApiError;
use axum::http::{HeaderMap, StatusCode, header};
use hipchat::{
    CreateRoom, CreateUser, CreateWebhook, PrivateMessage, RoomMessage, RoomNotification, Scope,
    SetTopic, Validate,
};
use serde::de::DeserializeOwned;

/// Query parameters as decoded pairs.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A v1 call's parameters: the query's pairs, then the form body's (djhipchat2 sends
/// `auth_token` in the body).
pub fn v1_params(query: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    let mut pairs = query_pairs(query);
    pairs.extend(form_urlencoded::parse(body).into_owned());
    pairs
}

/// The raw token of a request, from the `Authorization: Bearer` header first, then the
/// `auth_token` parameter.
pub fn raw_token(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(hipchat::Credentials::bearer)
        .map(str::to_owned);
    from_header.or_else(|| {
        query
            .iter()
            .find(|(k, _)| k == "auth_token")
            .map(|(_, v)| v.clone())
    })
}

/// Whether the query asks for `auth_test=true` (check access, skip the action).
pub fn is_auth_test(query: &[(String, String)]) -> bool {
    query.iter().any(|(k, v)| k == "auth_test" && v == "true")
}

/// 401 for a request without a token, in HipChat's words.
pub fn no_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Authenticated requests only. See https://www.hipchat.com/docs/apiv2/auth for more information.",
    )
}

/// 401 for an unknown token, in HipChat's words.
pub fn bad_token() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "Invalid OAuth session")
}

/// 403 unless `granted` holds one of `any_of` (HipChat's words); with `auth_test`, 202
/// "has access" instead of going on.
pub fn require_scopes(
    granted: &[Scope],
    any_of: &[Scope],
    auth_test: bool,
) -> Result<(), ApiError> {
    if !any_of.iter().any(|s| granted.contains(s)) {
        let list = any_of
            .iter()
            .map(|s| format!("u'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("This action requires one of the following scopes: [{list}]"),
        ));
    }
    if auth_test {
        return Err(ApiError::new(
            StatusCode::ACCEPTED,
            "This auth_token has access to use this method.",
        ));
    }
    Ok(())
}

/// Where v1's errors send the caller.
const V1_AUTH_DOCS: &str = "Please see: https://www.hipchat.com/docs/api/auth";

/// v1's 401 for a call without a token.
pub fn v1_no_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        format!("Auth token not found. {V1_AUTH_DOCS}"),
    )
}

/// v1's 401 for an unknown token.
pub fn v1_bad_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        format!("Auth token invalid. {V1_AUTH_DOCS}"),
    )
}

/// v1's 403 unless `granted` holds one of `any_of`; 400 unless the call asks for JSON.
pub fn v1_require(
    granted: &[Scope],
    any_of: &[Scope],
    pairs: &[(String, String)],
) -> Result<(), ApiError> {
    if !any_of.iter().any(|sc| granted.contains(sc)) {
        let names: Vec<&str> = any_of.iter().map(|sc| sc.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Auth token not allowed to use this method (it needs one of the scopes: {}). {V1_AUTH_DOCS}",
                names.join(", ")
            ),
        ));
    }
    if !hipchat::v1_format_is_json(pairs) {
        return Err(ApiError::bad_request(
            "Unsupported format: this server answers format=json only",
        ));
    }
    Ok(())
}

/// A JSON request body: who may send it and what makes it acceptable.
pub trait JsonBody: DeserializeOwned {
    /// The caller needs one of these scopes.
    const SCOPES: &'static [Scope];

    /// Checks the parsed body (HipChat's limits for API bodies); 400 on failure.
    fn check(&self) -> Result<(), ApiError>;
}

/// HipChat API bodies: validated by the `hipchat` crate's rules, the client's own.
macro_rules! hipchat_bodies {
    ($($body:ty => $scope:ident),+ $(,)?) => {$(
        impl JsonBody for $body {
            const SCOPES: &'static [Scope] = &[Scope::$scope];

            fn check(&self) -> Result<(), ApiError> {
                Ok(self.validate()?)
            }
        }
    )+};
}

hipchat_bodies!(
    RoomNotification => SendNotification,
    RoomMessage => SendMessage,
    PrivateMessage => SendMessage,
    CreateRoom => ManageRooms,
    CreateWebhook => AdminRoom,
    CreateUser => AdminGroup,
    SetTopic => AdminRoom,
);

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// Parses a JSON body after checking the content type, as HipChat does: 400 "Invalid content
/// type", "Malformed JSON" or "Invalid request body".
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::bad_request("Invalid content type"));
    }
    serde_json::from_slice(body).map_err(|e| {
        let kind = if e.is_syntax() || e.is_eof() {
            "Malformed JSON"
        } else {
            "Invalid request body"
        };
        ApiError::bad_request(format!("{kind}: {e}"))
    })
}

/// Parses and checks a [`JsonBody`] (after the caller's scopes were checked).
pub fn json_body<T: JsonBody>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    let body: T = parse_json(headers, body)?;
    body.check()?;
    Ok(body)
}

/// What a share-file call carried: the `metadata` part's message and the `file` part.
#[derive(Debug, Clone)]
pub struct SharedFile {
    /// The message sent with the file (may be empty).
    pub message: String,
    /// The file's name (`file` when the part names none).
    pub name: String,
    /// Its content type (`application/octet-stream` when the part gives none).
    pub content_type: String,
    /// Its bytes.
    pub data: bytes::Bytes,
}

fn boundary(headers: &HeaderMap) -> Result<String, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut parts = ct.split(';');
    let kind = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if kind != "multipart/related" && kind != "multipart/form-data" {
        return Err(ApiError::bad_request("Invalid content type"));
    }
    parts
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"').to_owned())
        .filter(|b| !b.is_empty())
        .ok_or_else(|| ApiError::bad_request("Multipart boundary missing"))
}

/// Reads a share-file body (`multipart/related` with a JSON `metadata` part and a `file`
/// part) as HipChat does; 400 for another content type, a malformed body or no file.
pub async fn read_shared_file(
    headers: &HeaderMap,
    body: bytes::Bytes,
) -> Result<SharedFile, ApiError> {
    let boundary = boundary(headers)?;
    let stream =
        futures_util::stream::once(async move { Ok::<bytes::Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let bad = |e: multer::Error| ApiError::bad_request(format!("Malformed multipart body: {e}"));
    let mut message = String::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("metadata") => {
                let raw = field.bytes().await.map_err(bad)?;
                let meta: serde_json::Value = serde_json::from_slice(&raw)
                    .map_err(|e| ApiError::bad_request(format!("metadata part: {e}")))?;
                message = meta["message"].as_str().unwrap_or("").to_owned();
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("file").to_owned();
                let content_type = field
                    .content_type()
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "application/octet-stream".into());
                let data = field.bytes().await.map_err(bad)?;
                file = Some((name, content_type, data));
            }
            _ => {}
        }
    }
    let (name, content_type, data) =
        file.ok_or_else(|| ApiError::bad_request("Multipart body has no 'file' part"))?;
    Ok(SharedFile {
        message,
        name,
        content_type,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_header_first() {
        let mut headers = HeaderMap::new();
        let query = query_pairs(Some("auth_token=q&auth_test=true"));
        assert_eq!(raw_token(&headers, &query).as_deref(), Some("q"));
        assert!(is_auth_test(&query));
        headers.insert(header::AUTHORIZATION, "Bearer h".parse().unwrap());
        assert_eq!(raw_token(&headers, &query).as_deref(), Some("h"));
    }

    #[test]
    fn scopes_are_refused_in_hipchat_words() {
        let e = require_scopes(&[Scope::ViewRoom], &[Scope::SendNotification], false).unwrap_err();
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert!(
            e.message().contains("u'send_notification'"),
            "{}",
            e.message()
        );
        let e = require_scopes(&[Scope::SendNotification], &[Scope::SendNotification], true)
            .unwrap_err();
        assert_eq!(e.status(), StatusCode::ACCEPTED);
    }

    #[test]
    fn json_bodies_need_the_content_type_and_hipchats_limits() {
        let mut headers = HeaderMap::new();
        let e = json_body::<RoomNotification>(&headers, br#"{"message": "hi"}"#).unwrap_err();
        assert_eq!(e.message(), "Invalid content type");
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(json_body::<RoomNotification>(&headers, br#"{"message": "hi"}"#).is_ok());
        let e = json_body::<RoomNotification>(&headers, br#"{"message": ""}"#).unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let e = json_body::<RoomNotification>(&headers, b"{").unwrap_err();
        assert!(e.message().starts_with("Malformed JSON"), "{}", e.message());
    }
}
