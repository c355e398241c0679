//! `hipkit outbox`: list, retry and purge the outbox `serve` delivers from.

use crate::cli::{OutboxAction, OutboxArgs};
use crate::config::FileConfig;
use crate::failure::Failure;
use hipkit_store::{OutboxStore, SqliteStore, State, now_millis};
use std::path::PathBuf;

/// The store file: flag/env > `[store] path` > `hipkit.db`.
pub fn store_path(flag: Option<PathBuf>, file: &FileConfig) -> PathBuf {
    flag.or_else(|| file.store.path.clone())
        .unwrap_or_else(|| PathBuf::from("hipkit.db"))
}

fn runtime(e: impl std::fmt::Display) -> Failure {
    Failure::Runtime(e.to_string())
}

/// Runs `hipkit outbox ...`.
pub async fn run(args: OutboxArgs, file: FileConfig) -> Result<(), Failure> {
    let path = store_path(args.store, &file);
    if !path.exists() {
        return Err(Failure::Usage(format!(
            "no outbox at {} (set --store or HIPKIT_STORE)",
            path.display()
        )));
    }
    let store = SqliteStore::open(&path).await.map_err(runtime)?;
    match args.action {
        OutboxAction::List { state, limit, json } => {
            let state = state
                .as_deref()
                .map(str::parse::<State>)
                .transpose()
                .map_err(|e| Failure::Usage(e.to_string()))?;
            let records = store.list(state, limit).await.map_err(runtime)?;
            if json {
                for r in &records {
                    println!("{}", serde_json::to_string(r).map_err(runtime)?);
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
            if !store.requeue(&id, now_millis()).await.map_err(runtime)? {
                return Err(Failure::Runtime(format!(
                    "no undelivered message with id {id}"
                )));
            }
            println!("queued {id} again");
        }
        OutboxAction::Retry { id: None, .. } => {
            let n = store
                .requeue_all_dead(now_millis())
                .await
                .map_err(runtime)?;
            println!("queued {n} dead message(s) again");
        }
        OutboxAction::Purge { delivered_before } => {
            let cutoff = now_millis() - delivered_before.as_millis() as i64;
            let n = store.purge_delivered(cutoff).await.map_err(runtime)?;
            println!("purged {n} delivered message(s)");
        }
    }
    Ok(())
}
