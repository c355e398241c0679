//! Discord webhooks: `POST {url}` with the bodies `hipkit-translate` builds (embeds, and
//! `allowed_mentions` that ping nobody unless configured). Discord's 429s carry
//! `retry_after` in the body, which [`crate::deliver::send`] honours. A shared file is
//! uploaded with the message: `multipart/form-data` with the JSON body as `payload_json` and
//! the file as `files[0]`, described in the body's `attachments`
//! (<https://discord.com/developers/docs/reference#uploading-files>).
//! <https://discord.com/developers/docs/resources/webhook#execute-webhook>

use crate::accepted::FileNote;
use crate::deliver::{FormPart, Request};
use serde_json::{Value, json};

/// `kind = "discord"`: `url`, optional `username`, `icon_url`.
pub type DiscordConfig = super::HookConfig;

/// The webhook request posting `body` with the shared file `note` (its bytes `data`).
pub fn with_file(url: &str, mut body: Value, note: &FileNote, data: &[u8]) -> Request {
    body["attachments"] = json!([{"id": 0, "filename": note.name}]);
    let payload = body.to_string();
    Request::form_data(
        url,
        &[
            FormPart {
                name: "payload_json",
                filename: None,
                content_type: Some("application/json"),
                data: payload.as_bytes(),
            },
            FormPart {
                name: "files[0]",
                filename: Some(&note.name),
                content_type: Some(&note.content_type),
                data,
            },
        ],
    )
}
