//! The budget of open event streams (`GET /ui/events`): each holds a connection for as
//! long as a page is open, so past `max_event_streams` the oldest stream is told to end
//! (its page reconnects when next shown), and API calls always find a connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The open streams, oldest first.
#[derive(Clone)]
pub struct Streams(Arc<Mutex<Budget>>);

struct Budget {
    max: usize,
    next_id: u64,
    open: VecDeque<(u64, oneshot::Sender<()>)>,
}

/// One open stream: resolves [`Ticket::evicted`] when a newer stream took its place, and
/// leaves the budget when dropped.
pub struct Ticket {
    id: u64,
    streams: Streams,
    evicted: oneshot::Receiver<()>,
}

impl Streams {
    /// A budget of `max` streams (at least one).
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Mutex::new(Budget {
            max: max.max(1),
            next_id: 0,
            open: VecDeque::new(),
        })))
    }

    /// Admits a new stream, ending the oldest ones past the budget.
    pub fn admit(&self) -> Ticket {
        let (tx, evicted) = oneshot::channel();
        let mut budget = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let id = budget.next_id;
        budget.next_id += 1;
        budget.open.push_back((id, tx));
        while budget.open.len() > budget.max {
            if let Some((_, oldest)) = budget.open.pop_front() {
                // A stream already gone has nothing to end.
                let _ = oldest.send(());
            }
        }
        Ticket {
            id,
            streams: self.clone(),
            evicted,
        }
    }
}

impl Ticket {
    /// Resolves once a newer stream has taken this one's place.
    pub async fn evicted(&mut self) {
        // A dropped sender (the budget itself gone) ends the stream too.
        let _ = (&mut self.evicted).await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut budget = self.streams.0.lock().unwrap_or_else(|p| p.into_inner());
        budget.open.retain(|(id, _)| *id != self.id);
    }
}
