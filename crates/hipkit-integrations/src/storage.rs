//! Storage administration: the seed's `save`/`load`/`erase` as authenticated JSON endpoints
//! (mounted behind the admin token): `GET /admin/storage` lists integrations with storage,
//! `GET /admin/storage/{integration}` exports one as a JSON object (streamed: one value in
//! memory at a time, whatever the storage's size), `PUT` imports such an
//! object (replacing), `DELETE` erases. Server-chosen locations only: no request names a file.
//!
//! Keys are stored as text: an integer key `n` written by a Python integration is stored as
//! `#n` (and read back as the integer), a string key starting with `#` gets one more `#`.

use crate::entries::Entries;
use crate::runtime::quota::entry_size;
use crate::service::Integrations;
use crate::tokens::valid_name;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hipkit_server::ApiError;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The admin storage routes (mount them with `Server::merge_protected`).
pub fn router(integrations: Integrations) -> Router {
    Router::new()
        .route("/admin/storage", get(list))
        .route(
            "/admin/storage/{integration}",
            get(export).put(import).delete(erase),
        )
        .with_state(integrations)
}

fn checked(name: &str) -> Result<(), ApiError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "`{}` is not an integration name (letters, digits, `_` and `-`)",
            crate::runtime::one_line(name)
        )))
    }
}

fn store_failed(e: hipkit_store::StoreError) -> ApiError {
    ApiError::unavailable(format!("the store failed: {e}"))
}

async fn list(State(s): State<Integrations>) -> Result<Response, ApiError> {
    let namespaces = s.store().namespaces().await.map_err(store_failed)?;
    Ok(axum::Json(json!({ "integrations": namespaces })).into_response())
}

async fn export(
    State(s): State<Integrations>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    checked(&name)?;
    let entries = Entries::open(s.store(), &name)
        .await
        .map_err(store_failed)?;
    let chunks = futures_util::stream::unfold(Some((entries, true)), |state| async move {
        let (mut entries, first) = state?;
        let open: &[u8] = if first { b"{" } else { b"," };
        match entries.next().await {
            Some(Ok((key, value))) => {
                let chunk = pair(open, &key, &value).map_err(std::io::Error::other);
                Some((chunk, Some((entries, false))))
            }
            Some(Err(e)) => {
                // The status is sent already: the body ends short (not JSON), and is logged.
                tracing::error!(integration = %entries.namespace(), "storage export failed: {e}");
                Some((Err(std::io::Error::other(e)), None))
            }
            None => {
                let close: &'static [u8] = if first { b"{}" } else { b"}" };
                Some((Ok(Bytes::from_static(close)), None))
            }
        }
    });
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(chunks),
    )
        .into_response())
}

/// One `"key":value` of an export, after `open` (`{` or `,`).
fn pair(open: &[u8], key: &str, value: &Value) -> Result<Bytes, serde_json::Error> {
    let size = usize::try_from(entry_size(key, value)).unwrap_or(0);
    let mut chunk = Vec::with_capacity(open.len() + size + 4);
    chunk.extend_from_slice(open);
    serde_json::to_writer(&mut chunk, key)?;
    chunk.push(b':');
    serde_json::to_writer(&mut chunk, value)?;
    Ok(Bytes::from(chunk))
}

async fn import(
    State(s): State<Integrations>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    checked(&name)?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object of keys and values (what GET exports)",
        ));
    };
    let pairs: BTreeMap<String, Value> = map.into_iter().collect();
    let store = s.store();
    let imported = s
        .storage_exclusive(&name, store.import(&name, &pairs, true))
        .await
        .map_err(|e| match e {
            hipkit_store::StoreError::InvalidKey { .. } => ApiError::bad_request(e.to_string()),
            other => store_failed(other),
        })?;
    tracing::info!(integration = %name, keys = imported, "storage imported");
    Ok(axum::Json(json!({ "integration": name, "imported": imported })).into_response())
}

async fn erase(
    State(s): State<Integrations>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    checked(&name)?;
    let store = s.store();
    let erased = s
        .storage_exclusive(&name, store.erase(&name))
        .await
        .map_err(store_failed)?;
    tracing::info!(integration = %name, keys = erased, "storage erased");
    Ok(axum::Json(json!({ "integration": name, "erased": erased })).into_response())
}

/// The admin storage paths when no admin token is configured: every call is refused (403)
/// with what to set, instead of the storage being open to anyone.
pub fn disabled_router() -> Router {
    async fn refuse() -> ApiError {
        ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "the storage admin endpoints need an admin token: set [serve] api_token \
             (HIPKIT_SERVE__API_TOKEN)",
        )
    }
    Router::new()
        .route("/admin/storage", axum::routing::any(refuse))
        .route("/admin/storage/{integration}", axum::routing::any(refuse))
}
