//! `hipkit serve` as a list of capabilities: the settings resolved, one shared [`Context`]
//! built once (the HipChat target, with the built-in emulator standing in when no endpoint
//! is set; the one store; the delivery backend; the metrics registry), each capability of
//! [`capabilities`] built from it and mounted on one listener, announced from what it
//! returns, and shut down in reverse order.

use crate::Settings;
use crate::bridged::Bridged;
use crate::send_api::SendApiCapability;
use futures_util::future::BoxFuture;
use hipkit_emulator::{EmulatorConfig, RateSpec, RunningEmulator, TokenSpec};
use hipkit_server::{
    BoundServer, Capability, CapabilityError, Context, Mounted, Server, ServerError, Task,
};
use hipkit_store::SharedStore;
use hipkit_transport::outbox::{DeliveryMetrics, SendLimits, SharedLimits, Workers};
use hipkit_transport::{BuildError, CourierClash, CourierSet, HttpTransport, Transport};
use prometheus_client::registry::Registry;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// Every capability `serve` mounts, in order (shut down in reverse). A new capability is
/// its crate, its section in [`Settings`], and one line here. The integrations and the
/// bridge are built together ([`Bridged`]): the integrations post through the bridge.
pub fn capabilities(settings: &Settings) -> Vec<Box<dyn Capability + '_>> {
    vec![
        Box::new(SendApiCapability),
        Box::new(settings.reporters.clone()),
        Box::new(Bridged {
            integrations: &settings.integrations,
            bridge: &settings.bridge,
        }),
    ]
}

/// Why `serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The `[serve]` section is unusable.
    #[error(transparent)]
    Config(#[from] hipkit_server::ConfigError),
    /// A HipChat token is configured without an endpoint, and the emulator was not asked for.
    #[error(
        "a HipChat token is set ([hipchat] token / HIPCHAT_API_TOKEN) but no endpoint \
         ([hipchat] endpoint / HIPCHAT_ENDPOINT): messages would go to the built-in emulator \
         and vanish. Set the endpoint of your HipChat server, or ask for the emulator with \
         --emulator ([serve] emulator = true)"
    )]
    TokenWithoutEndpoint,
    /// The emulator was asked for although an endpoint is configured.
    #[error(
        "--emulator ([serve] emulator = true) and a HipChat endpoint ([hipchat] endpoint / \
         HIPCHAT_ENDPOINT) are both set: choose one"
    )]
    EmulatorAndEndpoint,
    /// Listening beyond loopback with entry points that take anonymous callers.
    #[error(
        "refusing to listen on {addr} (beyond loopback) with entry points anyone can call: {}; \
         set their credentials, listen on 127.0.0.1, or set [serve] \
         unauthenticated_beyond_loopback = true if an open relay into your chat is what you mean",
        open.join("; ")
    )]
    Unauthenticated {
        /// The listen address.
        addr: SocketAddr,
        /// What is open.
        open: Vec<String>,
    },
    /// The built-in emulator could not start.
    #[error("built-in emulator: {0}")]
    Emulator(#[source] hipkit_emulator::StartError),
    /// The `[hipchat]` client could not be built.
    #[error(transparent)]
    HipChat(#[from] hipchat::Error),
    /// The `[delivery]` backend could not be built.
    #[error(transparent)]
    Delivery(#[from] BuildError),
    /// Two capabilities give a courier the same name.
    #[error(transparent)]
    CourierClash(#[from] CourierClash),
    /// A capability could not be built.
    #[error(transparent)]
    Capability(#[from] CapabilityError),
    /// The listener could not be bound.
    #[error(transparent)]
    Bind(#[from] ServerError),
}

/// A `serve` with its listener bound and every capability built, not yet serving.
pub struct Started {
    bound: BoundServer,
    banner: Vec<String>,
    tasks: Vec<Task>,
    shutdowns: Vec<BoxFuture<'static, ()>>,
    emulator: Option<RunningEmulator>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("bound", &self.bound)
            .field("banner", &self.banner)
            .finish_non_exhaustive()
    }
}

/// Whether `serve` starts its built-in emulator (no endpoint: on a first run, or when
/// asked for), or why the HipChat settings are refused (a token without an endpoint, the
/// emulator asked for beside an endpoint).
pub fn wants_built_in_emulator(settings: &Settings) -> Result<bool, ServeError> {
    match (settings.hipchat.endpoint.is_some(), settings.serve.emulator) {
        (true, true) => Err(ServeError::EmulatorAndEndpoint),
        (true, false) => Ok(false),
        (false, false) if settings.hipchat.token.is_some() => Err(ServeError::TokenWithoutEndpoint),
        (false, _) => Ok(true),
    }
}

/// With no `[hipchat] endpoint`, starts the built-in emulator and points the HipChat
/// settings at it: on a first run (no token either), or when asked for (`[serve] emulator`,
/// accepting the configured token). A token without an endpoint is otherwise refused: a typo
/// in the endpoint's variable must not deliver a service's messages into memory.
async fn built_in_emulator(settings: &mut Settings) -> Result<Option<RunningEmulator>, ServeError> {
    if !wants_built_in_emulator(settings)? {
        return Ok(None);
    }
    let mut config = settings.emulator.clone();
    if let Some(token) = &settings.hipchat.token {
        config.tokens.push(TokenSpec::all_scopes(token.expose()));
    }
    // Webhooks registered on the built-in emulator are signed the way the integrations
    // served beside it expect, unless the emulator has its own secret.
    if config.webhook_secret.is_none() {
        config.webhook_secret = settings.integrations.jwt_secret.clone();
        if let Some(issuer) = &settings.integrations.jwt_issuer {
            config.webhook_issuer = issuer.clone();
        }
    }
    let emulator = hipkit_emulator::start(config)
        .await
        .map_err(ServeError::Emulator)?;
    settings.hipchat.endpoint = Some(emulator.base_url.clone());
    keep_the_emulators_limits(&mut settings.hipchat, &settings.emulator);
    if settings.hipchat.token.is_none() {
        let token = emulator.generated_token.clone().or_else(|| {
            settings
                .emulator
                .tokens
                .first()
                .map(|t| t.token.expose().to_owned())
        });
        settings.hipchat.token = token.map(hipchat::Token::new);
    }
    Ok(Some(emulator))
}

/// The outbox keeps the limits of the HipChat it delivers to: the built-in emulator's
/// (none unless `[emulator] rate_limit`/`flood_limit` ask for them), not HipChat's
/// documented ones, which would pace a local try-out at 30 messages a minute per room.
fn keep_the_emulators_limits(hipchat: &mut hipchat::ClientConfig, emulator: &EmulatorConfig) {
    let (limit, window) = limit_of(emulator.rate_limit.as_ref());
    (hipchat.rate_limit, hipchat.rate_window_secs) = (limit, window.max(1));
    let (limit, window) = limit_of(emulator.flood_limit.as_ref());
    (hipchat.flood_limit, hipchat.flood_window_secs) = (limit, window.max(1));
}

/// A rate spec as (limit, window seconds); no spec is no limit (0).
fn limit_of(spec: Option<&RateSpec>) -> (u32, u64) {
    spec.map_or((0, 1), |s| {
        (u32::try_from(s.limit).unwrap_or(u32::MAX), s.window_secs)
    })
}

/// The context every capability is built from, and the delivery workers `serve` runs.
async fn context(settings: &Settings) -> Result<(Context, Option<Workers>), ServeError> {
    let client = settings.hipchat.build()?;
    let inner: Arc<dyn Transport> = Arc::new(HttpTransport::new(client));
    let mut registry = Registry::default();
    let metrics = Arc::new(DeliveryMetrics::default());
    metrics.register(&mut registry);
    let store = SharedStore::new(settings.store.clone());
    let mut delivery = settings.delivery.build(&store, inner, metrics).await?;
    let workers = match delivery.workers.take() {
        Some(workers) => Some(with_limits(workers, settings, &store).await?),
        None => None,
    };
    let cx = Context {
        serve: settings.serve.clone(),
        hipchat: settings.hipchat.clone(),
        store,
        delivery,
        registry,
    };
    Ok((cx, workers))
}

/// `workers` keeping `[hipchat]`'s limits through the store's budgets, which every replica
/// on the same database shares. A message waits up to one lease for its slot (the
/// workers' heartbeat renews the lease meanwhile); a later slot hands it back, so a worker
/// is not held for long by one room.
async fn with_limits(
    workers: Workers,
    settings: &Settings,
    store: &SharedStore,
) -> Result<Workers, ServeError> {
    let Some(token) = &settings.hipchat.token else {
        return Ok(workers);
    };
    let opened = store.get().await.map_err(BuildError::Store)?;
    let horizon = settings.delivery.worker_config().lease;
    let limits = SendLimits::from_config(&settings.hipchat);
    Ok(workers.with_limits(SharedLimits::new(opened.rates, limits, token, horizon)))
}

/// `label:` padded as the banner aligns it, then `text`.
fn banner_line(label: &str, text: &str) -> String {
    format!("  {:<10} {text}", format!("{label}:"))
}

/// A capability's start-up lines as printed, `{base}` replaced by the listener's `base` URL.
pub fn banner_lines<'a>(
    base: &'a str,
    lines: &'a [(String, String)],
) -> impl Iterator<Item = String> + 'a {
    lines
        .iter()
        .map(move |(label, text)| banner_line(label, &text.replace("{base}", base)))
}

/// Resolves the HipChat target, builds the context and every capability of
/// [`capabilities`], and binds the listener. Capabilities built before a failure are shut
/// down again.
pub async fn start(mut settings: Settings) -> Result<Started, ServeError> {
    settings.serve.validate()?;
    let emulator = built_in_emulator(&mut settings).await?;
    let (mut cx, workers) = context(&settings).await?;
    let mut built: Vec<Mounted> = Vec::new();
    for capability in capabilities(&settings) {
        match capability.build(&mut cx).await {
            Ok(Some(mounted)) => built.push(mounted),
            Ok(None) => {}
            Err(e) => {
                shut_down(built.into_iter().rev().filter_map(|m| m.shutdown)).await;
                return Err(e.into());
            }
        }
    }
    let open: Vec<String> = built
        .iter()
        .flat_map(|m| m.unauthenticated.iter().cloned())
        .collect();
    let addr = cx.serve.listen;
    if !addr.ip().is_loopback() && !open.is_empty() && !cx.serve.unauthenticated_beyond_loopback {
        shut_down(built.into_iter().rev().filter_map(|m| m.shutdown)).await;
        return Err(ServeError::Unauthenticated { addr, open });
    }
    let mut couriers = CourierSet::default();
    let mut carried = built.iter().filter_map(|m| m.couriers.clone());
    if let Err(clash) = carried.try_for_each(|c| couriers.add(c)) {
        shut_down(built.into_iter().rev().filter_map(|m| m.shutdown)).await;
        return Err(clash.into());
    }
    let mut server = Server::new(cx.serve.clone());
    *server.registry() = std::mem::take(&mut cx.registry);
    let mut lines = Vec::new();
    let mut tasks = Vec::new();
    let mut shutdowns = Vec::new();
    for mounted in built {
        for routes in mounted.routes {
            server = server.mount(routes);
        }
        for (name, check) in mounted.health {
            server = server.health_check(name, check);
        }
        for hook in mounted.scrape {
            server = server.on_scrape(hook);
        }
        lines.extend(mounted.banner);
        tasks.extend(mounted.tasks);
        shutdowns.extend(mounted.shutdown);
    }
    if let Some(workers) = workers {
        let couriers = Arc::new(couriers);
        tasks.push(Box::new(move |stop| {
            Box::pin(workers.with_couriers(couriers).run(stop))
        }));
    }
    let bound = server.bind().await?;
    let banner = banner(&bound.local_addr(), &cx, &lines, emulator.as_ref());
    Ok(Started {
        bound,
        banner,
        tasks,
        shutdowns,
        emulator,
    })
}

/// The start-up lines: where `serve` listens, each capability's lines, where messages go,
/// and the built-in emulator (with its generated token: it is local and throwaway).
fn banner(
    addr: &SocketAddr,
    cx: &Context,
    lines: &[(String, String)],
    emulator: Option<&RunningEmulator>,
) -> Vec<String> {
    let base = format!("http://{addr}");
    let mut banner = vec![format!("hipkit serve listening on {base}")];
    banner.extend(banner_lines(&base, lines));
    let target = cx.hipchat.endpoint_shown();
    banner.push(banner_line(
        "delivery",
        &format!("{} -> {target}", cx.delivery.label),
    ));
    if let Some(emu) = emulator {
        banner.push(banner_line(
            "note",
            "messages stay in this local emulator: no [hipchat] endpoint is set",
        ));
        banner.push(banner_line(
            "HipChat",
            &format!(
                "built-in emulator at {} (web UI: {}/)",
                emu.base_url, emu.base_url
            ),
        ));
        if let Some(token) = &emu.generated_token {
            banner.push(format!("  emulator token (all scopes): {token}"));
        }
    }
    banner
}

/// Runs each shutdown step in turn.
async fn shut_down(steps: impl Iterator<Item = BoxFuture<'static, ()>>) {
    for step in steps {
        step.await;
    }
}

impl Started {
    /// The address the listener bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local_addr()
    }

    /// The start-up lines to print.
    pub fn banner(&self) -> &[String] {
        &self.banner
    }

    /// Serves until `shutdown` resolves: then stops intake, lets every background task
    /// (the delivery workers: finishing or releasing deliveries in flight) end, shuts the
    /// capabilities down in reverse order, and the built-in emulator last.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop, stopped) = watch::channel(false);
        let running: Vec<_> = self
            .tasks
            .into_iter()
            .map(|task| tokio::spawn(task(stopped.clone())))
            .collect();
        self.bound.serve(shutdown).await;
        let _ = stop.send(true);
        for task in running {
            let _ = task.await;
        }
        shut_down(self.shutdowns.into_iter().rev()).await;
        if let Some(emu) = self.emulator {
            emu.shutdown().await;
        }
    }
}
