//! Issue 24's numbers: intake on one replica with PostgreSQL beside one SQLite node, and
//! delivery to the emulator with 1, 2 and 3 replicas on PostgreSQL beside one SQLite node,
//! all in one run. PostgreSQL is the server at `HIPKIT_TEST_POSTGRES_URL` (bench/run starts
//! a throwaway one, fsync on, when it is not set); each phase gets a fresh database.

use crate::client::{reset, spawn_emulator};
use crate::process::{NO_SEND_LIMITS as NO_LIMITS, Spawned, rss_mib};
use crate::serve::{add_fault, backlog_into, delivered, intake_rate, serve_with};
use anyhow::{Context, Result, bail};
use hipkit_store::{DatabaseUrl, PostgresStore, SqliteStore};
use std::path::Path;
use std::time::{Duration, Instant};

/// Messages each delivery phase drains.
const BACKLOG: usize = 10_000;

/// Deliveries in flight per process.
const WORKERS: &str = "32";

/// Shared limits on, set high enough never to bind: what reserving a slot per message costs.
const HIGH_LIMITS: [(&str, &str); 5] = [
    ("HIPKIT_HIPCHAT__RATE_LIMIT", "1000000"),
    ("HIPKIT_HIPCHAT__RATE_WINDOW_SECS", "1"),
    ("HIPKIT_HIPCHAT__FLOOD_LIMIT", "1000000"),
    ("HIPKIT_HIPCHAT__FLOOD_WINDOW_SECS", "1"),
    ("HIPKIT_HIPCHAT__LIMIT_MARGIN_MS", "0"),
];

/// A fresh database on the PostgreSQL server.
async fn fresh_database() -> Result<DatabaseUrl> {
    if std::env::var(hipkit_store::contract::postgres::URL_VARIABLE).is_err() {
        bail!(
            "this benchmark needs PostgreSQL: run it through bench/run (it starts a throwaway \
             server), or set {} to a postgres:// URL whose user may create databases",
            hipkit_store::contract::postgres::URL_VARIABLE
        );
    }
    Ok(hipkit_store::contract::postgres::fresh_database().await)
}

/// `hipkit serve` replica `name` on `store`.
fn replica(
    hipkit: &Path,
    emulator: &str,
    store: &str,
    name: &str,
    limits: &[(&str, &str)],
) -> Result<Spawned> {
    let mut env = vec![("HIPKIT_STORE__REPLICA", name)];
    env.extend_from_slice(limits);
    serve_with(hipkit, emulator, store, "outbox", WORKERS, &env)
}

/// Intake into `store` with delivery held: accepted messages per second.
async fn intake(hipkit: &Path, emulator: &str, store: &str, seconds: f64) -> Result<f64> {
    let server = replica(hipkit, emulator, store, "intake", &NO_LIMITS)?;
    intake_rate(&server.base, seconds).await
}

/// Where a delivery phase's backlog is.
enum Backlog {
    Sqlite(std::path::PathBuf),
    Postgres(DatabaseUrl),
}

impl Backlog {
    fn store(&self) -> Result<String> {
        Ok(match self {
            Self::Sqlite(path) => path.to_str().context("store path")?.to_owned(),
            Self::Postgres(url) => url.expose().to_owned(),
        })
    }
}

/// Writes a backlog and delivers it with `replicas` processes started together: messages
/// per second from the first start to the last delivery.
async fn deliver(
    hipkit: &Path,
    emulator: &str,
    backlog: Backlog,
    replicas: usize,
    limits: &[(&str, &str)],
) -> Result<f64> {
    match &backlog {
        Backlog::Sqlite(path) => backlog_into(&SqliteStore::open(path).await?, BACKLOG).await?,
        Backlog::Postgres(url) => {
            backlog_into(&PostgresStore::open(url, "bench").await?, BACKLOG).await?
        }
    }
    let store = backlog.store()?;
    let http = reqwest::Client::new();
    reset(emulator).await?;
    let already = delivered(&http, emulator).await?;
    let started = Instant::now();
    let mut running = Vec::new();
    for n in 0..replicas {
        running.push(replica(hipkit, emulator, &store, &format!("r{n}"), limits)?);
    }
    while delivered(&http, emulator).await? - already < BACKLOG as u64 {
        if started.elapsed() > Duration::from_secs(300) {
            bail!("backlog not delivered within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rate = BACKLOG as f64 / started.elapsed().as_secs_f64();
    drop(running);
    Ok(rate)
}

/// Runs every measurement and returns the markdown report.
pub async fn run(hipkit: &Path, seconds: f64) -> Result<String> {
    let dir = tempfile::tempdir()?;

    // Intake, delivery held: the emulator answers nothing for a minute.
    let held = spawn_emulator(hipkit)?;
    add_fault(
        &held.base,
        serde_json::json!({"times": 1_000_000, "action": {"delay": {"delay_ms": 60_000}}}),
    )
    .await?;
    let sqlite_path = dir.path().join("intake.db");
    let sqlite_intake = intake(
        hipkit,
        &held.base,
        sqlite_path.to_str().context("path")?,
        seconds,
    )
    .await?;
    let pg = fresh_database().await?;
    let pg_intake = intake(hipkit, &held.base, pg.expose(), seconds).await?;
    drop(held);

    // Idle replicas' memory.
    let emu = spawn_emulator(hipkit)?;
    let idle_db = fresh_database().await?;
    let idle: Vec<Spawned> = (0..3)
        .map(|n| {
            replica(
                hipkit,
                &emu.base,
                idle_db.expose(),
                &format!("idle{n}"),
                &NO_LIMITS,
            )
        })
        .collect::<Result<_>>()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss: Vec<String> = idle
        .iter()
        .map(|s| rss_mib(s.child.id()).map(|m| format!("{m:.1}")))
        .collect::<Result<_>>()?;
    drop(idle);

    // Delivery: the SQLite node first (the baseline), then 1, 2, 3 replicas.
    let sqlite = deliver(
        hipkit,
        &emu.base,
        Backlog::Sqlite(dir.path().join("deliver.db")),
        1,
        &NO_LIMITS,
    )
    .await?;
    let mut rows = Vec::new();
    for replicas in 1..=3 {
        let url = fresh_database().await?;
        let rate = deliver(
            hipkit,
            &emu.base,
            Backlog::Postgres(url),
            replicas,
            &NO_LIMITS,
        )
        .await?;
        rows.push((replicas, "off", rate));
    }
    let url = fresh_database().await?;
    let limited = deliver(hipkit, &emu.base, Backlog::Postgres(url), 3, &HIGH_LIMITS).await?;
    rows.push((3, "on (not binding)", limited));
    let delivery_rows: String = rows
        .iter()
        .map(|(replicas, limits, rate)| {
            format!(
                "| {replicas} on PostgreSQL | {limits} | {rate:.0} messages/s | {:.2}x |\n",
                rate / sqlite
            )
        })
        .collect();
    Ok(format!(
        "## Several replicas on PostgreSQL (issue 24)\n\n\
         One run: release `hipkit serve` processes and the emulator over loopback, PostgreSQL \
         on 127.0.0.1 (fsync on, as SQLite's `synchronous=FULL` intake commits), a \
         fresh database per phase.\n\n\
         | measurement | result | ratio | target |\n|---|---|---|---|\n\
         | `POST /api/v1/messages` → committed, one SQLite node (baseline), delivery held, 64 in flight, {seconds} s | {sqlite_intake:.0} messages/s | 1.00x | — |\n\
         | the same, one replica on PostgreSQL | {pg_intake:.0} messages/s | {ri:.2}x | ≥ 0.5x |\n\
         | idle RSS of each of 3 replicas on PostgreSQL | {idle} MiB | | — |\n\n\
         Delivery of a {BACKLOG}-message backlog (one room, no lanes, {WORKERS} workers per \
         process) to the emulator, from the start of the first process to the last message \
         stored; shared limits off unless said:\n\n\
         | delivering | shared limits | rate | ratio to the SQLite node |\n|---|---|---|---|\n\
         | 1 SQLite node (baseline) | off | {sqlite:.0} messages/s | 1.00x |\n\
         {delivery_rows}",
        ri = pg_intake / sqlite_intake,
        idle = idle_rss.join(" / "),
    ))
}
