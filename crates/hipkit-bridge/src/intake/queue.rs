//! Committing an accepted call: one parcel per destination, each durably in the outbox
//! before HipChat's success answer is given, in the ordered lane of its destination and room.

use crate::accepted::Accepted;
use futures_util::future::join_all;
use hipkit_server::ApiError;
use hipkit_transport::outbox::Outbox;
use hipkit_transport::{ChatItem, Parcel, ParcelItem, SendOptions};

/// Commits `accepted` for each of `destinations` (each with its own id), addressed `to`
/// (`room:Build Room`); 503 when any commit failed (the others stay queued).
pub async fn commit(
    outbox: &Outbox,
    to: &str,
    destinations: &[String],
    accepted: &Accepted,
) -> Result<(), ApiError> {
    let mut parcels = Vec::with_capacity(destinations.len());
    for via in destinations {
        let mut one = accepted.clone();
        if parcels.is_empty() {
            // The first keeps the id the answer may name; the others get their own.
        } else {
            one.id = uuid::Uuid::new_v4().simple().to_string();
        }
        let payload = serde_json::to_value(&one)
            .map_err(|e| ApiError::internal(format!("cannot encode the message: {e}")))?;
        parcels.push(Parcel {
            via: via.clone(),
            item: ParcelItem::Chat(ChatItem {
                to: to.to_owned(),
                payload,
            }),
        });
    }
    let results = join_all(parcels.iter().map(|p| {
        // One ordered lane per destination and room (or user): a room's messages reach each
        // destination in the order they were accepted; other rooms are not held up.
        let options = SendOptions {
            lane: Some(format!("{} {to}", p.via)),
            ..SendOptions::default()
        };
        async move { outbox.send_parcel(p, &options).await }
    }))
    .await;
    if let Some(e) = results.into_iter().find_map(Result::err) {
        tracing::warn!(error = %e, to, "bridge: a call could not be queued");
        return Err(ApiError::unavailable(format!(
            "The message could not be queued: {e}"
        )));
    }
    Ok(())
}
