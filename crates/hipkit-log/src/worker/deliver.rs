//! Posting one message of one or more records: colour and notify from the most severe
//! record, bounded retries for transient failures, and accounting. A failure is counted and
//! written to stderr, never logged (it would come back here).

use crate::config::LogConfig;
use crate::formatting::{render, separator};
use crate::record::Record;
use crate::stats::Stats;
use hipchat::RoomNotification;
use hipkit_transport::outbox::RetryPolicy;
use hipkit_transport::{Message, Transport, TransportError};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Retries of one message: 3 attempts before its records count as failed, backing off from
/// 2 s, waiting at most a minute (for a rate limit's reset too).
const RETRIES: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    max_age: Duration::MAX,
    min_delay: Duration::from_secs(2),
    max_delay: Duration::from_secs(60),
};

/// A record rendered once, with its length, so batching can count without re-rendering.
pub(crate) struct Rendered {
    body: String,
    chars: usize,
    record: Record,
}

/// Turns records into room messages and sends them.
pub(crate) struct Poster {
    room: String,
    config: Arc<LogConfig>,
    transport: Arc<dyn Transport>,
    stats: Arc<Stats>,
}

impl Poster {
    /// Posts to `room` through `transport`, styled by `config`.
    pub fn new(
        room: String,
        config: Arc<LogConfig>,
        transport: Arc<dyn Transport>,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            room,
            config,
            transport,
            stats,
        }
    }

    /// Renders a record in the configured format.
    pub fn render(&self, record: Record) -> Rendered {
        let body = render(&record, self.config.format);
        let chars = body.chars().count();
        Rendered {
            body,
            chars,
            record,
        }
    }

    /// The length a message grows to with `next`.
    pub fn grown(&self, chars: usize, next: &Rendered) -> usize {
        match chars {
            0 => next.chars,
            _ => chars + separator(self.config.format).len() + next.chars,
        }
    }

    /// Sends `batch` as one message, retrying transient failures until `deadline`.
    pub async fn post(&self, batch: Vec<Rendered>, deadline: Option<Instant>) {
        let represents: u64 = batch.iter().map(|r| r.record.represents).sum();
        let message = self.message(&batch);
        let mut attempt = 1;
        let error = loop {
            let sent = match deadline {
                Some(d) => tokio::time::timeout_at(d, self.transport.send(&message))
                    .await
                    .unwrap_or(Err(TransportError::ShuttingDown)),
                None => self.transport.send(&message).await,
            };
            let error = match sent {
                Ok(_) => return self.stats.delivered(represents),
                Err(e) => e,
            };
            let Some(wait) = RETRIES.wait_after(&error, attempt) else {
                break error;
            };
            let until = Instant::now() + wait;
            if deadline.is_some_and(|d| until >= d) {
                break error;
            }
            tokio::time::sleep_until(until).await;
            attempt += 1;
        };
        self.stats.failed(represents);
        eprintln!(
            "hipkit-log: could not post {} log record(s) to room {:?}: {error}",
            batch.len(),
            self.room
        );
    }

    fn message(&self, batch: &[Rendered]) -> Message {
        let sep = separator(self.config.format);
        let body = batch
            .iter()
            .map(|r| r.body.as_str())
            .collect::<Vec<_>>()
            .join(sep);
        // The most severe record decides colour and notify (ERROR is the smallest level).
        let level = batch
            .iter()
            .map(|r| r.record.level)
            .min()
            .unwrap_or(tracing::Level::INFO);
        let notify = batch.iter().any(|r| self.config.notify_for(r.record.level));
        let mut note = RoomNotification::new(body)
            .format(self.config.format)
            .color(self.config.color_for(level))
            .notify(notify);
        note.from = self.config.sender.clone();
        Message::room(self.room.clone(), note)
    }
}
