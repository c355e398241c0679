#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! The Matrix bodies posted to a real Synapse (the test kit's harness): each part accepted,
//! read back unchanged and in order, and notifying whom HipChat would have notified: nobody
//! for a quiet message, the room for `notify`, a mapped `@mention`'s user for a mention.

use hipchat::{MessageFormat, RoomNotification};
use hipkit_testkit::synapse::Synapse;
use hipkit_translate::{Options, Outgoing, Platform, translate};
use serde_json::Value;

/// One message: its name, the notification, the options, and whether the reader is notified.
struct Case {
    name: &'static str,
    notification: RoomNotification,
    options: Options,
    notifies: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_bodies_are_accepted_read_back_and_notify_as_hipchat_would() {
    let synapse = Synapse::start().await;
    let bridge = synapse.register("bridge").await;
    let reader = synapse.register("reader").await;
    // Three members, so that a plain message does not notify as a one-to-one room's would.
    let other = synapse.register("other").await;
    let room = synapse.create_room(&bridge, "Build Room").await;
    synapse.join(&bridge, &room, &reader).await;
    synapse.join(&bridge, &room, &other).await;

    let mentions = Options {
        mentions: [("reader".to_owned(), reader.user_id.clone())].into(),
        ..Options::default()
    };
    let long: String = (1..=600)
        .map(|i| {
            format!("<b>line {i:03}</b>: lorem ipsum dolor sit amet, consectetur adipiscing<br>")
        })
        .collect();
    let cases = [
        Case {
            name: "quiet",
            notification: RoomNotification::new("Build <b>42</b> passed").from_label("CI"),
            options: Options::default(),
            notifies: false,
        },
        Case {
            name: "notify",
            notification: RoomNotification::new("Production is <b>down</b>").notify(true),
            options: Options::default(),
            notifies: true,
        },
        Case {
            name: "mention",
            notification: RoomNotification::new("@reader please look, cc @nobody")
                .format(MessageFormat::Text),
            options: mentions,
            notifies: true,
        },
        Case {
            name: "long",
            notification: RoomNotification::new(long),
            options: Options::default(),
            notifies: false,
        },
    ];

    let mut sent: Vec<(&str, String, Value, bool)> = Vec::new();
    for case in &cases {
        let out = Outgoing {
            notification: &case.notification,
            file: None,
        };
        let bodies = translate(Platform::Matrix, &out, &case.options);
        for (i, body) in bodies.into_iter().enumerate() {
            let txn = format!("{}-{i}", case.name);
            let id = synapse.send(&bridge, &room, &txn, &body).await;
            sent.push((case.name, id, body, case.notifies));
        }
    }
    assert!(
        sent.iter().filter(|s| s.0 == "long").count() > 1,
        "the long message was not split"
    );

    let events = synapse.messages(&reader, &room).await;
    let ids: Vec<&str> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = sent.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(ids, expected, "events missing or out of order");
    for ((name, _, body, _), event) in sent.iter().zip(&events) {
        assert_eq!(
            &event["content"], body,
            "{name}: Synapse changed the content"
        );
    }

    let notified = synapse.notified(&reader).await;
    for (name, id, _, notifies) in &sent {
        assert_eq!(
            notified.contains(id),
            *notifies,
            "{name}: the reader was {}notified",
            if *notifies { "not " } else { "" }
        );
    }
}
