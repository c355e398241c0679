//! `hipkit outbox`: list, retry, purge and recover the outbox `serve` delivers from.

use crate::cli::OutboxAction;
use crate::failure::Failure;
use hipkit::Settings;
use hipkit_server::one_line;
use hipkit_store::{OutboxStore, Requeue, SqliteStore, now_millis};
use std::path::Path;
use std::sync::Arc;

/// Opens the `[store]` outbox beside a running `serve`: SQLite without the writer's lock
/// (the file must exist), or the PostgreSQL database.
async fn open(settings: &Settings) -> Result<Arc<dyn OutboxStore>, Failure> {
    let path = &settings.store.path;
    if settings.store.url.is_none() && !path.exists() {
        return Err(Failure::usage(format!(
            "no outbox at {} (set --store or HIPKIT_STORE)",
            path.display()
        )));
    }
    let store = settings.store.open().await.map_err(Failure::runtime)?;
    Ok(store.outbox)
}

/// Runs `hipkit outbox ...`.
pub async fn run(action: OutboxAction, settings: &Settings) -> Result<(), Failure> {
    match action {
        OutboxAction::Recover { damaged, new } => recover(&damaged, &new).await?,
        OutboxAction::List { state, limit, json } => {
            let store = open(settings).await?;
            let records = store.list(state, limit).await.map_err(Failure::runtime)?;
            if json {
                for mut r in records {
                    // A slash-command reply's response_url shows as its scheme and host.
                    r.payload = hipkit_transport::courier::shown_payload(&r.payload).into_owned();
                    println!("{}", serde_json::to_string(&r).map_err(Failure::runtime)?);
                }
            } else {
                println!(
                    "{:<36}  {:<9}  {:>8}  {:<24}  LAST ERROR",
                    "ID", "STATE", "ATTEMPTS", "DESTINATION"
                );
                for r in &records {
                    println!(
                        "{:<36}  {:<9}  {:>8}  {:<24}  {}",
                        one_line(&r.id),
                        r.state,
                        r.attempts,
                        one_line(&r.destination),
                        one_line(r.last_error.as_deref().unwrap_or("-"))
                    );
                }
            }
        }
        OutboxAction::Retry {
            id: Some(id),
            force,
            ..
        } => {
            let store = open(settings).await?;
            let outcome = store
                .requeue(&id, now_millis(), force)
                .await
                .map_err(Failure::runtime)?;
            if outcome != Requeue::Requeued {
                return Err(Failure::runtime(format!(
                    "message {}: {outcome}",
                    one_line(&id)
                )));
            }
            println!("queued {id} again");
        }
        OutboxAction::Retry { id: None, .. } => {
            let store = open(settings).await?;
            let n = store
                .requeue_all_dead(now_millis())
                .await
                .map_err(Failure::runtime)?;
            println!("queued {n} dead message(s) again");
        }
        OutboxAction::Purge { delivered_before } => {
            let cutoff = i64::try_from(delivered_before.as_millis())
                .ok()
                .and_then(|age| now_millis().checked_sub(age))
                .filter(|cutoff| *cutoff >= 0)
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "--delivered-before {} reaches back before 1970: nothing that old exists",
                        hipchat::duration::format_duration(delivered_before)
                    ))
                })?;
            let n = open(settings)
                .await?
                .purge_delivered(cutoff)
                .await
                .map_err(Failure::runtime)?;
            println!("purged {n} delivered message(s)");
        }
    }
    Ok(())
}

/// Salvages every readable row of `damaged` into the new database `new`.
async fn recover(damaged: &Path, new: &Path) -> Result<(), Failure> {
    if !damaged.exists() {
        return Err(Failure::usage(format!(
            "no database at {}",
            damaged.display()
        )));
    }
    let report = SqliteStore::recover_into(damaged, new)
        .await
        .map_err(Failure::runtime)?;
    for (table, t) in [
        ("outbox", &report.outbox),
        ("kv", &report.kv),
        ("last_build", &report.last_build),
        ("idempotency", &report.idempotency),
    ] {
        let note = if t.complete {
            ""
        } else {
            " (some rows could not be counted)"
        };
        println!(
            "{table:<12} copied {:>8}  lost {:>8}{note}",
            t.copied, t.lost
        );
    }
    println!(
        "recovered into {}: start serve with --store {} (keep the damaged file until you are sure)",
        new.display(),
        new.display()
    );
    Ok(())
}
