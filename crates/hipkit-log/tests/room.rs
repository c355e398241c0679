//! The layer and the bridge against the real emulator over loopback: what reaches the room.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipchat::{Client, Color, HistoryItem, LatestQuery, MessageFormat, RoomRef, Token};
use hipkit_emulator::{RateSpec, RunningEmulator};
use hipkit_log::{Builder, FilteredRoomLayer, LogGuard, ShutdownReport};
use hipkit_testkit::Emulator;
use std::time::Duration;
use tracing::Level;
use tracing_subscriber::Registry;
use tracing_subscriber::prelude::*;

const TOKEN: &str = "log-test-token";
const ROOM: &str = "Build Room";

async fn emulator(flood_limit: Option<RateSpec>) -> Emulator {
    hipkit_testkit::emulator()
        .token(TOKEN)
        .with(|c| c.flood_limit = flood_limit)
        .start()
        .await
}

fn builder(emu: &RunningEmulator) -> Builder {
    hipkit_log::builder(ROOM).endpoint(&emu.base_url, Token::new(TOKEN))
}

/// Runs `emit` with only `layer` installed (on this thread), then shuts the log down.
fn with_layer(
    layer: FilteredRoomLayer<Registry>,
    guard: LogGuard,
    emit: impl FnOnce(),
) -> ShutdownReport {
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, emit);
    guard.shutdown(Duration::from_secs(10))
}

/// Every notification in the room, oldest first.
async fn room(emu: &RunningEmulator) -> Vec<HistoryItem> {
    let client = Client::builder(&emu.base_url, Token::new(TOKEN))
        .build()
        .expect("client");
    let query = LatestQuery {
        max_results: Some(1000),
        ..LatestQuery::default()
    };
    client
        .room_latest_history(&RoomRef::parse(ROOM), &query)
        .await
        .expect("history")
        .body
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_colours_and_notify_per_level() {
    let emu = emulator(None).await;
    let (layer, guard) = builder(&emu)
        .level(Level::INFO)
        .sender("billing")
        .level_color(Level::WARN, Color::Purple)
        .notify_level(Level::ERROR, true)
        .build()
        .expect("build");
    let report = with_layer(layer, guard, || {
        tracing::trace!("trace is below the minimum");
        tracing::debug!("debug is below the minimum");
        tracing::info!("info");
        tracing::warn!("warn");
        tracing::error!("error");
    });
    assert_eq!((report.delivered, report.lost()), (3, 0));
    let items = room(&emu).await;
    let seen: Vec<(&str, Option<Color>, Option<bool>)> = items
        .iter()
        .map(|i| (i.message.as_str(), i.color, i.notify))
        .collect();
    assert_eq!(
        seen,
        [
            ("INFO room: info", Some(Color::Green), Some(false)),
            ("WARN room: warn", Some(Color::Purple), Some(false)),
            ("ERROR room: error", Some(Color::Red), Some(true)),
        ]
    );
    assert!(
        items
            .iter()
            .all(|i| matches!(&i.from, hipchat::HistoryFrom::Label(l) if l == "billing"))
    );
}

#[derive(Debug, thiserror::Error)]
#[error("query failed")]
struct QueryFailed(#[source] std::io::Error);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_spans_and_error_chains_in_text_and_html() {
    let emu = emulator(None).await;
    for format in [MessageFormat::Text, MessageFormat::Html] {
        let (layer, guard) = builder(&emu).format(format).build().expect("build");
        let report = with_layer(layer, guard, || {
            let request = tracing::info_span!("request", id = 42, path = "/pay?a=<b>");
            let _r = request.enter();
            let query = tracing::info_span!("query", table = "orders");
            let _q = query.enter();
            let err = QueryFailed(std::io::Error::other("connection reset"));
            tracing::error!(
                attempt = 3,
                user = "<script>x</script>",
                error = &err as &dyn std::error::Error,
                "payment failed"
            );
        });
        assert_eq!(report.delivered, 1);
        let item = room(&emu).await.pop().expect("a message");
        assert_eq!(item.message_format, Some(format));
        match format {
            MessageFormat::Text => assert_eq!(
                item.message,
                "ERROR room: payment failed attempt=3 user=<script>x</script>\n  \
                 in request{id=42 path=/pay?a=<b>} > query{table=orders}\n  \
                 error: query failed\n    caused by: connection reset"
            ),
            MessageFormat::Html => assert_eq!(
                item.message,
                "<b>ERROR</b> <code>room</code>: payment failed attempt=3 \
                 user=&lt;script&gt;x&lt;/script&gt;<br>&nbsp;&nbsp;in request{id=42 \
                 path=/pay?a=&lt;b&gt;} &gt; query{table=orders}<br>&nbsp;&nbsp;error: \
                 query failed<br>&nbsp;&nbsp;&nbsp;&nbsp;caused by: connection reset"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_identical_errors_is_a_couple_of_messages() {
    let emu = emulator(None).await;
    let (layer, guard) = builder(&emu).build().expect("build");
    let report = with_layer(layer, guard, || {
        for i in 0..500 {
            tracing::error!(i, "disk full");
        }
    });
    assert_eq!((report.delivered, report.lost()), (500, 0));
    let items = room(&emu).await;
    assert_eq!(items.len(), 2, "{items:#?}");
    assert_eq!(items[0].message, "ERROR room: disk full i=0");
    assert!(
        items[1]
            .message
            .starts_with("ERROR room: disk full i=499\n  … repeated 499 times in "),
        "{}",
        items[1].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_keeps_within_enforced_flood_control_by_batching() {
    let emu = emulator(Some(RateSpec {
        limit: 5,
        window_secs: 60,
    }))
    .await;
    let (layer, guard) = builder(&emu)
        .room_budget_per_minute(5)
        .coalesce_window(Duration::ZERO)
        .build()
        .expect("build");
    let report = with_layer(layer, guard, || {
        for i in 0..40 {
            tracing::warn!("record {i}");
        }
    });
    assert_eq!(
        report,
        ShutdownReport {
            delivered: 40,
            ..ShutdownReport::default()
        }
    );
    let items = room(&emu).await;
    assert!(items.len() <= 5, "{} messages", items.len());
    let lines: Vec<&str> = items.iter().flat_map(|i| i.message.lines()).collect();
    let expected: Vec<String> = (0..40).map(|i| format!("WARN room: record {i}")).collect();
    assert_eq!(lines, expected, "every record, in order, none dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_channel_drops_counts_and_says_so() {
    let emu = emulator(None).await;
    // The first post hangs for a while, so the channel fills behind it.
    let fault = serde_json::json!({"path": "/v2/room/", "times": 1,
        "action": {"delay": {"delay_ms": 300}}});
    let status = reqwest::Client::new()
        .post(format!("{}/_emulator/faults", emu.base_url))
        .bearer_auth(TOKEN)
        .json(&fault)
        .send()
        .await
        .expect("fault")
        .status();
    assert_eq!(status.as_u16(), 201);
    let (layer, guard) = builder(&emu)
        .channel_capacity(4)
        .coalesce_window(Duration::ZERO)
        .build()
        .expect("build");
    let report = with_layer(layer, guard, || {
        tracing::error!("first");
        std::thread::sleep(Duration::from_millis(50));
        for i in 0..50 {
            tracing::error!("record {i}");
        }
    });
    assert!(report.dropped > 0, "{report:?}");
    assert_eq!(report.delivered + report.dropped, 51, "{report:?}");
    assert_eq!(report.pending + report.failed, 0, "{report:?}");
    let items = room(&emu).await;
    let notice = format!(
        "WARN hipkit_log: {} log records dropped: the queue to this room was full",
        report.dropped
    );
    assert!(items.iter().any(|i| i.message == notice), "{items:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_everything_before_returning() {
    let emu = emulator(None).await;
    let (layer, guard) = builder(&emu)
        .coalesce_window(Duration::ZERO)
        .build()
        .expect("build");
    let report = with_layer(layer, guard, || {
        for i in 0..10 {
            tracing::error!("last words {i}");
        }
    });
    assert_eq!(
        report,
        ShutdownReport {
            delivered: 10,
            ..ShutdownReport::default()
        }
    );
    let all: String = room(&emu).await.iter().map(|i| i.message.clone()).collect();
    assert!(
        (0..10).all(|i| all.contains(&format!("last words {i}"))),
        "{all}"
    );
}

/// A value whose `Debug` logs: handling it must not handle that record too.
struct Noisy;

impl std::fmt::Debug for Noisy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        tracing::error!("logged while formatting");
        f.write_str("noisy")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_feedback_loop_from_the_http_stack_reentry_or_a_failing_post() {
    let emu = emulator(None).await;
    let (layer, guard) = builder(&emu).build().expect("build");
    let report = with_layer(layer, guard, || {
        tracing::error!(target: "hyper::proto::h1::conn", "http stack");
        tracing::error!(target: "reqwest::connect", "http stack");
        tracing::error!(target: "h2::codec", "http stack");
        tracing::error!(target: "rustls::conn", "http stack");
        tracing::error!(target: "hipkit_log::worker", "own delivery path");
        tracing::error!(value = ?Noisy, "outer");
    });
    assert_eq!((report.delivered, report.lost()), (1, 0));
    let items = room(&emu).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].message, "ERROR room: outer value=noisy");

    // A post that fails (bad token) is counted and written to stderr, never posted.
    let (layer, guard) = hipkit_log::builder(ROOM)
        .endpoint(&emu.base_url, Token::new("wrong-token"))
        .build()
        .expect("build");
    let report = with_layer(layer, guard, || tracing::error!("cannot be posted"));
    assert_eq!((report.delivered, report.failed), (0, 1));
    assert_eq!(room(&emu).await.len(), 1, "nothing more reached the room");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_bridge_posts_log_records_the_same_way() {
    let emu = emulator(None).await;
    let (layer, guard) = builder(&emu)
        .level(Level::INFO)
        .build::<Registry>()
        .expect("build");
    let bridge = layer.inner().log_bridge();
    assert_eq!(bridge.max_level(), log::LevelFilter::Info);
    let record = |level, target: &'static str, percent: u32| {
        log::Log::log(
            &bridge,
            &log::Record::builder()
                .level(level)
                .target(target)
                .args(format_args!("pool at {percent}%"))
                .build(),
        )
    };
    record(log::Level::Debug, "legacy::db", 50);
    record(log::Level::Warn, "legacy::db", 95);
    record(log::Level::Error, "reqwest::connect", 99);
    drop((layer, bridge));
    let report = guard.shutdown(Duration::from_secs(10));
    assert_eq!(report.delivered, 1);
    let items = room(&emu).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].message, "WARN legacy::db: pool at 95%");
    assert_eq!(items[0].color, Some(Color::Yellow));
}
