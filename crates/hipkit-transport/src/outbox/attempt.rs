//! One delivery attempt and what it leads to: delivered, retried (after a backoff, or after
//! a 429's reset), dead, or handed back untouched while the rate gate is closed. With shared
//! limits, a message first reserves its slot on the token's and the recipient's budgets.

use super::limits::{SharedLimits, Slot};
use super::{DeliveryMetrics, RateGate, RetryPolicy};
use crate::{Couriers, Message, Parcel, Retry, Transport};
use hipkit_store::{Claim, Millis, OutboxRecord, Outcome, now_millis};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds in `d`, saturating.
pub(super) fn to_millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn system_time(ms: Millis) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

fn millis(t: SystemTime) -> Millis {
    t.duration_since(UNIX_EPOCH).map_or(0, to_millis)
}

/// What a stored record asks for.
enum Stored {
    /// A HipChat message through the inner transport (the shared token).
    Message(Box<Message>),
    /// A parcel for a courier of the live configuration.
    Parcel(Parcel),
}

/// Reads a stored payload: a message (what most records hold), else a parcel.
fn decode(payload: &str) -> Result<Stored, String> {
    match serde_json::from_str::<Message>(payload) {
        Ok(message) => Ok(Stored::Message(Box::new(message))),
        Err(plain) => serde_json::from_str::<Parcel>(payload)
            .map(Stored::Parcel)
            .map_err(|parcel| format!("neither a message ({plain}) nor a parcel ({parcel})")),
    }
}

/// What an attempt needs: the inner transport, the couriers, the token's rate gate, the
/// retry budget.
pub(super) struct Deliverer {
    /// Where messages go.
    pub(super) inner: Arc<dyn Transport>,
    /// Where parcels go.
    pub(super) couriers: Arc<dyn Couriers>,
    /// Shared by every delivery: closed until a 429's reset.
    pub(super) gate: RateGate,
    /// Backoff and give-up limits.
    pub(super) policy: RetryPolicy,
    /// Counters.
    pub(super) metrics: Arc<DeliveryMetrics>,
    /// The budgets shared with every replica (none: only the 429 gate).
    pub(super) limits: Option<SharedLimits>,
}

impl Deliverer {
    /// Tries one leased record; returns the outcome to record for its claim.
    pub(super) async fn attempt(&self, record: OutboxRecord) -> Outcome {
        let claim = record.claim();
        let attempts = u32::try_from(record.attempts).unwrap_or(u32::MAX);
        let stored = match decode(&record.payload) {
            Ok(stored) => stored,
            Err(e) => {
                let error = format!("unreadable stored message: {e}");
                return self.dead(record.id, claim, error, now_millis());
            }
        };
        if attempts > self.policy.max_attempts {
            // Earlier claims ended without an outcome (the process stopped while sending,
            // perhaps because of this very message): the budget is spent, do not send again.
            let mut error = format!(
                "gave up after {} attempts, the last of them without an outcome \
                 (did the process stop while sending it?)",
                attempts - 1
            );
            if let Some(last) = &record.last_error {
                error.push_str("; last error: ");
                error.push_str(last);
            }
            return self.dead(record.id, claim, error, now_millis());
        }
        // The rate gate is the shared token's; parcels travel with their couriers' own.
        let shared_token = matches!(stored, Stored::Message(_));
        if shared_token && self.gate.remaining().is_some() {
            // A 429 arrived after this record was claimed: hand it back untouched.
            let at = now_millis();
            return Outcome::Release {
                id: record.id,
                claim,
                at,
            };
        }
        if let (Stored::Message(_), Some(limits)) = (&stored, &self.limits)
            && let Some(wait) = self.wait_for_slot(limits, &record, claim).await
        {
            return wait;
        }
        let sent = match &stored {
            Stored::Message(message) => self.inner.send(message).await,
            Stored::Parcel(parcel) => self.couriers.deliver(parcel).await,
        };
        let now = now_millis();
        let error = match sent {
            Ok(_) => {
                self.metrics.delivered.inc();
                let latency = (now - record.created_at).max(0) as f64 / 1000.0;
                self.metrics.latency.observe(latency);
                return Outcome::Delivered {
                    id: record.id,
                    at: now,
                };
            }
            Err(e) => e,
        };
        let text = error.to_string();
        let retry = error.retry();
        let Some(retry_at) = self.policy.next_attempt(retry, attempts, system_time(now)) else {
            return self.dead(record.id, claim, text, now);
        };
        if matches!(retry, Retry::At(_)) {
            self.metrics.rate_limited.inc();
        }
        if let (Retry::At(_), true) = (retry, shared_token) {
            // The token is limited whatever becomes of this message: close the gate first,
            // here and (shared limits) for every replica.
            self.gate.close_until(retry_at);
            if let Some(limits) = &self.limits
                && let Err(e) = limits.hold(millis(retry_at)).await
            {
                tracing::warn!(error = %e, "cannot share the 429's reset with the other replicas");
            }
            tracing::warn!(
                until_ms = self.gate.open_at_ms(),
                "rate limited; holding every send until the reset"
            );
        }
        // Every failed attempt, a 429 included, counts against the same budget.
        let age = Duration::from_millis((now - record.created_at).max(0) as u64);
        if self.policy.exhausted(attempts, age) {
            let error = format!(
                "{text} (gave up after {attempts} attempts, {} s after it was accepted)",
                age.as_secs()
            );
            return self.dead(record.id, claim, error, now);
        }
        let next_attempt_at = match retry {
            Retry::At(_) if shared_token => self.gate.open_at_ms().max(now),
            // Another server's 429: this parcel alone waits for its `Retry-After`.
            Retry::At(Some(_)) => millis(retry_at).max(now),
            _ => {
                self.metrics.retries.inc();
                millis(retry_at)
            }
        };
        Outcome::Retry {
            id: record.id,
            claim,
            next_attempt_at,
            error: text,
        }
    }

    /// Reserves the message's slot on the shared budgets and sleeps until it; `None` when it
    /// may be sent now, else what to record instead of sending (nothing was reserved).
    async fn wait_for_slot(
        &self,
        limits: &SharedLimits,
        record: &OutboxRecord,
        claim: Claim,
    ) -> Option<Outcome> {
        let now = now_millis();
        let id = record.id.clone();
        match limits.reserve(&record.destination, now).await {
            Ok(Slot::At(at)) => {
                if at > now {
                    tokio::time::sleep(Duration::from_millis((at - now) as u64)).await;
                }
                None
            }
            Ok(Slot::TokenBusy(at)) => {
                // The token's budget is spent for longer than a lease may wait: every
                // message waits, so the workers hold off (their records go back untouched).
                self.gate.close_until(system_time(at));
                Some(Outcome::Release { id, claim, at: now })
            }
            Ok(Slot::RecipientBusy(at)) => Some(Outcome::Retry {
                id,
                claim,
                next_attempt_at: at,
                error: format!(
                    "waiting for {}'s flood-control budget (HipChat's per-recipient limit)",
                    record.destination
                ),
            }),
            Err(e) => {
                // Without the budgets nothing may be sent; try again after the first backoff.
                tracing::warn!(error = %e, "cannot reserve a send slot; the message waits");
                Some(Outcome::Retry {
                    id,
                    claim,
                    next_attempt_at: now + to_millis(self.policy.min_delay),
                    error: format!("cannot reserve a send slot: {e}"),
                })
            }
        }
    }

    fn dead(&self, id: String, claim: Claim, error: String, at: Millis) -> Outcome {
        self.metrics.dead.inc();
        // Operators watch for this (hipkit-log posts it to the ops room under `serve`).
        tracing::warn!(id = %id, attempts = claim.attempts, error = %error, "message is dead: no more delivery attempts");
        Outcome::Dead {
            id,
            claim,
            error,
            at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StubError, StubTransport};
    use hipchat::RoomNotification;
    use hipkit_store::State;

    const HOUR_MS: i64 = 3_600_000;

    fn deliverer(stub: &StubTransport) -> Deliverer {
        Deliverer {
            inner: Arc::new(stub.clone()),
            couriers: Arc::new(crate::NoCouriers),
            gate: RateGate::new(),
            policy: RetryPolicy {
                max_attempts: 5,
                max_age: Duration::from_secs(24 * 3600),
                ..RetryPolicy::default()
            },
            metrics: Arc::new(DeliveryMetrics::default()),
            limits: None,
        }
    }

    /// A record in flight on its `attempts`-th attempt, accepted `age_ms` before now.
    fn leased(attempts: i64, age_ms: i64) -> OutboxRecord {
        let now = now_millis();
        let payload = Message::room("Ops", RoomNotification::new("hello"));
        OutboxRecord {
            id: "r1".into(),
            destination: "room:Ops".into(),
            payload: serde_json::to_string(&payload).unwrap(),
            state: State::InFlight,
            attempts,
            next_attempt_at: now - age_ms,
            lease_until: Some(now + 60_000),
            last_error: None,
            created_at: now - age_ms,
            updated_at: now,
            delivered_at: None,
            lane: None,
            claims: attempts,
        }
    }

    fn rate_limited_for_an_hour() -> StubTransport {
        let reset = (now_millis() + HOUR_MS) / 1000;
        StubTransport::new_error(StubError::RateLimited {
            reset: Some(reset as u64),
        })
    }

    #[tokio::test]
    async fn a_429_within_budget_waits_for_the_reset_and_closes_the_gate() {
        let d = deliverer(&rate_limited_for_an_hour());
        let record = leased(1, 1000);
        let claim = record.claim();
        match d.attempt(record).await {
            Outcome::Retry {
                claim: c,
                next_attempt_at,
                error,
                ..
            } => {
                assert_eq!(c, claim, "the outcome settles the claim it came from");
                assert_eq!(next_attempt_at, d.gate.open_at_ms());
                assert!(next_attempt_at > now_millis() + HOUR_MS / 2);
                assert!(error.contains("rate limited"), "{error}");
            }
            other => panic!("expected a retry, got {other:?}"),
        }
        assert!(d.gate.remaining().is_some());
        assert_eq!(d.metrics.rate_limited.get(), 1);
    }

    #[tokio::test]
    async fn a_message_that_keeps_getting_429_dies_at_max_age() {
        let d = deliverer(&rate_limited_for_an_hour());
        match d.attempt(leased(2, 25 * HOUR_MS)).await {
            Outcome::Dead { error, .. } => {
                assert!(error.contains("rate limited"), "{error}");
                assert!(error.contains("gave up after 2 attempts"), "{error}");
            }
            other => panic!("expected dead past max_age, got {other:?}"),
        }
        assert!(d.gate.remaining().is_some(), "the token is still limited");
        assert_eq!(d.metrics.dead.get(), 1);
    }

    #[tokio::test]
    async fn a_429_on_the_last_attempt_goes_dead() {
        let d = deliverer(&rate_limited_for_an_hour());
        assert!(matches!(
            d.attempt(leased(5, 1000)).await,
            Outcome::Dead { .. }
        ));
    }

    #[tokio::test]
    async fn transient_failures_back_off_until_the_budget_is_spent() {
        let stub = StubTransport::new_error(StubError::Status(503));
        let d = deliverer(&stub);
        let before = now_millis();
        match d.attempt(leased(1, 1000)).await {
            Outcome::Retry {
                next_attempt_at, ..
            } => assert!(
                next_attempt_at >= before + 500,
                "at least the first backoff"
            ),
            other => panic!("expected a retry, got {other:?}"),
        }
        assert!(
            d.gate.remaining().is_none(),
            "a 503 does not close the gate"
        );
        assert!(matches!(
            d.attempt(leased(5, 1000)).await,
            Outcome::Dead { .. }
        ));
        assert!(matches!(
            d.attempt(leased(1, 25 * HOUR_MS)).await,
            Outcome::Dead { .. }
        ));
        assert_eq!(stub.sent_messages().len(), 3);
    }

    #[tokio::test]
    async fn a_message_whose_claims_never_ended_is_not_sent_again_past_the_budget() {
        let stub = StubTransport::new_ok();
        let d = deliverer(&stub);
        let mut record = leased(6, 1000);
        record.last_error = Some("503 Service Unavailable".into());
        match d.attempt(record).await {
            Outcome::Dead { error, .. } => {
                assert!(error.contains("gave up after 5 attempts"), "{error}");
                assert!(error.contains("503 Service Unavailable"), "{error}");
            }
            other => panic!("expected dead, got {other:?}"),
        }
        assert!(stub.sent_messages().is_empty(), "never sent");
        assert!(matches!(
            d.attempt(leased(5, 1000)).await,
            Outcome::Delivered { .. }
        ));
    }

    #[tokio::test]
    async fn while_the_gate_is_closed_records_are_handed_back_unsent() {
        let stub = StubTransport::new_ok();
        let d = deliverer(&stub);
        d.gate
            .close_until(SystemTime::now() + Duration::from_secs(60));
        assert!(matches!(
            d.attempt(leased(1, 0)).await,
            Outcome::Release { .. }
        ));
        assert!(stub.sent_messages().is_empty());
    }

    /// A deliverer keeping `limits` in `rates` (shared with whoever else holds it), waiting
    /// at most `horizon_ms` for a slot.
    fn limited(
        stub: &StubTransport,
        rates: Arc<hipkit_store::MemoryRates>,
        limits: super::super::SendLimits,
        horizon_ms: u64,
    ) -> Deliverer {
        let token = hipchat::Token::new("shared-token");
        let shared = SharedLimits::new(rates, limits, &token, Duration::from_millis(horizon_ms));
        Deliverer {
            limits: Some(shared),
            ..deliverer(stub)
        }
    }

    fn per_minute(token_limit: u32, flood_limit: u32) -> super::super::SendLimits {
        super::super::SendLimits {
            token_limit,
            token_window: Duration::from_secs(60),
            flood_limit,
            flood_window: Duration::from_secs(60),
            margin: Duration::ZERO,
        }
    }

    #[tokio::test]
    async fn a_used_up_room_budget_puts_the_message_back_until_its_slot_unsent() {
        let stub = StubTransport::new_ok();
        let rates = Arc::new(hipkit_store::MemoryRates::default());
        // Two deliverers (two replicas) on one budget: one message per room per minute.
        let a = limited(&stub, rates.clone(), per_minute(100, 1), 1000);
        let b = limited(&stub, rates, per_minute(100, 1), 1000);
        let before = now_millis();
        assert!(matches!(
            a.attempt(leased(1, 0)).await,
            Outcome::Delivered { .. }
        ));
        match b.attempt(leased(1, 0)).await {
            Outcome::Retry {
                next_attempt_at,
                error,
                ..
            } => {
                assert!(next_attempt_at >= before + 60_000, "{next_attempt_at}");
                assert!(error.contains("room:Ops"), "{error}");
            }
            other => panic!("expected a retry at the room's slot, got {other:?}"),
        }
        assert_eq!(stub.sent_messages().len(), 1, "the second was not sent");
        assert!(b.gate.remaining().is_none(), "other rooms still go");
    }

    #[tokio::test]
    async fn a_used_up_token_budget_closes_the_gate_and_hands_the_message_back() {
        let stub = StubTransport::new_ok();
        let rates = Arc::new(hipkit_store::MemoryRates::default());
        let a = limited(&stub, rates.clone(), per_minute(1, 100), 1000);
        let b = limited(&stub, rates, per_minute(1, 100), 1000);
        assert!(matches!(
            a.attempt(leased(1, 0)).await,
            Outcome::Delivered { .. }
        ));
        assert!(matches!(
            b.attempt(leased(1, 0)).await,
            Outcome::Release { .. }
        ));
        assert!(
            b.gate.remaining().unwrap() > Duration::from_secs(50),
            "every message waits for the token"
        );
        assert_eq!(stub.sent_messages().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_within_the_horizon_is_waited_for_then_sent() {
        let stub = StubTransport::new_ok();
        let rates = Arc::new(hipkit_store::MemoryRates::default());
        let limits = super::super::SendLimits {
            flood_window: Duration::from_millis(300),
            ..per_minute(100, 1)
        };
        let d = limited(&stub, rates, limits, 1000);
        assert!(matches!(
            d.attempt(leased(1, 0)).await,
            Outcome::Delivered { .. }
        ));
        assert!(matches!(
            d.attempt(leased(1, 0)).await,
            Outcome::Delivered { .. }
        ));
        assert_eq!(stub.sent_messages().len(), 2);
    }

    #[tokio::test]
    async fn a_429_holds_the_token_for_every_replica() {
        let rates = Arc::new(hipkit_store::MemoryRates::default());
        let limited_one = limited(
            &rate_limited_for_an_hour(),
            rates.clone(),
            per_minute(100, 100),
            1000,
        );
        assert!(matches!(
            limited_one.attempt(leased(1, 0)).await,
            Outcome::Retry { .. }
        ));
        // Another replica, its own gate open, learns of the reset from the shared budget.
        let ok = StubTransport::new_ok();
        let other = limited(&ok, rates, per_minute(100, 100), 1000);
        assert!(other.gate.remaining().is_none());
        assert!(matches!(
            other.attempt(leased(1, 0)).await,
            Outcome::Release { .. }
        ));
        assert!(other.gate.remaining().unwrap() > Duration::from_secs(1800));
        assert!(
            ok.sent_messages().is_empty(),
            "nothing sent before the reset"
        );
    }

    /// Couriers answering every parcel with one status (0: undeliverable), counting calls.
    struct AnsweringCouriers {
        status: u16,
        retry_at: Option<SystemTime>,
        calls: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Couriers for AnsweringCouriers {
        async fn deliver(&self, parcel: &Parcel) -> Result<crate::Delivery, crate::TransportError> {
            use crate::push::PushError;
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(match self.status {
                0 => crate::TransportError::Undeliverable {
                    via: parcel.via.clone(),
                    reason: "no reporter of this name is configured".into(),
                },
                status => PushError::Status {
                    status,
                    body: "busy".into(),
                    retry_at: self.retry_at,
                }
                .into(),
            })
        }

        fn carries(&self, _: &str) -> bool {
            true
        }
    }

    fn with_couriers(
        status: u16,
        retry_at: Option<SystemTime>,
    ) -> (Deliverer, Arc<AnsweringCouriers>) {
        let couriers = Arc::new(AnsweringCouriers {
            status,
            retry_at,
            calls: Default::default(),
        });
        let mut d = deliverer(&StubTransport::new_ok());
        d.couriers = couriers.clone();
        (d, couriers)
    }

    fn parcel_record() -> OutboxRecord {
        let parcel = Parcel {
            via: "http-1".into(),
            item: crate::ParcelItem::Http(crate::push::HttpPush {
                url: "http://x/hook".into(),
                headers: Vec::new(),
                body: "{}".into(),
            }),
        };
        OutboxRecord {
            payload: serde_json::to_string(&parcel).unwrap(),
            destination: parcel.destination(),
            ..leased(1, 1000)
        }
    }

    #[tokio::test]
    async fn a_parcel_without_its_courier_goes_dead_with_the_reason() {
        let (d, couriers) = with_couriers(0, None);
        match d.attempt(parcel_record()).await {
            Outcome::Dead { error, .. } => assert_eq!(
                error,
                "cannot deliver through `http-1`: no reporter of this name is configured"
            ),
            other => panic!("expected dead, got {other:?}"),
        }
        assert_eq!(couriers.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_receivers_429_delays_its_parcel_only_until_retry_after() {
        let reset = SystemTime::now() + Duration::from_secs(3600);
        let (d, _) = with_couriers(429, Some(reset));
        match d.attempt(parcel_record()).await {
            Outcome::Retry {
                next_attempt_at, ..
            } => assert_eq!(next_attempt_at, millis(reset)),
            other => panic!("expected a retry, got {other:?}"),
        }
        assert!(
            d.gate.remaining().is_none(),
            "HipChat's gate stays open: another server limited another sender"
        );
        let (d, _) = with_couriers(400, None);
        assert!(matches!(
            d.attempt(parcel_record()).await,
            Outcome::Dead { .. }
        ));
        let (d, _) = with_couriers(503, None);
        assert!(matches!(
            d.attempt(parcel_record()).await,
            Outcome::Retry { .. }
        ));
    }

    #[tokio::test]
    async fn parcels_are_sent_while_the_shared_tokens_gate_is_closed() {
        let (d, couriers) = with_couriers(503, None);
        d.gate
            .close_until(SystemTime::now() + Duration::from_secs(60));
        assert!(matches!(
            d.attempt(parcel_record()).await,
            Outcome::Retry { .. }
        ));
        assert_eq!(couriers.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unreadable_payload_is_dead_and_says_why() {
        let d = deliverer(&StubTransport::new_ok());
        let record = OutboxRecord {
            payload: "{\"via\": 3}".into(),
            ..leased(1, 0)
        };
        match d.attempt(record).await {
            Outcome::Dead { error, .. } => {
                assert!(
                    error.starts_with("unreadable stored message: neither a message"),
                    "{error}"
                )
            }
            other => panic!("expected dead, got {other:?}"),
        }
    }
}
