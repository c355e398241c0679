//! Delivery: each destination of the live configuration ([`Destination`]: its kind's
//! runtime and its pacing), and the [`BridgeCouriers`] the outbox's workers hand bridge
//! parcels to. [`send`] is the one place that sends a request and reads its answer.

mod progress;
pub mod send;

use crate::accepted::Accepted;
use crate::kinds::Kind;
use async_trait::async_trait;
use hipkit_store::KvStore;
use hipkit_transport::{Couriers, Delivery, Parcel, ParcelItem, TransportError};
use progress::Progress;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OnceCell};
use tokio::time::Instant;

pub use send::{FormPart, Request};

/// One destination: its kind's runtime, and the least time between two of its requests.
pub struct Destination {
    name: String,
    kind_name: &'static str,
    interval: Duration,
    kind: Box<dyn Kind>,
    /// When the next request may start.
    next: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("kind", &self.kind_name)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// What a kind sends through: the shared HTTP client, the destination's pacing, and the
/// parcel's progress (the parts an earlier attempt delivered, before a restart too, are not
/// sent again).
pub struct Sender<'a> {
    client: &'a reqwest::Client,
    destination: &'a Destination,
    /// The parcel's id.
    parcel: &'a str,
    /// How many parts the parcel has, as its kind planned ([`Sender::plan`]); 1 otherwise.
    parts: AtomicUsize,
    /// Its parts delivered by earlier attempts, read at the first need.
    delivered: OnceCell<usize>,
    /// The next part's number in this attempt.
    part: AtomicUsize,
    /// Whether this attempt wrote progress to the store.
    stored: AtomicBool,
    progress: &'a Progress,
}

impl Sender<'_> {
    /// Tells how many parts ([`Sender::send`] calls) the parcel takes, before the first: the
    /// progress of a parcel of several parts is read from the store (a parcel of one part
    /// has none to read).
    pub fn plan(&self, parts: usize) {
        self.parts.store(parts, Ordering::Relaxed);
    }

    /// The parts earlier attempts delivered.
    async fn delivered(&self) -> Result<usize, TransportError> {
        let n = self
            .delivered
            .get_or_try_init(|| async {
                if self.parts.load(Ordering::Relaxed) > 1 {
                    self.progress.delivered(self.parcel).await
                } else {
                    Ok(self.progress.remembered(self.parcel))
                }
            })
            .await?;
        Ok(*n)
    }

    /// Whether the next part still has to be sent (an upload it needs can be skipped when
    /// an earlier attempt delivered it).
    pub async fn pending(&self) -> Result<bool, TransportError> {
        Ok(self.part.load(Ordering::Relaxed) >= self.delivered().await?)
    }

    /// Waits for the destination's pacing, then sends `request` (the parcel's next part)
    /// once; a part an earlier attempt delivered is skipped. Before a part that follows
    /// parts this attempt delivered, that progress is stored.
    pub async fn send(&self, request: &Request) -> Result<(), TransportError> {
        let delivered = self.delivered().await?;
        let part = self.part.fetch_add(1, Ordering::Relaxed);
        if part < delivered {
            return Ok(());
        }
        if part > delivered {
            self.progress.record(self.parcel, part).await?;
            self.stored.store(true, Ordering::Relaxed);
        }
        self.destination.pace().await;
        send::send(self.client, request).await?;
        Ok(())
    }

    /// Waits for the destination's pacing, then sends `request` (an upload a part needs, not
    /// a part itself) once; the answer's body.
    pub async fn upload(&self, request: &Request) -> Result<String, TransportError> {
        self.destination.pace().await;
        Ok(send::send(self.client, request).await?)
    }

    /// Waits for the destination's pacing (for kinds that send through their own client).
    pub async fn pace(&self) {
        self.destination.pace().await;
    }
}

impl Destination {
    /// A destination named `name` of kind `kind_name`.
    pub fn new(
        name: String,
        kind_name: &'static str,
        interval: Duration,
        kind: Box<dyn Kind>,
    ) -> Self {
        Self {
            name,
            kind_name,
            interval,
            kind,
            next: Mutex::new(None),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its kind's name (`slack`, `matrix`).
    pub fn kind_name(&self) -> &'static str {
        self.kind_name
    }

    /// Waits until a request may start, and books the next slot.
    async fn pace(&self) {
        if self.interval.is_zero() {
            return;
        }
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if let Some(at) = *next
            && at > now
        {
            tokio::time::sleep_until(at).await;
        }
        *next = Some(Instant::now() + self.interval);
    }
}

/// The destinations of the live configuration, by name.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    by_name: HashMap<String, Arc<Destination>>,
}

impl Destinations {
    /// Adds one; `false` when its name is taken.
    pub fn add(&mut self, destination: Destination) -> bool {
        let name = destination.name.clone();
        if self.by_name.contains_key(&name) {
            return false;
        }
        self.by_name.insert(name, Arc::new(destination));
        true
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The names of the destinations whose kind takes file uploads.
    pub fn uploading(&self) -> std::collections::HashSet<String> {
        self.by_name
            .values()
            .filter(|d| d.kind.takes_files())
            .map(|d| d.name.clone())
            .collect()
    }

    /// Each name with its kind, sorted by name (the banner).
    pub fn summary(&self) -> Vec<String> {
        let mut list: Vec<String> = self
            .by_name
            .values()
            .map(|d| format!("{} ({})", d.name, d.kind_name))
            .collect();
        list.sort();
        list
    }
}

/// The couriers of bridge parcels: each parcel's destination looked up in the live
/// configuration, its message rendered and sent there.
#[derive(Debug)]
pub struct BridgeCouriers {
    destinations: Destinations,
    client: reqwest::Client,
    progress: Progress,
}

impl BridgeCouriers {
    /// Couriers for `destinations`, keeping the progress of parcels of several parts in
    /// `store` (in memory only without one).
    pub fn new(
        destinations: Destinations,
        store: Option<Arc<dyn KvStore>>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(send::REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hipkit-bridge/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            destinations,
            client,
            progress: Progress::new(store),
        })
    }

    /// Delivers one accepted call to the destination named `via`.
    pub async fn deliver_to(&self, via: &str, accepted: &Accepted) -> Result<(), TransportError> {
        let destination = self.destinations.by_name.get(via).ok_or_else(|| {
            undeliverable(
                via,
                "no [[bridge.destinations]] of this name is configured any more; add it back \
                 to hipkit.toml, restart, and run `hipkit outbox retry`",
            )
        })?;
        let sender = Sender {
            client: &self.client,
            destination,
            parcel: &accepted.id,
            parts: AtomicUsize::new(1),
            delivered: OnceCell::new(),
            part: AtomicUsize::new(0),
            stored: AtomicBool::new(false),
            progress: &self.progress,
        };
        destination.kind.deliver(accepted, &sender).await?;
        let stored =
            sender.stored.load(Ordering::Relaxed) || sender.delivered.get().is_some_and(|n| *n > 0);
        self.progress.forget(&accepted.id, stored).await;
        Ok(())
    }
}

fn undeliverable(via: &str, reason: &str) -> TransportError {
    TransportError::Undeliverable {
        via: via.to_owned(),
        reason: reason.to_owned(),
    }
}

#[async_trait]
impl Couriers for BridgeCouriers {
    async fn deliver(&self, parcel: &Parcel) -> Result<Delivery, TransportError> {
        let ParcelItem::Chat(chat) = &parcel.item else {
            return Err(undeliverable(
                &parcel.via,
                "a bridge destination has this name: it carries bridge messages only",
            ));
        };
        let accepted: Accepted = serde_json::from_value(chat.payload.clone())
            .map_err(|e| undeliverable(&parcel.via, &format!("unreadable bridge message: {e}")))?;
        self.deliver_to(&parcel.via, &accepted).await?;
        Ok(Delivery::delivered())
    }

    fn carries(&self, via: &str) -> bool {
        self.destinations.by_name.contains_key(via)
    }

    fn named(&self) -> Vec<(String, String)> {
        let named = |name: &String| (name.clone(), format!("[[bridge.destinations]] `{name}`"));
        self.destinations.by_name.keys().map(named).collect()
    }
}
