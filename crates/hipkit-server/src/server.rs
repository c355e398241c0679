//! [`Server`]: capabilities' routers merged behind the shared limits, `/healthz`,
//! `/metrics`, the JSON error envelope for every unmatched route, and graceful shutdown.

use crate::{
    ApiError, BodyLimit, Connections, HealthCheck, ScrapeHook, ServerConfig, envelope_errors,
    require_token, serve_connections,
};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use prometheus_client::registry::Registry;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The `[serve]` settings are unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// When a request must be answered: `request_timeout_secs` after it arrived. Handlers of
/// routes mounted [`Routes::timed_by_handler`] read it to answer in time themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestDeadline(pub Instant);

impl<S: Send + Sync> FromRequestParts<S> for RequestDeadline {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

impl RequestDeadline {
    /// The deadline `Server` stamped on the request; outside a `Server` (a router used on its
    /// own) there is no stamp, and the default timeout applies from now.
    pub fn of(parts: &Parts) -> Self {
        parts
            .extensions
            .get::<RequestDeadline>()
            .copied()
            .unwrap_or_else(|| {
                RequestDeadline(Instant::now() + ServerConfig::default().request_timeout())
            })
    }
}

/// A capability's routes and how the server wraps them.
#[derive(Debug)]
pub struct Routes {
    router: Router,
    protected: bool,
    timed_by_handler: bool,
}

impl Routes {
    /// Routes anyone on the network may call.
    pub fn public(router: Router) -> Self {
        Self {
            router,
            protected: false,
            timed_by_handler: false,
        }
    }

    /// Routes that need the configured API token.
    pub fn protected(router: Router) -> Self {
        Self {
            protected: true,
            ..Self::public(router)
        }
    }

    /// The handlers answer by the [`RequestDeadline`] themselves (reading the body included),
    /// so the server never drops one mid-way: a handler that has committed work can still
    /// say so, instead of the server answering "timed out" for work that was done.
    pub fn timed_by_handler(mut self) -> Self {
        self.timed_by_handler = true;
        self
    }
}

/// Builds the service from capabilities' routers (see the crate docs).
pub struct Server {
    config: ServerConfig,
    routes: Router,
    registry: Registry,
    health: Vec<(String, Arc<dyn HealthCheck>)>,
    scrape: Vec<Arc<dyn ScrapeHook>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("health_checks", &self.health.len())
            .finish_non_exhaustive()
    }
}

/// What `/healthz` and `/metrics` read.
#[derive(Clone)]
struct Observability {
    registry: Arc<Registry>,
    health: Arc<[(String, Arc<dyn HealthCheck>)]>,
    scrape: Arc<[Arc<dyn ScrapeHook>]>,
}

impl Server {
    /// An empty server with the `[serve]` settings.
    pub fn new(config: ServerConfig) -> Self {
        Self {
            config,
            routes: Router::new(),
            registry: Registry::default(),
            health: Vec::new(),
            scrape: Vec::new(),
        }
    }

    /// The settings it was built with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The one metrics registry every capability registers into.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Adds a capability's routes as [`Routes`] describes them.
    pub fn mount(mut self, routes: Routes) -> Self {
        let mut router = routes.router;
        if !routes.timed_by_handler {
            router = router.layer(middleware::from_fn(time_limit));
        }
        if routes.protected {
            router = require_token(router, self.config.api_token.clone());
        }
        self.routes = self.routes.merge(router);
        self
    }

    /// Adds routes anyone on the network may call.
    pub fn merge(self, routes: Router) -> Self {
        self.mount(Routes::public(routes))
    }

    /// Adds routes that need the configured API token (`Authorization: Bearer`).
    pub fn merge_protected(self, routes: Router) -> Self {
        self.mount(Routes::protected(routes))
    }

    /// Adds a dependency `/healthz` checks, reported under `name`.
    pub fn health_check(mut self, name: impl Into<String>, check: Arc<dyn HealthCheck>) -> Self {
        self.health.push((name.into(), check));
        self
    }

    /// Adds a hook run before each `/metrics` scrape.
    pub fn on_scrape(mut self, hook: Arc<dyn ScrapeHook>) -> Self {
        self.scrape.push(hook);
        self
    }

    /// The complete app: routes, `/healthz`, `/metrics`, envelopes, limits.
    pub fn into_router(self) -> Router {
        let observe = Observability {
            registry: Arc::new(self.registry),
            health: self.health.into(),
            scrape: self.scrape.into(),
        };
        let builtin = Router::new()
            .route("/healthz", get(health))
            .route("/metrics", get(metrics))
            .with_state(observe);
        let timeout = self.config.request_timeout();
        self.routes
            .merge(builtin.layer(middleware::from_fn(time_limit)))
            .fallback(|| async { ApiError::not_found("no such endpoint") })
            .layer(middleware::from_fn_with_state(timeout, stamp_deadline))
            .layer(Extension(BodyLimit(self.config.max_body_bytes)))
            .layer(DefaultBodyLimit::max(self.config.max_body_bytes))
            .layer(middleware::from_fn(envelope_errors))
    }

    /// Binds the listen address (port 0 picks a free port).
    pub async fn bind(self) -> Result<BoundServer, ServerError> {
        self.config.validate()?;
        let addr = self.config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;
        let connections = Connections {
            header_read_timeout: self.config.header_read_timeout(),
            max_connections: self.config.max_connections,
            tls: None,
            allowed_hosts: self
                .config
                .hosts()
                .map_err(crate::config::ConfigError::from)?,
        };
        Ok(BoundServer {
            listener,
            local_addr,
            connections,
            app: self.into_router(),
        })
    }
}

/// A server with its socket bound, ready to serve.
#[derive(Debug)]
pub struct BoundServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    connections: Connections,
    app: Router,
}

impl BoundServer {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then lets requests in progress finish (up to 10 s).
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        serve_connections(self.listener, self.app, self.connections, shutdown).await;
    }
}

/// Middleware (`axum::middleware::from_fn_with_state(timeout, stamp_deadline)`): puts a
/// [`RequestDeadline`] `timeout` from now into the request's extensions. `Server` stamps
/// `request_timeout_secs` on every request; a router served on its own stamps its own.
pub async fn stamp_deadline(
    State(timeout): State<Duration>,
    mut req: Request,
    next: Next,
) -> Response {
    let now = Instant::now();
    // A timeout too large for the clock is no deadline: a year stands for it.
    let deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400));
    req.extensions_mut().insert(RequestDeadline(deadline));
    next.run(req).await
}

/// Answers 503 at the deadline, dropping the handler (routes not timed by their handler).
async fn time_limit(
    RequestDeadline(deadline): RequestDeadline,
    req: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout_at(deadline, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::unavailable("the request timed out").into_response(),
    }
}

/// `GET /healthz`: 200 `{"status": "ok"}`, or 503 naming the failing checks.
async fn health(State(o): State<Observability>) -> Response {
    let mut failures = Vec::new();
    for (name, check) in o.health.iter() {
        if let Err(why) = check.check().await {
            failures.push(format!("{name}: {why}"));
        }
    }
    if failures.is_empty() {
        axum::Json(serde_json::json!({"status": "ok"})).into_response()
    } else {
        ApiError::unavailable(failures.join("; ")).into_response()
    }
}

/// `GET /metrics`: Prometheus (OpenMetrics) text after every scrape hook ran.
async fn metrics(State(o): State<Observability>) -> Result<Response, ApiError> {
    for hook in o.scrape.iter() {
        hook.refresh().await.map_err(ApiError::unavailable)?;
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &o.registry)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
