//! The background task on a paused clock (`tokio::time::pause`): windows, budgets, retries
//! and deadlines without sleeping.

use super::*;
use crate::config::LogConfig;
use crate::intake::Intake;
use async_trait::async_trait;
use hipchat::Color;
use hipkit_transport::{
    Delivery, MemoryTransport, Message, StubError, StubTransport, Transport, TransportError,
};
use std::borrow::Cow;
use tokio::task::JoinHandle;
use tracing::level_filters::LevelFilter;

/// A worker running on the test's paused runtime.
struct Running {
    intake: Intake,
    stop: oneshot::Sender<Duration>,
    task: JoinHandle<ShutdownReport>,
}

fn start(transport: Arc<dyn Transport>, config: LogConfig) -> Running {
    let config = Arc::new(config);
    let stats = Arc::new(Stats::default());
    let (tx, rx) = mpsc::channel(config.channel_capacity);
    let (stop, stop_rx) = oneshot::channel();
    let plan = Plan {
        poster: Poster::new("Ops".into(), config.clone(), transport, stats.clone()),
        stats: stats.clone(),
        coalesce_window: config.coalesce_window(),
        budget_per_minute: config.room_budget_per_minute,
        pending_cap: config.channel_capacity,
        flush_timeout: Duration::from_secs(5),
    };
    let task = tokio::spawn(Worker::new(rx, stop_rx, plan).run());
    Running {
        intake: Intake::new(tx, stats, LevelFilter::TRACE),
        stop,
        task,
    }
}

impl Running {
    fn emit(&self, level: Level, template: &'static str, message: &str) {
        if self.intake.has_room() {
            self.intake.submit(Record::new(
                level,
                Cow::Borrowed("svc"),
                Cow::Borrowed(template),
                message.to_owned(),
            ));
        }
    }

    async fn shutdown(self, within: Duration) -> ShutdownReport {
        let _ = self.stop.send(within);
        self.task.await.expect("worker")
    }
}

fn texts(memory: &MemoryTransport) -> Vec<String> {
    memory
        .sent_messages()
        .into_iter()
        .map(|m| m.body.message)
        .collect()
}

/// Lets the worker run everything that is due within a few (virtual) ticks.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test(start_paused = true)]
async fn a_storm_is_the_first_record_then_one_summary_per_window() {
    let memory = MemoryTransport::new();
    let log = start(Arc::new(memory.clone()), LogConfig::default());
    for i in 0..500 {
        log.emit(Level::ERROR, "storm", &format!("disk full #{i}"));
    }
    settle().await;
    assert_eq!(texts(&memory), ["ERROR svc: disk full #0"]);
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(
        texts(&memory)[1],
        "ERROR svc: disk full #499\n  … repeated 499 times in the last 60 s"
    );
    // The storm goes on: one more summary per window, nothing else.
    for _ in 0..100 {
        log.emit(Level::ERROR, "storm", "disk full again");
    }
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(memory.sent_messages().len(), 3);
    assert!(texts(&memory)[2].contains("repeated 100 times"));
    // A quiet window ends the run: the next occurrence is posted at once.
    tokio::time::sleep(Duration::from_secs(61)).await;
    log.emit(Level::ERROR, "storm", "back");
    settle().await;
    assert_eq!(
        texts(&memory).last().map(String::as_str),
        Some("ERROR svc: back")
    );
    let report = log.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        (
            report.delivered,
            report.dropped,
            report.failed,
            report.pending
        ),
        (601, 0, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn different_levels_or_templates_are_not_coalesced() {
    let memory = MemoryTransport::new();
    let log = start(Arc::new(memory.clone()), LogConfig::default());
    log.emit(Level::ERROR, "a", "x");
    log.emit(Level::WARN, "a", "x");
    log.emit(Level::ERROR, "b", "x");
    let report = log.shutdown(Duration::from_secs(5)).await;
    assert_eq!(memory.sent_messages().len(), 3);
    assert_eq!(report.delivered, 3);
}

#[tokio::test(start_paused = true)]
async fn the_flood_budget_batches_instead_of_dropping() {
    let memory = MemoryTransport::new();
    let config = LogConfig {
        room_budget_per_minute: 3,
        coalesce_window_secs: 0,
        ..LogConfig::default()
    };
    let log = start(Arc::new(memory.clone()), config);
    for i in 0..10 {
        log.emit(Level::WARN, "w", &format!("record {i}"));
    }
    log.emit(Level::ERROR, "e", "the worst");
    tokio::time::sleep(Duration::from_secs(59)).await;
    let sent = memory.sent_messages();
    assert_eq!(sent.len(), 3, "never more than the budget in a minute");
    assert_eq!(sent[0].body.message, "WARN svc: record 0");
    assert_eq!(sent[1].body.message, "WARN svc: record 1");
    // The last message of the budget carries everything pending, coloured by its worst.
    let batch = &sent[2].body;
    for i in 2..10 {
        assert!(
            batch.message.contains(&format!("record {i}")),
            "{}",
            batch.message
        );
    }
    assert!(batch.message.contains("the worst"));
    assert_eq!(batch.color, Some(Color::Red));
    let report = log.shutdown(Duration::from_secs(5)).await;
    assert_eq!((report.delivered, report.dropped), (11, 0));
}

#[tokio::test(start_paused = true)]
async fn a_full_channel_drops_and_counts_then_says_so() {
    let memory = MemoryTransport::new();
    let config = LogConfig {
        channel_capacity: 4,
        coalesce_window_secs: 0,
        ..LogConfig::default()
    };
    let log = start(Arc::new(memory.clone()), config);
    // The worker has not run yet: the channel holds 4, the rest is dropped on the spot.
    for i in 0..10 {
        log.emit(Level::ERROR, "e", &format!("record {i}"));
    }
    assert_eq!(log.intake_report().dropped, 6);
    settle().await;
    let texts = texts(&memory);
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert_eq!(
        texts[4],
        "WARN hipkit_log: 6 log records dropped: the queue to this room was full"
    );
    let report = log.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        (report.delivered, report.dropped, report.pending),
        (4, 6, 0)
    );
}

impl Running {
    fn intake_report(&self) -> ShutdownReport {
        self.intake.stats().report()
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_flushes_pending_records_and_coalesced_runs() {
    let memory = MemoryTransport::new();
    let log = start(Arc::new(memory.clone()), LogConfig::default());
    for _ in 0..3 {
        log.emit(Level::ERROR, "storm", "again");
    }
    log.emit(Level::WARN, "other", "last words");
    let report = log.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.delivered, 4);
    assert_eq!(report.pending, 0);
    let texts = texts(&memory);
    assert!(texts.iter().any(|t| t.contains("last words")), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("repeated 2 times")),
        "{texts:?}"
    );
}

/// A transport whose sends never finish (a hung server).
struct Hung;

#[async_trait]
impl Transport for Hung {
    async fn send(&self, _: &Message) -> Result<Delivery, TransportError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_keeps_its_deadline_and_reports_what_is_left() {
    let config = LogConfig {
        coalesce_window_secs: 0,
        ..LogConfig::default()
    };
    let log = start(Arc::new(Hung), config);
    for i in 0..3 {
        log.emit(Level::ERROR, "e", &format!("{i}"));
    }
    settle().await;
    let started = Instant::now();
    let report = log.shutdown(Duration::from_secs(2)).await;
    assert!(Instant::now() - started <= Duration::from_secs(2));
    assert_eq!(report.delivered, 0);
    assert_eq!(report.failed + report.pending, 3, "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_then_counted_never_posted() {
    let stub = StubTransport::new_error(StubError::Status(503));
    let log = start(Arc::new(stub.clone()), LogConfig::default());
    log.emit(Level::ERROR, "e", "cannot be posted");
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        stub.sent_messages().len(),
        3,
        "three attempts, then give up"
    );
    let report = log.shutdown(Duration::from_secs(5)).await;
    assert_eq!((report.delivered, report.failed), (0, 1));
    assert!(
        stub.sent_messages()
            .iter()
            .all(|m| m.body.message.contains("cannot be posted")),
        "the failure itself is never posted"
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_failures_are_not_retried() {
    let stub = StubTransport::new_error(StubError::Status(401));
    let log = start(Arc::new(stub.clone()), LogConfig::default());
    log.emit(Level::ERROR, "e", "x");
    let report = log.shutdown(Duration::from_secs(5)).await;
    assert_eq!(stub.sent_messages().len(), 1);
    assert_eq!(report.failed, 1);
}
