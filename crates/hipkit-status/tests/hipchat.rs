//! The HipChat reporter against the emulator over loopback: what arrives where, in order.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_emulator::{EmulatorEvent, RunningEmulator};
use hipkit_status::hipchat::{HipChatConfig, HipChatReporter};
use hipkit_status::{Build, Event, HipChatRoute, History, Reporters};
use hipkit_testkit::Emulator;
use hipkit_transport::{HttpTransport, SendOptions, Transport};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast;

const TOKEN: &str = "status-test-token";

async fn emulator() -> Emulator {
    hipkit_testkit::emulator()
        .token(TOKEN)
        .rooms(&["Build Room"])
        .users(&["dev@example.com"])
        .start()
        .await
}

fn transport(emu: &RunningEmulator) -> Arc<dyn Transport> {
    let client = hipchat::Client::builder(&emu.base_url, hipchat::Token::new(TOKEN))
        .build()
        .expect("client");
    Arc::new(HttpTransport::new(client))
}

fn build(complete: bool, results: Option<i64>) -> Build {
    Build::from_value(json!({
        "buildid": 20, "number": 7, "complete": complete, "results": results,
        "url": "http://buildbot:8010/#/builders/79/builds/7",
        "builder": {"builderid": 79, "name": "Builder0", "tags": []},
        "properties": {}, "parentbuild": null,
    }))
    .expect("build")
}

/// The next message event: (`room:NAME` or `user`, text).
async fn next(events: &mut broadcast::Receiver<EmulatorEvent>) -> (String, String) {
    loop {
        match events.recv().await.expect("event") {
            EmulatorEvent::RoomNotification { room, item } => {
                return (format!("room:{}", room.name), item.message);
            }
            EmulatorEvent::PrivateMessage { item, .. } => return ("user".into(), item.message),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn started_and_finished_reach_the_user_first_then_the_room() {
    let emu = emulator().await;
    let mut events = emu.subscribe();
    let maps = |v: &str| BTreeMap::from([("Builder0".to_owned(), v.to_owned())]);
    let reporter = HipChatReporter::new(HipChatConfig::new(
        "hc",
        maps("Build Room"),
        maps("dev@example.com"),
    ));
    let reporters = Reporters::new(History::none()).with_hipchat(
        reporter,
        HipChatRoute::Shared(transport(&emu)),
        &emu.base_url,
    );
    let url = "http://buildbot:8010/#/builders/79/builds/7";
    for (b, text) in [
        (
            build(false, None),
            format!("Buildbot started build Builder0 here: {url}"),
        ),
        (
            build(true, Some(2)),
            format!("Buildbot finished build Builder0 with result failure here: {url}"),
        ),
    ] {
        let prepared = reporters.prepare(&b, b.event()).await;
        assert!(prepared.failures.is_empty());
        for report in &prepared.outgoing {
            report.send(&SendOptions::default()).await.expect("sent");
        }
        assert_eq!(next(&mut events).await, ("user".into(), text.clone()));
        assert_eq!(next(&mut events).await, ("room:Build Room".into(), text));
    }
    assert_eq!(Event::Finished, build(true, Some(2)).event());
    emu.shutdown().await;
}

#[tokio::test]
async fn change_mode_remembers_the_last_result_without_prev_build_and_honours_it_with() {
    let store = hipkit_store::SqliteStore::temporary().await.expect("store");
    let memory = hipkit_transport::MemoryTransport::new();
    let mut config = HipChatConfig::new(
        "hc",
        BTreeMap::from([("Builder0".to_owned(), "Build Room".to_owned())]),
        BTreeMap::new(),
    );
    config.generator.modes = hipkit_status::Modes::from_name("change").expect("mode");
    let reporters = Reporters::new(History::new(Arc::new(store))).with_hipchat(
        HipChatReporter::new(config),
        HipChatRoute::Shared(Arc::new(memory)),
        "http://hipchat",
    );
    let numbered = |number: i64, results: i64| {
        Build::from_value(
            json!({"number": number, "complete": true, "results": results,
            "builder": {"name": "Builder0"}}),
        )
        .expect("build")
    };
    let mut reported = Vec::new();
    for (n, r) in [(1, 0), (2, 0), (3, 2), (4, 2), (5, 0)] {
        let prepared = reporters.prepare(&numbered(n, r), Event::Finished).await;
        if !prepared.outgoing.is_empty() {
            reported.push(n);
        }
    }
    assert_eq!(reported, [3, 5], "only results that changed");
    let mut with_prev = numbered(6, 0);
    with_prev = Build::from_value({
        let mut v = with_prev.to_value();
        v["prev_build"] = json!({"number": 5, "results": 2});
        v
    })
    .expect("build");
    let prepared = reporters.prepare(&with_prev, Event::Finished).await;
    assert_eq!(
        prepared.outgoing.len(),
        1,
        "prev_build in the input wins over the store"
    );
}
