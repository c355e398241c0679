//! Accepting connections under limits a slow, idle or hostile client cannot exhaust: a cap
//! on open connections, one deadline for an optional TLS handshake and for each request's
//! headers (which also closes idle keep-alive connections), graceful shutdown, and a
//! [`CloseConnection`] handle in every request to drop its connection unanswered.

use crate::AllowedHosts;
use axum::Router;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long requests in progress may take to finish after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long to pause after a failed accept (out of file descriptors and the like), so the
/// loop does not spin while nothing can be accepted.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// How connections are accepted and what every one is held to.
#[derive(Clone)]
pub struct Connections {
    /// The TLS handshake and each request's headers must arrive within this; an idle
    /// keep-alive connection is closed after it.
    pub header_read_timeout: Duration,
    /// Connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Serve HTTPS with this acceptor; `None`: plain HTTP.
    pub tls: Option<TlsAcceptor>,
    /// Names served beyond the listener's own address and loopback; any other `Host` is
    /// refused before the app sees the request (see [`AllowedHosts`]).
    pub allowed_hosts: AllowedHosts,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("tls", &self.tls.is_some())
            .field("allowed_hosts", &self.allowed_hosts)
            .finish()
    }
}

/// In every request's extensions: closes the request's connection without an answer (the
/// emulator's connection-drop fault). The request's handler is dropped with it.
#[derive(Debug, Clone, Default)]
pub struct CloseConnection(Arc<Notify>);

impl CloseConnection {
    /// Closes the connection now, unanswered.
    pub fn close(&self) {
        self.0.notify_one();
    }
}

/// What every connection task needs.
#[derive(Clone)]
struct Serving {
    app: Router,
    tls: Option<TlsAcceptor>,
    allowed_hosts: AllowedHosts,
    http: http1::Builder,
    handshake_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests in progress
/// finish (up to 10 s).
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    connections: Connections,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(connections.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(connections.header_read_timeout);
    let serving = Serving {
        app,
        tls: connections.tls,
        allowed_hosts: connections.allowed_hosts,
        http,
        handshake_timeout: connections.header_read_timeout,
    };
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            serving.clone(),
            graceful.watcher(),
            permit,
        ));
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// Serves one connection (after its TLS handshake, within the header deadline); the permit
/// is held until it ends.
async fn serve_connection(
    stream: TcpStream,
    serving: Serving,
    watcher: Watcher,
    _permit: OwnedSemaphorePermit,
) {
    let Ok(local) = stream.local_addr() else {
        return;
    };
    match serving.tls.clone() {
        None => serve_io(TokioIo::new(stream), local, serving, watcher).await,
        Some(acceptor) => {
            match tokio::time::timeout(serving.handshake_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => {
                    serve_io(TokioIo::new(tls_stream), local, serving, watcher).await
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

/// Serves one connection to `local` (the address the client connected to).
async fn serve_io<I>(io: I, local: SocketAddr, serving: Serving, watcher: Watcher)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let close = CloseConnection::default();
    let closed = close.0.clone();
    let app = serving.app;
    let hosts = serving.allowed_hosts;
    let tls = serving.tls.is_some();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let refusal = hosts.check(&req, local, tls);
        req.extensions_mut().insert(close.clone());
        let app = app.clone();
        async move {
            match refusal {
                Some(refusal) => Ok(refusal.into_response()),
                None => app.oneshot(req.map(axum::body::Body::new)).await,
            }
        }
    });
    let connection = watcher.watch(serving.http.serve_connection(io, service));
    tokio::select! {
        // A client that vanishes or breaks HTTP mid-request is its own problem.
        result = connection => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = closed.notified() => {}
    }
}
