//! A loopback stand-in for the chat platforms the bridge delivers to: it records every
//! request, checks its body against the platform's documented shape (each check cites its
//! page), and answers from a plan (429 with `Retry-After` or the platform's JSON wait, 5xx,
//! a 4xx refusal) before answering as the platform does. A body that breaks the platform's
//! shape is answered 400 and recorded as a violation, which the tests assert empty.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `slack`, `matrix`, ... (the first path segment).
    pub platform: String,
    /// The whole path.
    pub path: String,
    /// `Authorization`, if sent.
    pub authorization: Option<String>,
    /// The body as sent (lossy UTF-8).
    pub body: String,
    /// The body's bytes.
    pub raw: Vec<u8>,
    /// Its `Content-Type`.
    pub content_type: String,
    /// The answer's status (0: processed, answered only after a stall).
    pub status: u16,
}

impl Seen {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The body as form pairs.
    pub fn form(&self) -> HashMap<String, String> {
        url_pairs(&self.body)
    }

    /// The parts of a `multipart/form-data` body (none when it is not one).
    pub fn parts(&self) -> Vec<Part> {
        form_data(&self.content_type, &self.raw).unwrap_or_default()
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct Part {
    /// Its `Content-Disposition` name.
    pub name: String,
    /// Its file name, for a file.
    pub filename: Option<String>,
    /// Its `Content-Type`, if given.
    pub content_type: Option<String>,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// Where `needle` starts in `hay`, from `from` on.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// `key="value"` of a header's parameters.
fn parameter(header: &str, key: &str) -> Option<String> {
    header.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// A `multipart/form-data` body read by RFC 7578 (and RFC 2046's delimiters): every part
/// with a `Content-Disposition: form-data` and a name.
fn form_data(content_type: &str, raw: &[u8]) -> Result<Vec<Part>, String> {
    need(
        content_type.starts_with("multipart/form-data"),
        "not multipart/form-data",
    )?;
    let boundary = parameter(content_type, "boundary").ok_or("no boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut at = find(raw, &delimiter, 0).ok_or("no first delimiter")?;
    let mut parts = Vec::new();
    loop {
        let start = at + delimiter.len();
        if raw.get(start..start + 2) == Some(b"--") {
            return Ok(parts);
        }
        need(
            raw.get(start..start + 2) == Some(b"\r\n"),
            "no CRLF after a delimiter",
        )?;
        let next = find(raw, &[b"\r\n", &delimiter[..]].concat(), start)
            .ok_or("a part without a closing delimiter")?;
        let part = &raw[start + 2..next];
        let split = find(part, b"\r\n\r\n", 0).ok_or("a part without headers")?;
        let headers = String::from_utf8_lossy(&part[..split]).into_owned();
        let header = |name: &str| {
            headers.split("\r\n").find_map(|line| {
                let (k, v) = line.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        let disposition =
            header("content-disposition").ok_or("a part without Content-Disposition")?;
        need(
            disposition.starts_with("form-data"),
            "a part's disposition is not form-data",
        )?;
        parts.push(Part {
            name: parameter(&disposition, "name").ok_or("a part without a name")?,
            filename: parameter(&disposition, "filename"),
            content_type: header("content-type"),
            data: part[split + 4..].to_vec(),
        });
        at = next + 2;
    }
}

/// What to answer next for one platform.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// Answered as usual (a plan's way to let a request through before a failure).
    Accept,
    /// 429 with `Retry-After: 1`.
    TooManyHeader,
    /// 429 with the platform's own JSON wait (Discord `retry_after` seconds, Matrix
    /// `retry_after_ms`).
    TooManyBody,
    /// 500.
    ServerError,
    /// 400 with a refusal body.
    Refuse,
    /// Processed (a Matrix event is created) but answered only after a minute, as when the
    /// sender dies before the answer arrives.
    Stall,
}

#[derive(Default)]
struct Inner {
    seen: Vec<Seen>,
    plans: HashMap<String, VecDeque<Answer>>,
    violations: Vec<String>,
    /// Matrix: each transaction's path and its event, in the order the events were created
    /// (the same transaction answers the same event).
    matrix_events: Vec<(String, String)>,
}

/// The receiver: a handle on what it saw, and on its plans.
#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    /// Its base URL.
    pub base: String,
}

impl Receiver {
    /// Starts a receiver on a free loopback port, in a thread of its own.
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr: SocketAddr = listener.local_addr().expect("its address");
        let receiver = Self {
            inner: Arc::default(),
            base: format!("http://{addr}"),
        };
        let state = receiver.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let app = axum::Router::new()
                    .route("/{*rest}", axum::routing::any(receive))
                    .with_state(state);
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await
            })
        });
        receiver
    }

    /// Answers the next requests to `platform` with `answers`, in order.
    pub fn plan(&self, platform: &str, answers: &[Answer]) {
        self.inner
            .lock()
            .expect("receiver")
            .plans
            .entry(platform.to_owned())
            .or_default()
            .extend(answers.iter().copied());
    }

    /// Drops what is left of `platform`'s plan: it answers as usual again.
    pub fn clear_plan(&self, platform: &str) {
        self.inner.lock().expect("receiver").plans.remove(platform);
    }

    /// Every request received, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().expect("receiver").seen.clone()
    }

    /// The requests to `platform` that were accepted (2xx), in order.
    pub fn delivered(&self, platform: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.platform == platform && s.status / 100 == 2)
            .collect()
    }

    /// The bodies of the requests to `platform` that were accepted, in order.
    pub fn bodies(&self, platform: &str) -> Vec<String> {
        self.delivered(platform)
            .into_iter()
            .map(|s| s.body)
            .collect()
    }

    /// The Matrix events created, oldest first: each transaction's path once.
    pub fn matrix_events(&self) -> Vec<String> {
        self.inner
            .lock()
            .expect("receiver")
            .matrix_events
            .iter()
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// The bodies that broke their platform's documented shape.
    pub fn violations(&self) -> Vec<String> {
        self.inner.lock().expect("receiver").violations.clone()
    }
}

async fn receive(
    state: State<Receiver>,
    Path(rest): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let platform = rest.split('/').next().unwrap_or_default().to_owned();
    let path = format!("/{rest}");
    answer(&state, &platform, &path, &method, &headers, &body).await
}

/// [`handle`], then the stall it asks for.
async fn answer(
    r: &Receiver,
    platform: &str,
    path: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let (response, stall) = handle(r, platform, path, method, headers, body);
    if stall {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
    response
}

fn handle(
    r: &Receiver,
    platform: &str,
    path: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> (Response, bool) {
    let raw = body.to_vec();
    let body = String::from_utf8_lossy(body).into_owned();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut inner = r.inner.lock().expect("receiver");
    let verdict = check(platform, method, path, &content_type, &body, &raw);
    let planned = inner.plans.get_mut(platform).and_then(VecDeque::pop_front);
    let stall = matches!(planned, Some(Answer::Stall));
    let (status, answer): (u16, Response) = match (verdict, planned) {
        (Err(why), _) => {
            inner
                .violations
                .push(format!("{platform} {path}: {why}: {body}"));
            (400, (StatusCode::BAD_REQUEST, why).into_response())
        }
        // Processed now, answered (too late) after the stall.
        (Ok(()), Some(Answer::Stall)) => (0, success(&mut inner, platform, path)),
        (Ok(()), Some(Answer::Accept) | None) => (200, success(&mut inner, platform, path)),
        (Ok(()), Some(answer)) => planned_answer(platform, answer),
    };
    inner.seen.push(Seen {
        platform: platform.to_owned(),
        path: path.to_owned(),
        authorization,
        body,
        raw,
        content_type,
        status,
    });
    (answer, stall)
}

fn planned_answer(platform: &str, answer: Answer) -> (u16, Response) {
    match answer {
        Answer::TooManyHeader => (
            429,
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("Retry-After", "1")],
                "rate_limited",
            )
                .into_response(),
        ),
        Answer::TooManyBody => {
            let body = match platform {
                "matrix" => {
                    json!({"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 300})
                }
                _ => {
                    json!({"message": "You are being rate limited.", "retry_after": 0.3, "global": false})
                }
            };
            (
                429,
                (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response(),
            )
        }
        Answer::ServerError => (
            500,
            (StatusCode::INTERNAL_SERVER_ERROR, "upstream hiccup").into_response(),
        ),
        Answer::Stall | Answer::Accept => (0, StatusCode::OK.into_response()),
        Answer::Refuse => (
            400,
            (StatusCode::BAD_REQUEST, "invalid_payload: refused by plan").into_response(),
        ),
    }
}

/// The platform's success answer.
fn success(inner: &mut Inner, platform: &str, path: &str) -> Response {
    match platform {
        // https://spec.matrix.org/v1.11/client-server-api/#post_matrixmediav3upload
        "matrix" if path.contains("/_matrix/media/v3/upload") => {
            let uri = format!("mxc://loopback/media{}", inner.seen.len());
            axum::Json(json!({"content_uri": uri})).into_response()
        }
        "matrix" => {
            let known = inner.matrix_events.iter().find(|(p, _)| p == path);
            let event = match known {
                Some((_, event)) => event.clone(),
                None => {
                    let event = format!("$event{}:loopback", inner.matrix_events.len());
                    inner.matrix_events.push((path.to_owned(), event.clone()));
                    event
                }
            };
            axum::Json(json!({"event_id": event})).into_response()
        }
        // https://zulip.com/api/upload-file: `uri` (and, since Zulip 9.0, `url`).
        "zulip" if path.ends_with("/user_uploads") => {
            let uri = format!("/user_uploads/2/ab/upload{}/file", inner.seen.len());
            axum::Json(json!({"result": "success", "msg": "", "uri": uri, "url": uri}))
                .into_response()
        }
        "zulip" => axum::Json(json!({"result": "success", "msg": "", "id": 42})).into_response(),
        "discord" | "teams" => StatusCode::NO_CONTENT.into_response(),
        _ => "ok".into_response(),
    }
}

fn need(ok: bool, why: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why.to_owned()) }
}

fn json_object(content_type: &str, body: &str) -> Result<Value, String> {
    need(
        content_type.starts_with("application/json"),
        "Content-Type is not application/json",
    )?;
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    need(v.is_object(), "not a JSON object")?;
    Ok(v)
}

fn text_field(v: &Value, key: &str, max: usize) -> Result<(), String> {
    let text = v[key]
        .as_str()
        .ok_or_else(|| format!("`{key}` is not a string"))?;
    need(!text.is_empty(), &format!("`{key}` is empty"))?;
    need(
        text.chars().count() <= max,
        &format!("`{key}` is longer than {max}"),
    )
}

/// `key` as text, or `attachments`: a non-empty array of objects, each with a `fallback`
/// when `fallback` (Slack's rule) and some text.
fn text_or_attachments(v: &Value, key: &str, max: usize, fallback: bool) -> Result<(), String> {
    let Some(attachments) = v.get("attachments") else {
        return text_field(v, key, max);
    };
    let list = attachments
        .as_array()
        .ok_or("`attachments` is not an array")?;
    need(!list.is_empty(), "`attachments` is empty")?;
    for a in list {
        need(a.is_object(), "an attachment is not an object")?;
        if fallback {
            need(a["fallback"].is_string(), "an attachment has no `fallback`")?;
        }
    }
    if v.get(key).is_some() {
        text_field(v, key, max)?;
    }
    Ok(())
}

/// Discord's `multipart/form-data` upload
/// (https://discord.com/developers/docs/reference#uploading-files): the JSON body as the
/// `payload_json` part, each file as a `files[n]` part with a file name, described by the
/// body's `attachments` (`id` n, its `filename`); the JSON is checked as any other body.
fn discord_upload(content_type: &str, raw: &[u8]) -> Result<String, String> {
    let parts = form_data(content_type, raw)?;
    let payload = parts
        .iter()
        .find(|p| p.name == "payload_json")
        .ok_or("no payload_json part")?;
    let json = String::from_utf8(payload.data.clone()).map_err(|_| "payload_json is not UTF-8")?;
    let v: Value = serde_json::from_str(&json).map_err(|e| format!("payload_json: {e}"))?;
    let files: Vec<&Part> = parts
        .iter()
        .filter(|p| p.name.starts_with("files["))
        .collect();
    need(
        !files.is_empty() && files.len() <= 10,
        "not 1 to 10 files[n] parts",
    )?;
    for (n, file) in files.iter().enumerate() {
        need(
            file.name == format!("files[{n}]"),
            "files[n] parts are not numbered from 0",
        )?;
        let filename = file
            .filename
            .as_deref()
            .ok_or("a files[n] part has no filename")?;
        let described = v["attachments"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x["id"] == json!(n) && x["filename"] == json!(filename))
        });
        need(described, "a file is not described in `attachments`")?;
    }
    Ok(json)
}

/// The platform's documented shape.
fn check(
    platform: &str,
    method: &Method,
    path: &str,
    content_type: &str,
    body: &str,
    raw: &[u8],
) -> Result<(), String> {
    match platform {
        // https://api.slack.com/messaging/webhooks: POST JSON with `text` (mrkdwn), `blocks`
        // or legacy `attachments`, each with its plain-text `fallback`
        // (https://api.slack.com/reference/messaging/attachments); `& < >` escaped outside
        // of `<links>` (https://api.slack.com/reference/surfaces/formatting#escaping).
        "slack" => {
            need(method == Method::POST, "not a POST")?;
            let v = json_object(content_type, body)?;
            text_or_attachments(&v, "text", 40_000, true)
        }
        // https://developers.mattermost.com/integrate/webhooks/incoming/: `text` (Markdown)
        // unless `attachments` (Slack's shape, `fallback` each); the server splits text over
        // 16,383 characters.
        "mattermost" => {
            need(method == Method::POST, "not a POST")?;
            let v = json_object(content_type, body)?;
            text_or_attachments(&v, "text", 16_383, true)
        }
        // RocketChat packages/rocketchat-integrations/server/processWebhookMessage.js:
        // `text` or `msg`, or `attachments` (ignored unless an array).
        "rocketchat" => {
            need(method == Method::POST, "not a POST")?;
            let v = json_object(content_type, body)?;
            text_or_attachments(&v, "text", 5_000, false)
                .or_else(|_| text_or_attachments(&v, "msg", 5_000, false))
        }
        // https://discord.com/developers/docs/resources/webhook#execute-webhook: `content`
        // up to 2,000 characters, or up to 10 `embeds` (`description` up to 4,096,
        // `color` an integer); `username` up to 80.
        "discord" => {
            need(method == Method::POST, "not a POST")?;
            let v = if content_type.starts_with("multipart/") {
                let json = discord_upload(content_type, raw)?;
                json_object("application/json", &json)?
            } else {
                json_object(content_type, body)?
            };
            let embeds = v["embeds"].as_array();
            match embeds {
                Some(embeds) => {
                    need(
                        !embeds.is_empty() && embeds.len() <= 10,
                        "`embeds` must hold 1 to 10 embeds",
                    )?;
                    for e in embeds {
                        need(
                            e.get("color").is_none_or(Value::is_u64),
                            "an embed `color` is not an integer",
                        )?;
                        need(
                            e.get("description").is_none_or(|d| {
                                d.as_str().is_some_and(|d| d.chars().count() <= 4_096)
                            }),
                            "an embed `description` is not a string of at most 4,096",
                        )?;
                    }
                    if v.get("content").is_some() {
                        text_field(&v, "content", 2_000)?;
                    }
                }
                None => text_field(&v, "content", 2_000)?,
            }
            need(
                v.get("username")
                    .is_none_or(|u| u.as_str().is_some_and(|u| u.chars().count() <= 80)),
                "`username` is not a string of at most 80 characters",
            )
        }
        // https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
        // (Workflows): `{"type": "message", "attachments": [{"contentType":
        // "application/vnd.microsoft.card.adaptive", "content": AdaptiveCard}]}`, ~28 KB.
        "teams" => {
            need(method == Method::POST, "not a POST")?;
            need(body.len() <= 28_000, "over 28 KB")?;
            let v = json_object(content_type, body)?;
            need(v["type"] == "message", "`type` is not \"message\"")?;
            let card = &v["attachments"][0];
            need(
                card["contentType"] == "application/vnd.microsoft.card.adaptive",
                "the attachment is not an Adaptive Card",
            )?;
            need(
                card["content"]["type"] == "AdaptiveCard"
                    && card["content"]["body"].is_array()
                    && card["content"]["version"].is_string(),
                "the card lacks type, version or body",
            )
        }
        // https://zulip.com/api/upload-file: POST `multipart/form-data` with the file as its
        // one part (named by the file name; the docs' example sends `filename=@path`).
        "zulip" if path == "/zulip/api/v1/user_uploads" => {
            need(method == Method::POST, "not a POST")?;
            let parts = form_data(content_type, raw)?;
            need(parts.len() == 1, "not exactly one part")?;
            need(
                parts[0].filename.as_deref().is_some_and(|f| !f.is_empty()),
                "the part has no file name",
            )
        }
        // https://zulip.com/api/send-message: form-encoded `type` (stream), `to`, `topic`,
        // `content` up to 10,000 characters; HTTP basic auth (checked by the test).
        "zulip" => {
            need(method == Method::POST, "not a POST")?;
            need(
                content_type.starts_with("application/x-www-form-urlencoded"),
                "not a form",
            )?;
            need(path == "/zulip/api/v1/messages", "not /api/v1/messages")?;
            let form = url_pairs(body);
            need(
                matches!(
                    form.get("type").map(String::as_str),
                    Some("stream" | "channel")
                ),
                "`type` is not stream",
            )?;
            need(
                form.get("to").is_some_and(|t| !t.is_empty()),
                "`to` missing",
            )?;
            need(
                form.get("topic").is_some_and(|t| !t.is_empty()),
                "`topic` missing",
            )?;
            let content = form.get("content").map(String::as_str).unwrap_or_default();
            need(
                !content.is_empty() && content.chars().count() <= 10_000,
                "`content` empty or over 10,000 characters",
            )
        }
        // https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid
        // and #mroommessage: PUT with a txnId; `msgtype`, `body`; `format` with
        // `formatted_body`.
        // https://spec.matrix.org/v1.11/client-server-api/#post_matrixmediav3upload: POST
        // the bytes as the body, with their `Content-Type`.
        "matrix" if path == "/matrix/_matrix/media/v3/upload" => {
            need(method == Method::POST, "not a POST")?;
            need(!content_type.is_empty(), "no Content-Type")?;
            need(!raw.is_empty(), "no bytes")
        }
        "matrix" => {
            need(method == Method::PUT, "not a PUT")?;
            need(
                path.starts_with("/matrix/_matrix/client/v3/rooms/")
                    && path.contains("/send/m.room.message/"),
                "not /_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}",
            )?;
            let v = json_object(content_type, body)?;
            // #mfile and #mimage: `body`, and the content's `url` (an mxc:// URI).
            if matches!(v["msgtype"].as_str(), Some("m.file" | "m.image")) {
                need(
                    v["url"].as_str().is_some_and(|u| u.starts_with("mxc://")),
                    "an m.file without an mxc:// `url`",
                )?;
                return text_field(&v, "body", 60_000);
            }
            need(
                matches!(v["msgtype"].as_str(), Some("m.text" | "m.notice")),
                "`msgtype` is not m.text or m.notice",
            )?;
            text_field(&v, "body", 60_000)?;
            need(
                v.get("format").is_none()
                    || (v["format"] == "org.matrix.custom.html" && v["formatted_body"].is_string()),
                "`format` without `formatted_body`",
            )
        }
        // The generic webhook: whatever its template renders (the test's template is JSON).
        "webhook" => {
            need(method == Method::POST, "not a POST")?;
            json_object(content_type, body).map(|_| ())
        }
        other => Err(format!("no such platform: {other}")),
    }
}

/// `a=b&c=d` decoded (`+` is a space).
fn url_pairs(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
