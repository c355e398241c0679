//! `GET /_emulator/files/{id}/{name}`: shared files served so that a browser never runs
//! them in the emulator's origin: always an attachment (named as uploaded, safely
//! quoted and encoded), never sniffed, and sandboxed should it be rendered anyway.

use crate::state::Shared;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hipkit_server::ApiError;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 8187 `attr-char`s are kept as-is in `filename*`; everything else is encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// What the file may do if a browser renders it after all: nothing.
const SANDBOX: &str = "default-src 'none'; sandbox";

/// Serves a shared file by id as an attachment; no token needed (the id is random).
pub async fn download(
    State(s): State<Shared>,
    Path((id, _name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let world = s.world();
    let file = world
        .file(&id)
        .ok_or_else(|| ApiError::not_found("File not found"))?;
    let content_type = HeaderValue::try_from(file.content_type.as_str())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, attachment(&file.name)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(SANDBOX),
            ),
        ],
        file.data.clone(),
    )
        .into_response())
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<encoded name>`.
fn attachment(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if !matches!(c, '"' | '\\' | '%') => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(name, ATTR_CHAR);
    HeaderValue::try_from(format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_safely_and_kept_in_full_as_utf8() {
        let cases = [
            (
                "report.txt",
                "attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt",
            ),
            (
                "a \"b\"\\c%.html",
                "attachment; filename=\"a _b__c_.html\"; filename*=UTF-8''a%20%22b%22%5Cc%25.html",
            ),
            (
                "résumé\r\n.pdf",
                "attachment; filename=\"r_sum___.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%0D%0A.pdf",
            ),
        ];
        for (name, expected) in cases {
            assert_eq!(attachment(name), expected, "{name:?}");
        }
    }
}
