//! Accepting connections under limits a slow, idle or hostile client cannot exhaust: a cap
//! on open connections, one deadline for the TLS handshake and each request's headers
//! (which also closes idle keep-alive connections), graceful shutdown, and closing a
//! connection unanswered when a request asks for it (fault injection).

use crate::conn::ConnectionKill;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long requests in progress may take to finish after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The limits every connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// The TLS handshake and each request's headers must arrive within this; an idle
    /// keep-alive connection is closed after it.
    pub header_read_timeout: Duration,
    /// Connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
}

/// What every connection task needs.
#[derive(Clone)]
struct Serving {
    router: Router,
    tls: Option<TlsAcceptor>,
    http: http1::Builder,
    handshake_timeout: Duration,
}

/// Serves `router` on `listener` until `stop` fires, then lets requests in progress finish
/// (up to a grace period).
pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    mut stop: oneshot::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let serving = Serving {
        router,
        tls,
        http,
        handshake_timeout: limits.header_read_timeout,
    };
    loop {
        let permit = tokio::select! {
            _ = &mut stop => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let serving = serving.clone();
        let watcher = graceful.watcher();
        tokio::spawn(serve_connection(stream, serving, watcher, permit));
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// Serves one connection (after its TLS handshake, within the deadline); the permit is
/// held until it ends.
async fn serve_connection(
    stream: TcpStream,
    serving: Serving,
    watcher: Watcher,
    _permit: OwnedSemaphorePermit,
) {
    match serving.tls.clone() {
        None => serve_io(TokioIo::new(stream), serving, watcher).await,
        Some(acceptor) => {
            match tokio::time::timeout(serving.handshake_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => serve_io(TokioIo::new(tls_stream), serving, watcher).await,
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

async fn serve_io<I>(io: I, serving: Serving, watcher: Watcher)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let ext = ConnectionKill::default();
    let kill = ext.0.clone();
    let router = serving.router;
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ext.clone());
        router.clone().oneshot(req.map(axum::body::Body::new))
    });
    let conn = watcher.watch(serving.http.serve_connection(io, service));
    tokio::select! {
        result = conn => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = kill.notified() => {}
    }
}
