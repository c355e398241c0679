//! The background task: takes records from the bounded channel, coalesces storms, keeps
//! within the room's flood budget by batching, and flushes at shutdown within a deadline.
//! It runs on its own thread (with its own tokio runtime), like tracing-appender's worker, so
//! the guard can wait for it from synchronous and asynchronous code alike, and everything
//! emitted on that thread is known to be the layer's own delivery path.

mod budget;
mod coalesce;
mod deliver;

#[cfg(test)]
mod tests;

pub(crate) use deliver::Poster;

use crate::formatting::MAX_MESSAGE_CHARS;
use crate::record::Record;
use crate::reentrancy;
use crate::stats::{ShutdownReport, Stats};
use budget::Budget;
use coalesce::Coalescer;
use deliver::Rendered;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::Level;

/// Records taken from the channel at once.
const INTAKE_BATCH: usize = 256;

/// While records keep coming, the task collects them on this tick instead of being woken for
/// each: a caller's enqueue then never has to wake a sleeping thread.
const TICK: Duration = Duration::from_millis(1);

/// Records taken from the channel per tick at most.
const MAX_PER_TICK: usize = 65_536;

/// How the worker is told to stop: the time it has to flush.
pub(crate) type Stop = oneshot::Receiver<Duration>;

/// The background task's state.
pub(crate) struct Worker {
    rx: mpsc::Receiver<Record>,
    stop: Stop,
    poster: Poster,
    stats: Arc<Stats>,
    coalescer: Coalescer,
    budget: Budget,
    pending: VecDeque<Rendered>,
    pending_cap: usize,
    reported_drops: u64,
    flush_timeout: Duration,
    /// No records lately: wait on the channel (woken by the next record), not on the tick.
    idle: bool,
}

/// What the worker is built from, besides its channels.
pub(crate) struct Plan {
    /// Posts messages.
    pub poster: Poster,
    /// Shared counters.
    pub stats: Arc<Stats>,
    /// Coalescing window (zero: off).
    pub coalesce_window: Duration,
    /// Messages per minute.
    pub budget_per_minute: u32,
    /// Records waiting for a send at most (the channel holds as many again).
    pub pending_cap: usize,
    /// Flush time when the layer goes away without the guard saying.
    pub flush_timeout: Duration,
}

impl Worker {
    /// A worker reading `rx` until `stop` fires or every sender is gone.
    pub fn new(rx: mpsc::Receiver<Record>, stop: Stop, plan: Plan) -> Self {
        Self {
            rx,
            stop,
            poster: plan.poster,
            stats: plan.stats,
            coalescer: Coalescer::new(plan.coalesce_window),
            budget: Budget::per_minute(plan.budget_per_minute),
            pending: VecDeque::new(),
            pending_cap: plan.pending_cap.max(1),
            reported_drops: 0,
            flush_timeout: plan.flush_timeout,
            idle: true,
        }
    }

    /// Runs on a thread of its own; `done` receives the final counts.
    pub fn spawn(
        self,
        runtime: tokio::runtime::Runtime,
        done: std::sync::mpsc::SyncSender<ShutdownReport>,
    ) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("hipkit-log".into())
            .spawn(move || {
                reentrancy::mark_delivery_thread();
                let report = runtime.block_on(self.run());
                let _ = done.send(report);
            })
            .map(drop)
    }

    /// Works until stopped, then flushes; returns the final counts.
    pub async fn run(mut self) -> ShutdownReport {
        let mut intake = Vec::with_capacity(INTAKE_BATCH);
        let deadline = loop {
            let now = Instant::now();
            self.expire(now);
            self.note_drops();
            if !self.pending.is_empty() && self.budget.available(now) > 0 {
                match self.send_next().await {
                    Some(deadline) => break deadline,
                    None => continue,
                }
            }
            let wake = earliest(self.coalescer.next_expiry(), self.budget_wake());
            let room = self.pending_cap.saturating_sub(self.pending.len());
            tokio::select! {
                biased;
                within = &mut self.stop => break stop_at(within, self.flush_timeout),
                n = self.rx.recv_many(&mut intake, room.min(INTAKE_BATCH)), if room > 0 && self.idle => {
                    if n == 0 {
                        break Instant::now() + self.flush_timeout;
                    }
                    self.ingest(&mut intake, Instant::now());
                    self.idle = false;
                }
                () = tokio::time::sleep(TICK), if room > 0 && !self.idle => {
                    match self.poll_intake() {
                        Some(n) => self.idle = n == 0,
                        None => break Instant::now() + self.flush_timeout,
                    }
                }
                () = sleep_until(wake) => {}
            }
        };
        self.drain(deadline).await
    }

    /// Stops intake, summarises every run, and sends what is pending until the deadline.
    async fn drain(mut self, deadline: Instant) -> ShutdownReport {
        self.rx.close();
        self.idle = true;
        let mut rest = Vec::new();
        while let Ok(record) = self.rx.try_recv() {
            rest.push(record);
        }
        let now = Instant::now();
        self.ingest(&mut rest, now);
        for summary in self.coalescer.flush(now) {
            self.queue(summary);
        }
        self.note_drops();
        while !self.pending.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if self.budget.available(now) == 0 {
                match self.budget.next_free() {
                    Some(free) if free < deadline => tokio::time::sleep_until(free).await,
                    _ => break,
                }
                continue;
            }
            let batch = self.take_batch();
            self.poster.post(batch, Some(deadline)).await;
            self.budget.spend(Instant::now());
            self.note_drops();
        }
        self.stats.report()
    }

    /// Sends the next message; if told to stop meanwhile, lets it finish until the stop's
    /// deadline and returns that deadline.
    async fn send_next(&mut self) -> Option<Instant> {
        let batch = self.take_batch();
        let send = self.poster.post(batch, None);
        tokio::pin!(send);
        let stopped = tokio::select! {
            biased;
            () = &mut send => None,
            within = &mut self.stop => {
                let deadline = stop_at(within, self.flush_timeout);
                // Cut off at the deadline, its records count as pending.
                let _ = tokio::time::timeout_at(deadline, &mut send).await;
                Some(deadline)
            }
        };
        self.budget.spend(Instant::now());
        stopped
    }

    /// The next record alone while the budget allows more than one message; with the last
    /// message of the budget, everything pending that fits.
    fn take_batch(&mut self) -> Vec<Rendered> {
        let single = self.budget.available(Instant::now()) > 1;
        let mut batch = Vec::new();
        let mut chars = 0;
        while let Some(next) = self.pending.front() {
            let grown = self.poster.grown(chars, next);
            if !batch.is_empty() && (single || grown > MAX_MESSAGE_CHARS) {
                break;
            }
            chars = grown;
            batch.extend(self.pending.pop_front());
        }
        batch
    }

    /// Takes what the channel holds without waiting (and without asking callers to wake this
    /// task); `None` once every sender is gone and the channel is empty.
    fn poll_intake(&mut self) -> Option<usize> {
        let now = Instant::now();
        let mut taken = 0;
        while self.pending.len() < self.pending_cap && taken < MAX_PER_TICK {
            match self.rx.try_recv() {
                Ok(record) => {
                    taken += 1;
                    if let Some(record) = self.coalescer.offer(record, now) {
                        self.queue(record);
                    }
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) if taken == 0 => return None,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
        }
        Some(taken)
    }

    fn ingest(&mut self, records: &mut Vec<Record>, now: Instant) {
        for record in records.drain(..) {
            if let Some(record) = self.coalescer.offer(record, now) {
                self.queue(record);
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        for summary in self.coalescer.expire(now) {
            self.queue(summary);
        }
    }

    fn queue(&mut self, record: Record) {
        let rendered = self.poster.render(record);
        self.pending.push_back(rendered);
    }

    /// Once the records stop coming and the backlog is gone (there is room again), says how
    /// many records were dropped: one notice per storm, not one per tick.
    fn note_drops(&mut self) {
        let dropped = self.stats.dropped_total();
        let busy = !self.idle || !self.pending.is_empty() || !self.rx.is_empty();
        if dropped == self.reported_drops || busy {
            return;
        }
        let notice = format!(
            "{} log records dropped: the queue to this room was full",
            dropped - self.reported_drops
        );
        self.reported_drops = dropped;
        self.queue(Record::notice(Level::WARN, notice));
    }

    fn budget_wake(&self) -> Option<Instant> {
        if self.pending.is_empty() {
            return None;
        }
        self.budget.next_free()
    }
}

/// When a stop must be done: its flush time from now (the guard gone: the default).
fn stop_at(within: Result<Duration, oneshot::error::RecvError>, default: Duration) -> Instant {
    Instant::now() + within.unwrap_or(default)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
