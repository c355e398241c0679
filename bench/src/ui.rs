//! Issue 11's numbers for the emulator's web UI, in headless Chromium against a release
//! `hipkit emulator`: a notification from accepted to present in an open room page's DOM
//! (median and p99 over 200, beside the POST's own round trip), the room page with 1,000
//! messages loading (beside the same 1,000 messages as history JSON), and the emulator's RSS
//! after 100,000 notifications with the default retention (beside its idle RSS).

use crate::client::{ROOM, TOKEN, spawn_emulator};
use crate::load::post_count;
use crate::process::{median_ms, rss_mib};
use anyhow::{Context, Result, bail};
use hipkit_browser::Browser;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const LATENCY_SAMPLES: usize = 200;
const PAGE_MESSAGES: usize = 1_000;
const PAGE_LOADS: usize = 7;
const RSS_NOTIFICATIONS: u64 = 100_000;

/// Records, in the page, when each message with a `lat-N` marker is added to the DOM.
const OBSERVER: &str = r#"
window.__seen = {};
new MutationObserver(function (records) {
  var at = performance.timeOrigin + performance.now();
  records.forEach(function (r) {
    r.addedNodes.forEach(function (n) {
      var m = n.textContent && n.textContent.match(/lat-\d+/);
      if (m && !window.__seen[m[0]]) window.__seen[m[0]] = at;
    });
  });
}).observe(document.getElementById('messages'), { childList: true });
return true;
"#;

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn percentile(mut samples: Vec<f64>, p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(idx).copied().unwrap_or(f64::NAN)
}

async fn post(http: &reqwest::Client, base: &str, room: &str, body: &Value) -> Result<()> {
    let resp = http
        .post(format!("{base}/v2/room/{room}/notification"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("notification answered {}", resp.status());
    }
    Ok(())
}

/// Accepted → in the DOM, and the POST's own round trip, in ms.
async fn latency(base: &str) -> Result<(Vec<f64>, Vec<f64>)> {
    let browser = Browser::start().await.context("browser")?;
    browser
        .client
        .goto(&format!("{base}/rooms/1"))
        .await
        .context("open the room")?;
    browser
        .xpath("//span[@id='live-status'][text()='live']")
        .await;
    browser.script(OBSERVER).await;
    let http = reqwest::Client::new();
    let mut to_dom = Vec::new();
    let mut round_trips = Vec::new();
    for i in 0..LATENCY_SAMPLES {
        let marker = format!("lat-{i}");
        let body = json!({"message": format!("{marker} <b>build</b> passed"), "color": "green"});
        let sent = Instant::now();
        post(&http, base, ROOM, &body).await?;
        let accepted = now_ms();
        round_trips.push(sent.elapsed().as_secs_f64() * 1000.0);
        let seen_js = format!("return window.__seen['{marker}'] || null;");
        let deadline = Instant::now() + Duration::from_secs(10);
        let seen = loop {
            if let Some(at) = browser.script(&seen_js).await.as_f64() {
                break at;
            }
            if Instant::now() > deadline {
                bail!("{marker} never reached the page");
            }
        };
        to_dom.push((seen - accepted).max(0.0));
    }
    browser.close().await;
    Ok((to_dom, round_trips))
}

/// Medians, in ms, of loading a room page with 1,000 messages.
struct PageLoad {
    /// Navigation start → load event, in the browser.
    load_ms: f64,
    /// Navigation start → last byte of the HTML, in the browser.
    response_ms: f64,
    /// GET → last byte, from a plain HTTP client.
    server_ms: f64,
    /// The same 1,000 messages as history JSON, from a plain HTTP client.
    history_ms: f64,
}

/// Loads a room with 1,000 messages in the browser, as HTML and as history JSON.
async fn page_load(base: &str) -> Result<PageLoad> {
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{base}/v2/room"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Load"}))
        .send()
        .await?;
    let id = created.json::<Value>().await?["id"]
        .as_u64()
        .context("room id")?;
    for i in 0..PAGE_MESSAGES {
        let body = match i % 4 {
            0 => {
                json!({"message": format!("Build {i} <b>passed</b> on <code>main</code>"), "color": "green"})
            }
            1 => json!({"message": format!("deploy {i} by @alice see https://ci.example/{i}"),
                        "message_format": "text", "color": "yellow", "notify": true}),
            2 => json!({"message": format!("Build {i}"), "color": "red", "card": {
                "style": "application", "title": format!("Build {i} failed"),
                "url": format!("https://ci.example/{i}"),
                "description": {"value": "on <b>main</b>", "format": "html"},
                "attributes": [{"label": "state", "value": {"label": "failed", "style": "lozenge-error"}}]}}),
            _ => {
                json!({"message": format!("<ul><li>step {i}</li><li><i>ok</i></li></ul>"), "color": "gray"})
            }
        };
        post(&http, base, "Load", &body).await?;
    }
    let mut server = Vec::new();
    let mut history = Vec::new();
    for _ in 0..PAGE_LOADS {
        let started = Instant::now();
        let page = http
            .get(format!("{base}/rooms/{id}"))
            .send()
            .await?
            .text()
            .await?;
        server.push(started.elapsed());
        if page.matches("class=\"msg ").count() != PAGE_MESSAGES {
            bail!("the room page does not show {PAGE_MESSAGES} messages");
        }
        let started = Instant::now();
        http.get(format!(
            "{base}/v2/room/{id}/history/latest?max-results=1000"
        ))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .bytes()
        .await?;
        history.push(started.elapsed());
    }
    let browser = Browser::start().await.context("browser")?;
    let mut loads = Vec::new();
    let mut responses = Vec::new();
    for _ in 0..PAGE_LOADS {
        browser.client.goto(&format!("{base}/rooms/{id}")).await?;
        browser
            .until("return performance.getEntriesByType('navigation')[0].loadEventEnd > 0;")
            .await;
        let t = browser
            .script("var n = performance.getEntriesByType('navigation')[0]; return [n.responseEnd - n.startTime, n.loadEventEnd - n.startTime];")
            .await;
        responses.push(t[0].as_f64().context("navigation timing")?);
        loads.push(t[1].as_f64().context("navigation timing")?);
        // Force a fresh navigation next time.
        browser.client.goto("about:blank").await?;
    }
    browser.close().await;
    Ok(PageLoad {
        load_ms: percentile(loads, 0.5),
        response_ms: percentile(responses, 0.5),
        server_ms: median_ms(server),
        history_ms: median_ms(history),
    })
}

/// Runs the UI measurements against `hipkit` and returns the markdown report.
pub async fn run(hipkit: &Path) -> Result<String> {
    let emu = spawn_emulator(hipkit)?;
    let (to_dom, round_trips) = latency(&emu.base).await?;
    let page = page_load(&emu.base).await?;
    drop(emu);

    let emu = spawn_emulator(hipkit)?;
    let idle = rss_mib(emu.child.id())?;
    let body =
        json!({"message": "Build <b>#42</b> passed on main", "color": "green", "from": "CI"})
            .to_string();
    let took = post_count(
        &format!("{}/v2/room/{ROOM}/notification", emu.base),
        Some(TOKEN),
        &body,
        RSS_NOTIFICATIONS,
    )
    .await?;
    let loaded = rss_mib(emu.child.id())?;
    drop(emu);

    let dom_median = percentile(to_dom.clone(), 0.5);
    let dom_p99 = percentile(to_dom, 0.99);
    let rt_median = percentile(round_trips.clone(), 0.5);
    let rt_p99 = percentile(round_trips, 0.99);
    Ok(format!(
        "## Emulator web UI (issue 11)\n\n\
         One run, headless Chromium (Debian package, over chromedriver) and a release \
         `hipkit emulator` on the same machine, every request over loopback.\n\n\
         | measurement | result | baseline (same run) | ratio | target |\n|---|---|---|---|---|\n\
         | notification accepted (204) → in the open room page's DOM, median of {LATENCY_SAMPLES} | {dom_median:.1} ms | POST round trip {rt_median:.1} ms | {r1:.1}x | — |\n\
         | the same, p99 | {dom_p99:.1} ms | POST round trip p99 {rt_p99:.1} ms | {r2:.1}x | ≤ 250 ms |\n\
         | room page with {PAGE_MESSAGES} messages: navigation start → load event (median of {PAGE_LOADS}) | {load:.1} ms | history JSON of the same {PAGE_MESSAGES} {history:.1} ms | {r3:.1}x | ≤ 300 ms |\n\
         | the same page: navigation start → last byte of the HTML (in the browser) | {response:.1} ms | | | — |\n\
         | the same page, server time (plain HTTP GET to last byte) | {server:.1} ms | | | — |\n\
         | `hipkit emulator` RSS after {RSS_NOTIFICATIONS} notifications (default retention 1,000) | {loaded:.1} MiB | idle {idle:.1} MiB | {r4:.1}x | < 64 MB |\n\
         | time to accept those {RSS_NOTIFICATIONS} (64 in flight) | {secs:.1} s ({rate:.0}/s) | | | — |\n",
        r1 = dom_median / rt_median,
        r2 = dom_p99 / rt_p99,
        r3 = page.load_ms / page.history_ms,
        load = page.load_ms,
        history = page.history_ms,
        response = page.response_ms,
        server = page.server_ms,
        r4 = loaded / idle,
        secs = took.as_secs_f64(),
        rate = RSS_NOTIFICATIONS as f64 / took.as_secs_f64(),
    ))
}
