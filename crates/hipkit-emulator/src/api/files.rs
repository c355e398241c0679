//! File sharing: `multipart/related` with a JSON `metadata` part and a `file` part.

use super::messages::{item, room_recipient, user_recipient};
use super::sender;
use crate::auth::Caller;
use crate::state::{FileTarget, Shared, StoredFile};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hipchat::{FileInfo, MessageType, Scope};
use hipkit_server::hipchat_api;
use hipkit_server::{ApiError, TimedBody};

/// What a share request carried.
struct Upload {
    message: String,
    file: StoredFile,
}

/// Reads the share body with HipChat's rules (shared with the bridge).
async fn read_upload(headers: &HeaderMap, body: Bytes) -> Result<Upload, ApiError> {
    let shared = hipchat_api::read_shared_file(headers, body).await?;
    Ok(Upload {
        message: shared.message,
        file: StoredFile {
            name: shared.name,
            content_type: shared.content_type,
            data: shared.data,
        },
    })
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
