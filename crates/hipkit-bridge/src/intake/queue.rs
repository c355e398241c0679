//! Committing an accepted call: one parcel per destination, each durably in the outbox
//! before HipChat's success answer is given, in the ordered lane of its destination and room.

use crate::accepted::{Accepted, FileNote};
use hipkit_server::ApiError;
use hipkit_transport::outbox::Outbox;
use hipkit_transport::{ChatItem, Parcel, ParcelItem};
use std::collections::HashSet;

/// Commits `accepted` for each of `destinations` (each with its own id), addressed `to`
/// (`room:Build Room`), in one transaction: all parcels or none, so a caller answered 503
/// can retry without duplicating the destinations that would otherwise have been queued.
/// A shared file's bytes go only into the parcels of the destinations in `uploads` (those
/// that take uploads); the others keep its name, size and type.
pub async fn commit(
    outbox: &Outbox,
    to: &str,
    destinations: &[String],
    accepted: &Accepted,
    uploads: &HashSet<String>,
) -> Result<(), ApiError> {
    let mut parcels = Vec::with_capacity(destinations.len());
    for via in destinations {
        let mut one = accepted.clone();
        if !parcels.is_empty() {
            // The first keeps the id the answer may name; the others get their own.
            one.id = uuid::Uuid::new_v4().simple().to_string();
        }
        if !uploads.contains(via) {
            one.file = one.file.as_ref().map(FileNote::named_only);
        }
        let payload = serde_json::to_value(&one)
            .map_err(|e| ApiError::internal(format!("cannot encode the message: {e}")))?;
        let parcel = Parcel {
            via: via.clone(),
            item: ParcelItem::Chat(ChatItem {
                to: to.to_owned(),
                payload,
            }),
        };
        // One ordered lane per destination and room (or user): a room's messages reach each
        // destination in the order they were accepted; other rooms are not held up.
        let lane = format!("{via} {to}");
        parcels.push((parcel, Some(lane)));
    }
    if let Err(e) = outbox.send_parcels(&parcels, None).await {
        tracing::warn!(error = %e, to, "bridge: a call could not be queued");
        return Err(ApiError::unavailable(format!(
            "The message could not be queued: {e}"
        )));
    }
    Ok(())
}
