//! The guard that flushes pending records at exit (tracing-appender's `WorkerGuard`), and
//! the explicit `shutdown(deadline)` that says what became of every record.

use crate::stats::{ShutdownReport, Stats};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;
use tokio::sync::oneshot;

/// Time allowed beyond the deadline for the background task to hand back its counts.
const GRACE: Duration = Duration::from_millis(500);

/// Keeps the background task running; on drop, sends what is pending within the flush
/// timeout (`[log] flush_timeout_secs`) and reports losses on stderr.
#[derive(Debug)]
pub struct LogGuard {
    stop: Option<oneshot::Sender<Duration>>,
    done: Receiver<ShutdownReport>,
    stats: Arc<Stats>,
    flush_timeout: Duration,
}

impl LogGuard {
    pub(crate) fn new(
        stop: oneshot::Sender<Duration>,
        done: Receiver<ShutdownReport>,
        stats: Arc<Stats>,
        flush_timeout: Duration,
    ) -> Self {
        Self {
            stop: Some(stop),
            done,
            stats,
            flush_timeout,
        }
    }

    /// The counts so far, without stopping anything.
    pub fn report(&self) -> ShutdownReport {
        self.stats.report()
    }

    /// Stops taking records, sends what is pending for at most `deadline` (blocking this
    /// thread meanwhile), and returns how many records were delivered, dropped, failed and
    /// left pending. Records emitted afterwards are dropped and counted.
    pub fn shutdown(mut self, deadline: Duration) -> ShutdownReport {
        self.finish(deadline)
    }

    fn finish(&mut self, deadline: Duration) -> ShutdownReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(deadline);
        }
        self.done
            .recv_timeout(deadline + GRACE)
            .unwrap_or_else(|_| self.stats.report())
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if self.stop.is_none() {
            return;
        }
        let report = self.finish(self.flush_timeout);
        if report.lost() > 0 {
            eprintln!(
                "hipkit-log: at exit {} log record(s) were delivered, {} dropped, {} failed, \
                 {} still pending",
                report.delivered, report.dropped, report.failed, report.pending
            );
        }
    }
}
