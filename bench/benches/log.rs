//! hipkit-log's cost on the calling thread, beside tracing-subscriber's fmt layer writing to
//! a sink in the same run (issue 10, section 5), and the throughput of coalescing.
//!
//! `cargo bench -p hipkit-bench --bench log`; prints the ratios and the coalescing result
//! after criterion's own report.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a failed setup ends the run"
)]

mod common;

use async_trait::async_trait;
use common::mean_ns;
use criterion::Criterion;
use hipkit_log::{FilteredRoomLayer, LogGuard};
use hipkit_transport::{
    Delivery, MemoryTransport, Message, NullTransport, Transport, TransportError,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Registry;
use tracing_subscriber::prelude::*;

/// A transport whose sends never finish, so the channel stays full.
struct Hung;

#[async_trait]
impl Transport for Hung {
    async fn send(&self, _: &Message) -> Result<Delivery, TransportError> {
        std::future::pending().await
    }
}

fn room(transport: Arc<dyn Transport>, capacity: usize) -> (FilteredRoomLayer<Registry>, LogGuard) {
    hipkit_log::builder("Ops")
        .transport(transport)
        .level(Level::INFO)
        .channel_capacity(capacity)
        .build()
        .expect("room layer")
}

fn fmt_sink(level: LevelFilter) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_ansi(false)
            .with_filter(level),
    )
}

fn event() {
    tracing::info!(order = black_box(42u64), user = "dana", "payment accepted");
}

fn filtered() {
    tracing::debug!(order = black_box(42u64), "below the minimum level");
}

/// Benchmarks `f` with `subscriber` as the thread's only subscriber.
fn bench(
    c: &mut Criterion,
    name: &str,
    subscriber: impl tracing::Subscriber + Send + Sync,
    f: fn(),
) {
    tracing::subscriber::with_default(subscriber, || {
        c.bench_function(name, |b| b.iter(f));
    });
}

fn benches(c: &mut Criterion) {
    bench(
        c,
        "filtered/fmt_sink",
        fmt_sink(LevelFilter::INFO),
        filtered,
    );
    let (layer, guard) = room(Arc::new(NullTransport::new()), 1024);
    bench(
        c,
        "filtered/room_layer",
        tracing_subscriber::registry().with(layer),
        filtered,
    );
    drop(guard);

    bench(c, "event/fmt_sink", fmt_sink(LevelFilter::INFO), event);
    // Room enough that nothing is dropped: this measures filtering, capture and enqueue.
    let (layer, guard) = room(Arc::new(NullTransport::new()), 1 << 22);
    bench(
        c,
        "event/room_layer",
        tracing_subscriber::registry().with(layer),
        event,
    );
    let report = guard.shutdown(Duration::from_secs(30));
    println!("event/room_layer accounting: {report:?}");

    let (layer, guard) = room(Arc::new(Hung), 1);
    bench(
        c,
        "full/room_layer",
        tracing_subscriber::registry().with(layer),
        event,
    );
    let report = guard.shutdown(Duration::ZERO);
    println!("full/room_layer accounting: {report:?}");
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// 1,000,000 identical errors through the layer: messages posted, time, memory.
fn coalescing() {
    const N: u64 = 1_000_000;
    let memory = MemoryTransport::new();
    let (layer, guard) = room(Arc::new(memory.clone()), 1024);
    let before = rss_kib();
    let started = Instant::now();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..N {
            tracing::error!(attempt = i, "card processor unreachable");
        }
    });
    let emitted = started.elapsed();
    let during = rss_kib();
    let report = guard.shutdown(Duration::from_secs(30));
    let after = rss_kib();
    println!(
        "coalescing: {N} identical errors in {:.2} s ({:.0} events/s on the calling thread) -> \
         {} room messages; {report:?}; RSS {before} KiB before, {during} KiB after emitting, \
         {after} KiB after shutdown",
        emitted.as_secs_f64(),
        N as f64 / emitted.as_secs_f64(),
        memory.sent_messages().len(),
    );
}

fn main() {
    // First, while the process is fresh, so its RSS says something.
    coalescing();
    let (mut c, dir) = common::criterion("log");
    benches(&mut c);
    c.final_summary();

    println!("\nratios (same run; fmt layer writing to io::sink = 1.00x):");
    for (ours, base, target) in [
        (
            "filtered/room_layer",
            "filtered/fmt_sink",
            "target <= 20 ns",
        ),
        (
            "event/room_layer",
            "event/fmt_sink",
            "target <= 1 us and no slower than fmt",
        ),
        ("full/room_layer", "event/fmt_sink", "target <= 200 ns"),
    ] {
        match (mean_ns(&dir, ours), mean_ns(&dir, base)) {
            (Some(o), Some(b)) => {
                println!(
                    "  {ours}: {o:.1} ns vs {base}: {b:.1} ns = {:.2}x ({target})",
                    o / b
                )
            }
            _ => println!("  {ours}: no estimate (filtered out on the command line?)"),
        }
    }
}
