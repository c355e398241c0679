//! The load generator: N concurrent loops repeating one request for a fixed time.

use anyhow::{Result, bail};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Runs `op` from `in_flight` concurrent loops for `seconds`; returns completed ops per second.
/// Any failed op fails the measurement.
pub async fn run_for<F, Fut>(in_flight: usize, seconds: f64, op: F) -> Result<f64>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    Ok(run_counted(in_flight, seconds, op).await?.0)
}

/// [`run_for`], also answering how many ops completed.
pub async fn run_counted<F, Fut>(in_flight: usize, seconds: f64, op: F) -> Result<(f64, u64)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (op, done) = (op.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                op().await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let done = done.load(Ordering::Relaxed);
    Ok((done as f64 / started.elapsed().as_secs_f64(), done))
}

/// One run of a repeated operation.
type Op = std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// One POST of a pre-serialized JSON `body` to `url` (with an optional bearer token), as a
/// repeatable operation for [`run_for`] or [`post_count`]; any non-2xx answer is an error.
pub fn poster(
    url: &str,
    bearer: Option<&str>,
    body: &str,
) -> Result<impl Fn() -> Op + Clone + Send + 'static> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let (url, bearer, body) = (
        Arc::<str>::from(url),
        bearer.map(Arc::<str>::from),
        bytes::Bytes::copy_from_slice(body.as_bytes()),
    );
    Ok(move || {
        let (http, url, bearer, body) = (http.clone(), url.clone(), bearer.clone(), body.clone());
        Box::pin(async move {
            let mut req = http
                .post(url.as_ref())
                .header("content-type", "application/json")
                .body(body);
            if let Some(token) = bearer {
                req = req.bearer_auth(token);
            }
            let resp = req.send().await?;
            if !resp.status().is_success() {
                bail!("status {}", resp.status());
            }
            Ok(())
        }) as Op
    })
}

/// POSTs a pre-serialized JSON `body` to `url` (with an optional bearer token) from 64 loops.
pub async fn post_rate(url: &str, bearer: Option<&str>, body: &str, seconds: f64) -> Result<f64> {
    run_for(64, seconds, poster(url, bearer, body)?).await
}

/// [`post_rate`], also answering how many POSTs were answered.
pub async fn post_rate_counted(
    url: &str,
    bearer: Option<&str>,
    body: &str,
    seconds: f64,
) -> Result<(f64, u64)> {
    run_counted(64, seconds, poster(url, bearer, body)?).await
}

/// POSTs `body` to `url` exactly `count` times from 64 loops; returns the time it took.
pub async fn post_count(
    url: &str,
    bearer: Option<&str>,
    body: &str,
    count: u64,
) -> Result<Duration> {
    let op = poster(url, bearer, body)?;
    let tickets = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (op, tickets) = (op.clone(), tickets.clone());
        tasks.push(tokio::spawn(async move {
            while tickets.fetch_add(1, Ordering::Relaxed) < count {
                op().await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(started.elapsed())
}
