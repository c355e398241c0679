//! File sharing: `multipart/related` with a JSON `metadata` part and a `file` part.

use super::messages::{item, room_recipient, user_recipient};
use super::sender;
use crate::auth::Caller;
use crate::state::{FileTarget, Shared, StoredFile};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hipchat::{FileInfo, MessageType, Scope};
use hipkit_server::{ApiError, TimedBody};

/// What a share request carried.
struct Upload {
    message: String,
    file: StoredFile,
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

async fn read_upload(headers: &HeaderMap, body: Bytes) -> Result<Upload, ApiError> {
    let boundary = boundary(headers)?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
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
                file = Some(StoredFile {
                    name,
                    content_type,
                    data,
                });
            }
            _ => {}
        }
    }
    let file = file.ok_or_else(|| ApiError::bad_request("Multipart body has no 'file' part"))?;
    Ok(Upload { message, file })
}

/// Stores the file and posts the history item pointing at it to `target`.
fn store(s: &Shared, c: &Caller, upload: Upload, target: FileTarget) -> Result<(), ApiError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let name = upload.file.name.clone();
    let url = format!(
        "{}/_emulator/files/{id}/{}",
        s.base,
        hipchat::refs::encode_segment(&name)
    );
    let size = upload.file.data.len() as u64;
    let mut world = s.world();
    let mut entry = item(sender(s, &world, c), upload.message, MessageType::Message);
    entry.file = Some(FileInfo {
        name,
        size,
        url,
        thumb_url: None,
    });
    world.share_file(target, id, upload.file, entry)
}

/// `POST /v2/room/{room}/share/file` → 204.
pub async fn share_with_room(
    State(s): State<Shared>,
    c: Caller,
    Path(room): Path<String>,
    headers: HeaderMap,
    TimedBody(body): TimedBody,
) -> Result<Response, ApiError> {
    c.require(&[Scope::SendMessage])?;
    let upload = read_upload(&headers, body).await?;
    let (room, flood_headers) = room_recipient(&s, &room)?;
    store(&s, &c, upload, FileTarget::Room(room))?;
    Ok((StatusCode::NO_CONTENT, flood_headers).into_response())
}

/// `POST /v2/user/{user}/share/file` → 204.
pub async fn share_with_user(
    State(s): State<Shared>,
    c: Caller,
    Path(user): Path<String>,
    headers: HeaderMap,
    TimedBody(body): TimedBody,
) -> Result<Response, ApiError> {
    c.require(&[Scope::SendMessage])?;
    let upload = read_upload(&headers, body).await?;
    let (target, flood_headers) = user_recipient(&s, &user)?;
    let to = FileTarget::User {
        from: c.user_id,
        to: target,
    };
    store(&s, &c, upload, to)?;
    Ok((StatusCode::NO_CONTENT, flood_headers).into_response())
}
