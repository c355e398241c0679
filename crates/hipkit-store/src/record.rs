//! Outbox records and their states.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for its next attempt.
    Queued,
    /// Leased by a worker until `lease_until`.
    InFlight,
    /// Its destination (HipChat, an HTTP receiver) accepted it.
    Delivered,
    /// Given up on: a permanent error, or attempts/age exhausted.
    Dead,
}

impl State {
    /// Every state.
    pub const ALL: [State; 4] = [
        State::Queued,
        State::InFlight,
        State::Delivered,
        State::Dead,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::InFlight => "in_flight",
            State::Delivered => "delivered",
            State::Dead => "dead",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A state name that is none of [`State::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state `{0}`: expected queued, in_flight, delivered or dead")]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s || (s == "in-flight" && *st == State::InFlight))
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

/// A message to persist: where it goes and what it says (opaque JSON to the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// Destination, e.g. `room:Build Room`, `user:@bob`, or for a parcel delivered by a
    /// named courier `https://ci.example/hook via http-1` (shown, never parsed).
    pub destination: String,
    /// The message as JSON.
    pub payload: String,
    /// Creation time.
    pub created_at: crate::Millis,
    /// The client's idempotency key, if any: a record whose key is already stored is not
    /// stored again (see [`crate::Enqueued`]).
    pub idempotency: Option<crate::IdempotencyKey>,
    /// The ordered lane the record joins, if any: records of one lane are delivered one at a
    /// time in acceptance order (see [`crate::OutboxStore::claim`]); without a lane a record
    /// is delivered alongside any other.
    pub lane: Option<String>,
}

/// A stored outbox record.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRecord {
    /// Record id (UUID).
    pub id: String,
    /// Destination.
    pub destination: String,
    /// The message as JSON.
    pub payload: String,
    /// State.
    pub state: State,
    /// Attempts made (including one in flight).
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: crate::Millis,
    /// Lease expiry while in flight.
    pub lease_until: Option<crate::Millis>,
    /// The last error HipChat or the network gave.
    pub last_error: Option<String>,
    /// When it was accepted.
    pub created_at: crate::Millis,
    /// Last change.
    pub updated_at: crate::Millis,
    /// When it was delivered.
    pub delivered_at: Option<crate::Millis>,
    /// Its ordered lane, if any (see [`NewRecord::lane`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane: Option<String>,
    /// How many claims the record has had (never decreases): the token of its current
    /// claim while in flight (see [`Claim`]).
    #[serde(skip)]
    pub claims: i64,
}

/// The payload is shown by its length only: it may hold what only its courier should see
/// (a slash command's `response_url`, a shared file's bytes).
impl std::fmt::Debug for OutboxRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRecord")
            .field("id", &self.id)
            .field("destination", &self.destination)
            .field("payload", &format_args!("<{} bytes>", self.payload.len()))
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("lease_until", &self.lease_until)
            .field("last_error", &self.last_error)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("delivered_at", &self.delivered_at)
            .field("lane", &self.lane)
            .field("claims", &self.claims)
            .finish()
    }
}

impl OutboxRecord {
    /// The claim this record was leased under, for the outcome that settles it.
    pub fn claim(&self) -> Claim {
        Claim {
            attempts: self.attempts,
            token: self.claims,
        }
    }
}

/// Which claim an outcome (or a lease renewal) is about: the claim's token, the record's
/// claim count right after it was claimed, which every claim raises and nothing else
/// changes (renewing the lease keeps it; a release, a retry or a requeue that lowers
/// `attempts` does not bring an old value back).
///
/// `Retry`, `Dead`, `Release` and renewals apply only while the record is still in flight
/// under this very claim, so the late outcome of a claim that another replica took over
/// cannot undo the newer claim's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claim {
    /// `attempts` right after the claim counted its attempt (for messages; not compared).
    pub attempts: i64,
    /// The record's claim count set by this claim.
    pub token: i64,
}

/// What [`crate::OutboxStore::requeue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Requeue {
    /// Queued again, due now, with a fresh attempt budget.
    Requeued,
    /// Left alone: a worker is delivering it right now (requeueing would send it twice);
    /// `force` requeues it anyway.
    InFlight,
    /// Left alone: it was already delivered.
    Delivered,
    /// No record has this id.
    NotFound,
}

impl Requeue {
    /// What a requeue of record `id`, stored with `state` (`None`: no such record), answers
    /// without changing it, or `None` when it is to be queued again; an unknown state is
    /// [`crate::StoreError::Corrupt`]. Every backend decides the same way.
    pub(crate) fn refusal(
        id: &str,
        state: Option<String>,
        force: bool,
    ) -> Result<Option<Self>, crate::StoreError> {
        let Some(state) = state else {
            return Ok(Some(Self::NotFound));
        };
        let state = state
            .parse::<State>()
            .map_err(|source| crate::StoreError::Corrupt {
                id: id.to_owned(),
                source,
            })?;
        Ok(match state {
            State::Delivered => Some(Self::Delivered),
            State::InFlight if !force => Some(Self::InFlight),
            State::Queued | State::Dead | State::InFlight => None,
        })
    }
}

impl fmt::Display for Requeue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Requeued => "queued again",
            Self::InFlight => "being delivered right now (force to queue it again anyway)",
            Self::Delivered => "already delivered",
            Self::NotFound => "not found",
        })
    }
}

/// Records per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    /// Queued.
    pub queued: u64,
    /// In flight.
    pub in_flight: u64,
    /// Delivered.
    pub delivered: u64,
    /// Dead.
    pub dead: u64,
}

impl StateCounts {
    /// The count for one state.
    pub fn get(&self, state: State) -> u64 {
        match state {
            State::Queued => self.queued,
            State::InFlight => self.in_flight,
            State::Delivered => self.delivered,
            State::Dead => self.dead,
        }
    }
}

/// The result of one delivery attempt, recorded with others in one transaction.
///
/// `Delivered` always applies (the message did reach HipChat); the others apply only while
/// the record is in flight under their [`Claim`], and are ignored otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered at the given time.
    Delivered {
        /// Record id.
        id: String,
        /// When.
        at: crate::Millis,
    },
    /// Back to the queue until `next_attempt_at`, keeping the error.
    Retry {
        /// Record id.
        id: String,
        /// The claim this outcome settles.
        claim: Claim,
        /// When to try again.
        next_attempt_at: crate::Millis,
        /// What went wrong.
        error: String,
    },
    /// No more attempts, keeping the error.
    Dead {
        /// Record id.
        id: String,
        /// The claim this outcome settles.
        claim: Claim,
        /// What went wrong.
        error: String,
        /// When.
        at: crate::Millis,
    },
    /// Back to the queue untouched, giving back the attempt its claim counted.
    Release {
        /// Record id.
        id: String,
        /// The claim this outcome settles.
        claim: Claim,
        /// When.
        at: crate::Millis,
    },
}

/// The stored record columns every backend selects, in one place (a macro so queries stay
/// `&'static str`).
macro_rules! record_columns {
    () => {
        "id, destination, payload, state, attempts, next_attempt_at, lease_until, \
         last_error, created_at, updated_at, delivered_at, lane, claims"
    };
}
pub(crate) use record_columns;

/// Reads one record from a row of [`record_columns!`] of any backend; an unknown state is
/// [`crate::StoreError::Corrupt`].
pub(crate) fn decode<'r, R>(row: &'r R, op: &'static str) -> Result<OutboxRecord, crate::StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    use crate::error::DbResult;
    let id: String = row.try_get("id").op(op)?;
    let state: String = row.try_get("state").op(op)?;
    let state = state
        .parse::<State>()
        .map_err(|source| crate::StoreError::Corrupt {
            id: id.clone(),
            source,
        })?;
    let fields = || -> Result<OutboxRecord, sqlx::Error> {
        Ok(OutboxRecord {
            destination: row.try_get("destination")?,
            payload: row.try_get("payload")?,
            state,
            attempts: row.try_get("attempts")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            lease_until: row.try_get("lease_until")?,
            last_error: row.try_get("last_error")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            delivered_at: row.try_get("delivered_at")?,
            lane: row.try_get("lane")?,
            claims: row.try_get("claims")?,
            id: id.clone(),
        })
    };
    fields().op(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_payloads_length_not_its_content() {
        let record = OutboxRecord {
            id: "r1".into(),
            destination: "slack:response_url".into(),
            payload: r#"{"url":"https://hooks.slack.com/commands/T1/SECRETPATH"}"#.into(),
            state: State::Queued,
            attempts: 0,
            next_attempt_at: 0,
            lease_until: None,
            last_error: None,
            created_at: 0,
            updated_at: 0,
            delivered_at: None,
            lane: None,
            claims: 0,
        };
        let shown = format!("{record:?}");
        assert!(!shown.contains("SECRETPATH"), "{shown}");
        assert!(
            shown.contains(&format!("<{} bytes>", record.payload.len())),
            "{shown}"
        );
    }
}
