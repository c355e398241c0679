//! `hipkit outbox`: list, retry and purge the outbox `serve` delivers from.

use crate::cli::OutboxAction;
use crate::failure::Failure;
use hipkit::Settings;
use hipkit_store::{OutboxStore, Requeue, now_millis};

/// Runs `hipkit outbox ...` against `[store] path` (readable while `serve` runs).
pub async fn run(action: OutboxAction, settings: &Settings) -> Result<(), Failure> {
    let path = &settings.store.path;
    if !path.exists() {
        return Err(Failure::Usage(format!(
            "no outbox at {} (set --store or HIPKIT_STORE)",
            path.display()
        )));
    }
    let store = settings.store.open().await.map_err(Failure::runtime)?;
    match action {
        OutboxAction::List { state, limit, json } => {
            let records = store.list(state, limit).await.map_err(Failure::runtime)?;
            if json {
                for r in &records {
                    println!("{}", serde_json::to_string(r).map_err(Failure::runtime)?);
                }
            } else {
                println!(
                    "{:<36}  {:<9}  {:>8}  {:<24}  LAST ERROR",
                    "ID", "STATE", "ATTEMPTS", "DESTINATION"
                );
                for r in &records {
                    println!(
                        "{:<36}  {:<9}  {:>8}  {:<24}  {}",
                        r.id,
                        r.state,
                        r.attempts,
                        r.destination,
                        r.last_error.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        OutboxAction::Retry { id: Some(id), .. } => {
            let outcome = store
                .requeue(&id, now_millis(), false)
                .await
                .map_err(Failure::runtime)?;
            if outcome != Requeue::Requeued {
                return Err(Failure::Runtime(format!("message {id}: {outcome}")));
            }
            println!("queued {id} again");
        }
        OutboxAction::Retry { id: None, .. } => {
            let n = store
                .requeue_all_dead(now_millis())
                .await
                .map_err(Failure::runtime)?;
            println!("queued {n} dead message(s) again");
        }
        OutboxAction::Purge { delivered_before } => {
            let cutoff = now_millis() - delivered_before.as_millis() as i64;
            let n = store
                .purge_delivered(cutoff)
                .await
                .map_err(Failure::runtime)?;
            println!("purged {n} delivered message(s)");
        }
    }
    Ok(())
}
