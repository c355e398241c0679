//! `hipkit integrations`: the Python integrations server's command line, served by
//! hipkit-integrations; and the `[integrations]` wiring `serve` shares.

use crate::cli::IntegrationsArgs;
use crate::failure::Failure;
use hipkit::Settings;
use hipkit_integrations::runtime::python::HipChatTarget;
use hipkit_integrations::tokens::TokenSpec;
use hipkit_integrations::{Integrations, Options};
use hipkit_server::Server;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// Starts the integrations of `[integrations]` (its `path` must be set), their storage in
/// the `[store]` database, their helpers pointed at `[hipchat]`.
pub(super) async fn start(settings: &Settings) -> Result<Integrations, Failure> {
    let store = settings
        .store
        .open()
        .await
        .map_err(|e| Failure::Runtime(format!("integration storage: {e}")))?;
    let hipchat = HipChatTarget {
        endpoint: settings.hipchat.endpoint_or_default().to_owned(),
        insecure: settings.hipchat.accept_invalid_certs,
        timeout_secs: settings.hipchat.timeout_secs,
    };
    Integrations::start(Options {
        config: settings.integrations.clone(),
        store: Arc::new(store),
        hipchat,
    })
    .await
    .map_err(|e| Failure::Usage(e.to_string()))
}

/// Mounts `[integrations]` on `serve` when its `path` is set (`POST /hooks/hipchat`, and
/// `POST /` with `root_hook`).
pub(super) async fn mount_in_serve(
    settings: &Settings,
    server: Server,
) -> Result<(Server, Option<Integrations>), Failure> {
    if settings.integrations.path.is_none() {
        return Ok((server, None));
    }
    let integrations = start(settings).await?;
    let server = integrations.mount(server, settings.integrations.root_hook);
    Ok((server, Some(integrations)))
}

/// The command-line token specs, each error naming its argument (never its token).
fn token_specs(args: &IntegrationsArgs) -> Result<Vec<TokenSpec>, Failure> {
    args.token_args()
        .map(|raw| {
            raw.parse::<TokenSpec>()
                .map_err(|e| Failure::Usage(format!("invalid token argument: {e}")))
        })
        .collect()
}

/// Where to listen: `--listen` (an IP, or IP:PORT), PORT, `[serve] listen`.
fn listen(args: &IntegrationsArgs, configured: SocketAddr) -> Result<SocketAddr, Failure> {
    let mut addr = configured;
    if let Some(raw) = &args.listen {
        if let Ok(full) = raw.parse::<SocketAddr>() {
            addr = full;
        } else {
            let ip: IpAddr = raw.parse().map_err(|_| {
                Failure::Usage(format!("--listen `{raw}` is neither an IP nor IP:PORT"))
            })?;
            addr.set_ip(ip);
        }
    }
    if let Some(port) = args.port() {
        addr.set_port(port);
    }
    Ok(addr)
}

/// Runs until SIGINT/SIGTERM.
pub async fn run(args: &IntegrationsArgs, mut settings: Settings) -> Result<(), Failure> {
    settings.integrations.tokens.extend(token_specs(args)?);
    settings
        .integrations
        .path
        .get_or_insert_with(|| PathBuf::from("."));
    settings.serve.listen = listen(args, settings.serve.listen)?;
    settings
        .serve
        .validate()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let integrations = start(&settings).await?;
    let server = integrations.mount(Server::new(settings.serve.clone()), true);
    let bound = server.bind().await.map_err(Failure::runtime)?;
    let addr = bound.local_addr();
    println!("hipkit integrations listening on http://{addr}");
    banner(&integrations, &settings, &addr.to_string());
    bound.serve(hipkit_server::shutdown_signal()).await;
    integrations.shutdown().await;
    Ok(())
}

/// The start-up lines after the first (shared with `serve`); tokens only as a count.
pub(super) fn banner(integrations: &Integrations, settings: &Settings, addr: &str) {
    let names: Vec<String> = integrations
        .names()
        .iter()
        .map(|n| format!("/{n}"))
        .collect();
    println!(
        "  integrations: {} from {} ({} tokens)",
        if names.is_empty() {
            "none yet".to_owned()
        } else {
            names.join(" ")
        },
        integrations.dir().display(),
        integrations.token_count()
    );
    println!("  webhooks:  POST http://{addr}/hooks/hipchat");
    println!(
        "  storage:   GET/PUT/DELETE http://{addr}/admin/storage/{{integration}} (admin token)"
    );
    println!(
        "  helpers:   HipChat at {}",
        settings.hipchat.endpoint_or_default()
    );
}
