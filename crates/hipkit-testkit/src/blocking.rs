//! [`Api`] for synchronous tests (those driving spawned processes): each call runs on the
//! client's own single-threaded runtime, so there is one implementation of every request.

use crate::api::{Api, Reply};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use std::future::Future;
use tokio::runtime::Runtime;

/// [`Api`] whose calls block; not for use inside an async runtime.
pub struct BlockingApi {
    api: Api,
    runtime: Runtime,
}

impl BlockingApi {
    /// Blocking calls through `api`.
    pub fn new(api: Api) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for blocking calls");
        Self { api, runtime }
    }

    /// Blocking calls to `base` sending the kit's [`TOKEN`](crate::TOKEN).
    pub fn at(base: &str) -> Self {
        Self::new(Api::new(base, crate::TOKEN))
    }

    /// Blocking calls to `base` without a token.
    pub fn anonymous(base: &str) -> Self {
        Self::new(Api::anonymous(base))
    }

    fn block<T>(&self, work: impl Future<Output = T>) -> T {
        self.runtime.block_on(work)
    }

    /// See [`Api::request`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.api.request(method, path)
    }

    /// See [`Api::send`].
    pub fn send(&self, req: RequestBuilder) -> Reply {
        self.block(Api::send(req))
    }

    /// See [`Api::send_text`].
    pub fn send_text(&self, req: RequestBuilder) -> (u16, HeaderMap, String) {
        self.block(Api::send_text(req))
    }

    /// See [`Api::try_send_text`].
    pub fn try_send_text(&self, req: RequestBuilder) -> reqwest::Result<(u16, HeaderMap, String)> {
        self.block(Api::try_send_text(req))
    }

    /// See [`Api::call`].
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.block(self.api.call(method, path, body))
    }

    /// See [`Api::get`].
    pub fn get(&self, path: &str) -> Value {
        self.block(self.api.get(path))
    }

    /// See [`Api::post`].
    pub fn post(&self, path: &str, body: &Value) -> u16 {
        self.block(self.api.post(path, body))
    }

    /// See [`Api::items`].
    pub fn items(&self, path: &str) -> Vec<Value> {
        self.block(self.api.items(path))
    }

    /// See [`Api::notify`].
    pub fn notify(&self, room: &str, body: Value) {
        self.block(self.api.notify(room, body))
    }

    /// See [`Api::history`].
    pub fn history(&self, room: &str) -> Vec<Value> {
        self.block(self.api.history(room))
    }

    /// See [`Api::request_log`].
    pub fn request_log(&self) -> Vec<Value> {
        self.block(self.api.request_log())
    }

    /// See [`Api::add_fault`].
    pub fn add_fault(&self, rule: &Value) {
        self.block(self.api.add_fault(rule))
    }
}
