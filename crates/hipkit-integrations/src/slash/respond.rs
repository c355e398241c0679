//! Replies to a slash command: the integration's HipChat notification becomes the platform's
//! response (`{"response_type": "in_channel" | "ephemeral", "text": ...}`, the same for Slack
//! and Mattermost, translated by `hipkit-translate`); failures are always ephemeral. A reply that
//! comes after the answer goes to the request's `response_url` ([`super::late`]).

use super::Platform;
use crate::reply::Reply;
use hipkit_translate::{Options, Outgoing, translate};
use serde_json::{Value, json};

/// The response bodies for a call's outcome (`Err`: a failure), translated for `platform` by
/// `hipkit-translate` as the bridge translates messages (one body per part of a long reply),
/// each with its `response_type`; none for an empty reply.
pub fn bodies(platform: Platform, outcome: &Result<Reply, Reply>, ephemeral: bool) -> Vec<Value> {
    let (reply, ephemeral) = match outcome {
        Ok(reply) => (reply, ephemeral),
        Err(failed) => (failed, true),
    };
    let Reply::Notification(n) = reply else {
        return Vec::new();
    };
    let outgoing = Outgoing {
        notification: n,
        file: None,
    };
    let mut parts = translate(platform.translated(), &outgoing, &Options::default());
    for part in &mut parts {
        if let Some(fields) = part.as_object_mut() {
            let kind = if ephemeral { "ephemeral" } else { "in_channel" };
            fields.insert("response_type".to_owned(), kind.into());
        }
    }
    parts
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

#[cfg(test)]
mod tests {
    use super::*;
    use hipchat::RoomNotification;

    #[test]
    fn replies_become_responses() {
        let ok = Ok(Reply::Notification(Box::new(RoomNotification::new(
            "<b>Deployed</b> &amp; done",
        ))));
        let slack = bodies(Platform::Slack, &ok, false);
        assert_eq!(slack.len(), 1);
        assert_eq!(slack[0]["response_type"], "in_channel");
        assert!(
            slack[0].to_string().contains("*Deployed* &amp; done"),
            "{slack:?}"
        );
        let mattermost = bodies(Platform::Mattermost, &ok, true);
        assert_eq!(mattermost[0]["response_type"], "ephemeral");
        assert!(
            mattermost[0].to_string().contains("**Deployed** & done"),
            "{mattermost:?}"
        );
        let failed = Err(Reply::error("/x failed"));
        let shown = bodies(Platform::Slack, &failed, false);
        assert_eq!(shown[0]["response_type"], "ephemeral");
        assert!(shown[0].to_string().contains("/x failed"), "{shown:?}");
        assert!(bodies(Platform::Slack, &Ok(Reply::Empty), false).is_empty());
        assert_eq!(
            acknowledgement("/slow a b")["text"],
            "/slow is running; its answer follows here."
        );
    }
}
