//! Replies to a slash command: the integration's HipChat notification becomes the platform's
//! response (`{"response_type": "in_channel" | "ephemeral", "text": ...}`, the same for Slack
//! and Mattermost); failures are always ephemeral. A reply that comes after the
//! acknowledgement is posted to the request's `response_url`, with retries.

use super::Platform;
use crate::reply::Reply;
use hipchat::{MessageFormat, RoomNotification};
use serde_json::{Value, json};
use std::time::Duration;

/// The response body for a call's outcome (`Err`: a failure), or `None` for an empty reply.
pub fn body(platform: Platform, outcome: &Result<Reply, Reply>, ephemeral: bool) -> Option<Value> {
    let (reply, ephemeral) = match outcome {
        Ok(reply) => (reply, ephemeral),
        Err(failed) => (failed, true),
    };
    match reply {
        Reply::Empty => None,
        Reply::Notification(n) => Some(json!({
            "response_type": if ephemeral { "ephemeral" } else { "in_channel" },
            "text": text(platform, n),
        })),
    }
}

/// What the user sees while a call runs on past the platform's patience.
pub fn acknowledgement(line: &str) -> Value {
    json!({
        "response_type": "ephemeral",
        "text": format!("{} is running; its answer follows here.", first_word(line)),
    })
}

/// The command of a command line (`/deploy`).
pub(crate) fn first_word(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or(line)
}

/// The notification's text for `platform`. The seam where `hipkit-translate` (the bridge's
/// translation, on its own branch) takes over: until then an html message keeps its visible
/// text (tags dropped, entities decoded) and a card only its fallback `message`.
pub fn text(_platform: Platform, n: &RoomNotification) -> String {
    match n.message_format {
        Some(MessageFormat::Text) => n.message.clone(),
        _ => html_text(&n.message),
    }
}

/// An html message's visible text.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Tries for a late reply: the first right away, then after 1, 2, 4 and 8 s.
const ATTEMPTS: u32 = 5;

/// Posts `body` to `url` until it is taken (2xx), refused for good (4xx but 429), or
/// [`ATTEMPTS`] tries have failed; logs the outcome (never the URL, which holds a secret).
pub async fn post_late(
    http: reqwest::Client,
    platform: Platform,
    url: String,
    body: Value,
    call: &str,
) {
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
        }
        let why = match http.post(&url).json(&body).send().await {
            Ok(r) if r.status().is_success() => {
                tracing::info!(platform = platform.name(), call, "late reply posted");
                return;
            }
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                tracing::warn!(
                    platform = platform.name(),
                    call,
                    status = r.status().as_u16(),
                    "late reply refused by response_url"
                );
                return;
            }
            Ok(r) => format!("status {}", r.status().as_u16()),
            Err(e) => hipchat::error_chain(&e.without_url()),
        };
        tracing::warn!(
            platform = platform.name(),
            call,
            attempt = attempt + 1,
            "late reply not posted: {why}"
        );
    }
    tracing::error!(
        platform = platform.name(),
        call,
        "late reply dropped after {ATTEMPTS} tries"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_become_responses() {
        let ok = Ok(Reply::Notification(Box::new(RoomNotification::new(
            "<b>Deployed</b> &amp; done",
        ))));
        assert_eq!(
            body(Platform::Slack, &ok, false),
            Some(json!({"response_type": "in_channel", "text": "Deployed & done"}))
        );
        assert_eq!(
            body(Platform::Mattermost, &ok, true).unwrap()["response_type"],
            "ephemeral"
        );
        let failed = Err(Reply::error("/x failed"));
        assert_eq!(
            body(Platform::Slack, &failed, false),
            Some(json!({"response_type": "ephemeral", "text": "/x failed"}))
        );
        assert_eq!(body(Platform::Slack, &Ok(Reply::Empty), false), None);
        assert_eq!(
            acknowledgement("/slow a b")["text"],
            "/slow is running; its answer follows here."
        );
    }
}
