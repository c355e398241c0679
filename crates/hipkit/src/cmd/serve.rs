//! `hipkit serve`: the send API in front of a delivery backend (the durable outbox by
//! default), with the built-in emulator standing in for HipChat when no endpoint is set.

use crate::cli::{ServeArgs, ServerArgs};
use crate::config::FileConfig;
use crate::failure::Failure;
use crate::serve::{AppState, Metrics};
use hipkit_emulator::{EmulatorConfig, RunningEmulator, TokenSpec};
use hipkit_store::{OutboxStore, SqliteStore};
use hipkit_transport::outbox::{Outbox, RetryPolicy, WorkerConfig, Workers};
use hipkit_transport::{
    BackendKind, FileTransport, HttpTransport, MemoryTransport, NullTransport, Transport,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const DEFAULT_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 8080);
const DEFAULT_EMULATOR: ([u8; 4], u16) = ([127, 0, 0, 1], 8180);

fn runtime(e: impl std::fmt::Display) -> Failure {
    Failure::Runtime(e.to_string())
}

/// The HipChat side: the configured server, or a built-in emulator when none is configured.
async fn hipchat_side(
    server: &ServerArgs,
    file: &FileConfig,
) -> Result<(hipchat::Client, Option<RunningEmulator>), Failure> {
    if server.endpoint.is_some() || file.hipchat.endpoint.is_some() {
        return Ok((super::send::client(server, file)?, None));
    }
    let configured = server
        .token
        .clone()
        .or_else(|| file.hipchat.token.as_ref().map(|t| t.expose().to_owned()));
    let emulator = hipkit_emulator::start(EmulatorConfig {
        listen: file
            .emulator
            .listen
            .unwrap_or_else(|| SocketAddr::from(DEFAULT_EMULATOR)),
        tokens: configured.iter().map(TokenSpec::all_scopes).collect(),
        rooms: file
            .emulator
            .rooms
            .clone()
            .unwrap_or_else(|| vec!["Build Room".to_owned()]),
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|e| Failure::Runtime(format!("built-in emulator: {e}")))?;
    let local = ServerArgs {
        endpoint: Some(emulator.base_url.clone()),
        token: configured.or_else(|| emulator.generated_token.clone()),
        insecure: false,
        timeout: server.timeout,
    };
    Ok((super::send::client(&local, file)?, Some(emulator)))
}

fn worker_config(args: &ServeArgs, file: &FileConfig) -> WorkerConfig {
    let d = &file.delivery;
    let defaults = WorkerConfig::default();
    let retry = RetryPolicy::default();
    let timeout = args
        .server
        .timeout
        .or(file.hipchat.timeout_secs)
        .unwrap_or(30);
    WorkerConfig {
        concurrency: args
            .concurrency
            .or(d.concurrency)
            .unwrap_or(defaults.concurrency),
        // A lease must outlive the request it covers, or a slow send is duplicated.
        lease: Duration::from_secs(d.lease_secs.unwrap_or(60).max(timeout + 5)),
        retry: RetryPolicy {
            max_attempts: d.max_attempts.unwrap_or(retry.max_attempts),
            max_age: d
                .max_age_secs
                .map(Duration::from_secs)
                .unwrap_or(retry.max_age),
            min_delay: d
                .backoff_min_ms
                .map(Duration::from_millis)
                .unwrap_or(retry.min_delay),
            max_delay: d
                .backoff_max_ms
                .map(Duration::from_millis)
                .unwrap_or(retry.max_delay),
        },
        ..defaults
    }
}

/// The transport `POST /api/v1/messages` feeds, its store, and workers to run.
type Backend = (
    Arc<dyn Transport>,
    Option<Arc<dyn OutboxStore>>,
    Option<Workers>,
    String,
);

async fn backend(
    kind: BackendKind,
    inner: Arc<dyn Transport>,
    args: &ServeArgs,
    file: &FileConfig,
    metrics: &Metrics,
) -> Result<Backend, Failure> {
    Ok(match kind {
        BackendKind::Http => (inner, None, None, "http".into()),
        BackendKind::Memory => (
            Arc::new(MemoryTransport::new()),
            None,
            None,
            "memory".into(),
        ),
        BackendKind::Null => (Arc::new(NullTransport::new()), None, None, "null".into()),
        BackendKind::File => {
            let path = file
                .delivery
                .file_path
                .clone()
                .unwrap_or_else(|| PathBuf::from("hipkit-messages.jsonl"));
            let t = FileTransport::open(&path).await.map_err(runtime)?;
            (
                Arc::new(t),
                None,
                None,
                format!("file ({})", path.display()),
            )
        }
        BackendKind::Outbox => {
            let path = super::outbox::store_path(args.store.clone(), file);
            let store: Arc<dyn OutboxStore> =
                Arc::new(SqliteStore::open(&path).await.map_err(runtime)?);
            let outbox = Outbox::new(store.clone());
            let workers =
                outbox.workers(inner, worker_config(args, file), metrics.delivery.clone());
            let label = format!("outbox (SQLite {})", path.display());
            (Arc::new(outbox), Some(store), Some(workers), label)
        }
    })
}

/// Runs until SIGINT/SIGTERM: stops intake, then finishes or releases deliveries in flight.
pub async fn run(args: ServeArgs, file: FileConfig) -> Result<(), Failure> {
    let kind: BackendKind = args
        .backend
        .clone()
        .or_else(|| file.delivery.backend.clone())
        .unwrap_or_else(|| "outbox".into())
        .parse()
        .map_err(Failure::Usage)?;
    let listen = args
        .listen
        .or(file.serve.listen)
        .unwrap_or_else(|| SocketAddr::from(DEFAULT_LISTEN));
    let (client, emulator) = hipchat_side(&args.server, &file).await?;
    let hipchat_url = client.base_url().to_owned();
    let inner: Arc<dyn Transport> = Arc::new(HttpTransport::new(client));
    let metrics = Metrics::default();
    let (transport, store, workers, label) = backend(kind, inner, &args, &file, &metrics).await?;
    let state = AppState {
        transport,
        store,
        metrics: Arc::new(metrics),
        api_token: file.serve.api_token.clone(),
        request_timeout: Duration::from_secs(file.serve.request_timeout_secs.unwrap_or(10)),
    };
    let app = crate::serve::router(state, file.serve.max_body_bytes.unwrap_or(64 * 1024));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::Runtime(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr().map_err(runtime)?;
    println!("hipkit serve listening on http://{addr}");
    println!("  send API:  POST http://{addr}/api/v1/messages");
    println!("  delivery:  {label} -> {hipchat_url}");
    if let Some(emu) = &emulator {
        println!(
            "  HipChat:   built-in emulator at {} (web UI: {}/)",
            emu.base_url, emu.base_url
        );
        if let Some(token) = &emu.generated_token {
            println!("  emulator token (all scopes): {token}");
        }
    }
    let (stop, stop_rx) = watch::channel(false);
    let worker_task = workers.map(|w| tokio::spawn(w.run(stop_rx)));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(super::shutdown_signal())
        .await;
    let _ = stop.send(true);
    if let Some(task) = worker_task {
        let _ = task.await;
    }
    if let Some(emu) = emulator {
        emu.shutdown().await;
    }
    served.map_err(runtime)
}
