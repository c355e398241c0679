//! An authenticated JSON client for the emulator's and hipkit's HTTP APIs over loopback.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use std::time::Duration;

/// An answer: status, headers, and the body as JSON (`Null` when empty or not JSON).
pub type Reply = (u16, HeaderMap, Value);

/// Requests to one base URL, with a bearer token when it has one (no `Debug`: it holds the
/// token).
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// A client for `base` (`http://127.0.0.1:PORT`) that sends `token`; it trusts the
    /// emulator's self-signed certificate, and gives up on an answer after 60 s.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..Self::anonymous(base)
        }
    }

    /// A client for `base` that sends no token.
    pub fn anonymous(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        Self {
            http,
            base: base.into(),
            token: None,
        }
    }

    /// The same client sending `token` instead.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `method base+path` with the token: add headers or a body, then pass it to [`Api::send`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// Sends `req`; its status, headers and body as JSON (`Null` when it is not JSON).
    pub async fn send(req: RequestBuilder) -> Reply {
        let (status, headers, text) = Self::send_text(req).await;
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    /// Sends `req`; its status, headers and body as text.
    pub async fn send_text(req: RequestBuilder) -> (u16, HeaderMap, String) {
        Self::try_send_text(req).await.expect("HTTP request")
    }

    /// [`Api::send_text`], or why no answer came.
    pub async fn try_send_text(req: RequestBuilder) -> reqwest::Result<(u16, HeaderMap, String)> {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        Ok((status, headers, resp.text().await?))
    }

    /// `method path` with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::send(req).await
    }

    /// GETs `path`; the body, which must be JSON.
    pub async fn get(&self, path: &str) -> Value {
        let (status, _, text) = Self::send_text(self.request(Method::GET, path)).await;
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {path}: {status} is not JSON ({e}): {text}"))
    }

    /// POSTs `body` as JSON to `path`; the status.
    pub async fn post(&self, path: &str, body: &Value) -> u16 {
        let req = self.request(Method::POST, path).json(body);
        Self::send(req).await.0
    }

    /// The `items` of the page at `path` (none when it has none).
    pub async fn items(&self, path: &str) -> Vec<Value> {
        let page = self.get(path).await;
        page["items"].as_array().cloned().unwrap_or_default()
    }

    /// Posts the notification `body` to `room` (a name or an id); panics unless it is accepted.
    pub async fn notify(&self, room: &str, body: Value) {
        let path = format!("/v2/room/{}/notification", room.replace(' ', "%20"));
        let (status, _, answer) = self.call(Method::POST, &path, Some(body)).await;
        assert_eq!(status, 204, "notification to {room} refused: {answer}");
    }

    /// The newest 1000 messages of `room` (a name or an id), oldest first.
    pub async fn history(&self, room: &str) -> Vec<Value> {
        let room = room.replace(' ', "%20");
        let path = format!("/v2/room/{room}/history/latest?max-results=1000");
        self.items(&path).await
    }

    /// Every request the emulator logged (its control API), oldest first.
    pub async fn request_log(&self) -> Vec<Value> {
        let log = self.get("/_emulator/requests").await;
        log.as_array().cloned().expect("the request log is a list")
    }

    /// Adds a fault rule through the emulator's control API; panics unless it is accepted.
    pub async fn add_fault(&self, rule: &Value) {
        let req = self.request(Method::POST, "/_emulator/faults").json(rule);
        let (status, _, body) = Self::send(req).await;
        assert_eq!(status, 201, "fault {rule} refused: {body}");
    }
}
