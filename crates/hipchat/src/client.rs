//! The async HipChat API v2 client.

use crate::error::{ConfigError, Error};
use crate::model::{
    CreateRoom, CreateUser, CreateWebhook, Created, HistoryItem, Page, PrivateMessage, Room,
    RoomMessage, RoomMessageCreated, RoomNotification, User, Webhook,
};
use crate::ratelimit::RateLimit;
use crate::refs::{RoomRef, UserRef};
use crate::secret::Token;
use crate::validate::{Validate, ValidationError};
use bytes::Bytes;
use reqwest::{Method, RequestBuilder, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::ops::Deref;
use std::time::Duration;

/// The whole-request timeout when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A successful answer: the decoded body plus the rate-limit headers that came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    /// The decoded body (`()` for 204 answers).
    pub body: T,
    /// Rate-limit and flood-control headers.
    pub rate_limit: RateLimit,
}

impl<T> Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.body
    }
}

/// Paging for list endpoints (`start-index`, `max-results`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paging {
    /// First item (0-based).
    pub start_index: Option<usize>,
    /// Page size (HipChat: default 100, at most 1000).
    pub max_results: Option<usize>,
}

impl Paging {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(s) = self.start_index {
            q.push(("start-index", s.to_string()));
        }
        if let Some(m) = self.max_results {
            q.push(("max-results", m.to_string()));
        }
        q
    }
}

/// Query for `GET /v2/room/{room}/history`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Latest date to include (ISO-8601) or `recent` (the latest 75, no paging).
    pub date: Option<String>,
    /// Earliest date to include (ISO-8601).
    pub end_date: Option<String>,
    /// Reverse so the oldest message comes first (HipChat's default: true).
    pub reverse: Option<bool>,
    /// Paging.
    pub paging: Paging,
}

/// Query for the `history/latest` endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatestQuery {
    /// How many messages at most.
    pub max_results: Option<usize>,
    /// Id of the oldest message to return; nothing before it is returned.
    pub not_before: Option<String>,
}

/// HipChat's largest shared file, in bytes (50 MiB).
pub const MAX_FILE_BYTES: usize = 50 << 20;

/// A file to share into a room or private chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileShare {
    /// Optional message shown with the file.
    pub message: Option<String>,
    /// File name shown to users.
    pub filename: String,
    /// MIME type of the content.
    pub content_type: String,
    /// The file's bytes.
    pub data: Bytes,
}

/// Which permission `auth_test` probes (the action itself is skipped by HipChat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthProbe {
    /// May this token send notifications to the room?
    RoomNotification(RoomRef),
    /// May this token send private messages to the user?
    PrivateMessage(UserRef),
    /// May this token list rooms?
    ListRooms,
}

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    token: Token,
    timeout: Duration,
    connect_timeout: Duration,
    accept_invalid_certs: bool,
    max_idle_per_host: usize,
}

impl ClientBuilder {
    /// Whole-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connection timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Turns TLS certificate verification off (self-signed test servers only).
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Idle keep-alive connections kept per host (default 1024: one per request in flight).
    pub fn max_idle_per_host(mut self, n: usize) -> Self {
        self.max_idle_per_host = n;
        self
    }

    /// Builds the client (one connection pool, reused by every call and every clone).
    pub fn build(self) -> Result<Client, Error> {
        let base = normalize_base(&self.base_url)?;
        let base_url = url::Url::parse(&base).map_err(|e| {
            Error::Config(ConfigError::because(
                format!("base URL `{}`", self.base_url),
                e,
            ))
        })?;
        let mut authorization =
            reqwest::header::HeaderValue::try_from(format!("Bearer {}", self.token.expose()))
                .map_err(|_| {
                    Error::Config("the token holds characters not allowed in a header".into())
                })?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            // The API never redirects; a 3xx is reported, not followed with the token.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .pool_max_idle_per_host(self.max_idle_per_host)
            .tls_danger_accept_invalid_certs(self.accept_invalid_certs)
            .user_agent(concat!("hipkit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::Config(ConfigError::because(
                    "cannot set up the HTTP client",
                    e.without_url(),
                ))
            })?;
        Ok(Client {
            http,
            api_path: format!("{}/v2/", base_url.path().trim_end_matches('/')),
            base_url,
            base,
            authorization,
        })
    }
}

/// Accepts `https://host`, `https://host/` and `https://host/v2`; returns `https://host`.
fn normalize_base(raw: &str) -> Result<String, Error> {
    // A URL that may hold a password is never echoed back.
    let shown = if raw.contains('@') {
        "(not shown)"
    } else {
        raw
    };
    let url = url::Url::parse(raw.trim())
        .map_err(|e| Error::Config(ConfigError::because(format!("base URL `{shown}`"), e)))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "the base URL must not contain a user name or password (`user:pass@host`); \
             the API token authenticates"
                .into(),
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(
            format!("base URL `{raw}` must start with http:// or https://").into(),
        ));
    }
    let s = url.as_str().trim_end_matches('/');
    Ok(s.strip_suffix("/v2").unwrap_or(s).to_owned())
}

/// An async HipChat API v2 client; cheap to clone (clones share the connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// `base`, parsed once: each request only sets its path.
    base_url: url::Url,
    /// The base URL's path followed by `/v2/`.
    api_path: String,
    /// `Bearer <token>`, marked sensitive (never shown by `Debug`).
    authorization: reqwest::header::HeaderValue,
}

impl Client {
    /// Starts building a client for `base_url` (e.g. `https://hipchat.example.com`).
    pub fn builder(base_url: impl Into<String>, token: Token) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            token,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            accept_invalid_certs: false,
            max_idle_per_host: 1024,
        }
    }

    /// The server's base URL (without `/v2`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A request to `/v2/{path}`. A `.` or `..` segment (a room named `..`, say) would be
    /// normalised away by every URL parser and reach another endpoint, so it is refused.
    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, Error> {
        if path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return Err(ValidationError::new(
                "room",
                "`.` and `..` cannot be addressed in a URL path; use the numeric id",
            )
            .into());
        }
        let mut url = self.base_url.clone();
        url.set_path(&format!("{}{path}", self.api_path));
        Ok(self
            .http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, self.authorization.clone()))
    }

    async fn execute(&self, req: RequestBuilder) -> Result<(u16, RateLimit, Bytes), Error> {
        let resp = req.send().await.map_err(Error::network)?;
        let status = resp.status().as_u16();
        let rate_limit = RateLimit::from_headers(resp.headers());
        let body = resp.bytes().await.map_err(Error::network)?;
        if (200..300).contains(&status) {
            Ok((status, rate_limit, body))
        } else {
            Err(Error::from_status(status, &body, rate_limit))
        }
    }

    async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<Response<T>, Error> {
        let (_, rate_limit, body) = self.execute(req).await?;
        let body = serde_json::from_slice(&body).map_err(|source| Error::Decode { source })?;
        Ok(Response { body, rate_limit })
    }

    async fn call_empty(&self, req: RequestBuilder) -> Result<Response<()>, Error> {
        let (_, rate_limit, _) = self.execute(req).await?;
        Ok(Response {
            body: (),
            rate_limit,
        })
    }

    fn json<B: Serialize + Validate>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<RequestBuilder, Error> {
        body.validate()?;
        Ok(self.request(method, path)?.json(body))
    }

    /// `POST /v2/room/{room}/notification` (scope `send_notification`).
    pub async fn send_notification(
        &self,
        room: &RoomRef,
        notification: &RoomNotification,
    ) -> Result<Response<()>, Error> {
        let path = format!("room/{}/notification", room.to_segment());
        let req = self.json(Method::POST, &path, notification)?;
        self.call_empty(req).await
    }

    /// `POST /v2/room/{room}/message` (scope `send_message`): a message as the token's user.
    pub async fn send_room_message(
        &self,
        room: &RoomRef,
        message: &RoomMessage,
    ) -> Result<Response<RoomMessageCreated>, Error> {
        let path = format!("room/{}/message", room.to_segment());
        let req = self.json(Method::POST, &path, message)?;
        self.call(req).await
    }

    /// `POST /v2/user/{user}/message` (scope `send_message`).
    pub async fn send_private_message(
        &self,
        user: &UserRef,
        message: &PrivateMessage,
    ) -> Result<Response<()>, Error> {
        let path = format!("user/{}/message", user.to_segment());
        let req = self.json(Method::POST, &path, message)?;
        self.call_empty(req).await
    }

    /// `GET /v2/room/{room}`.
    pub async fn get_room(&self, room: &RoomRef) -> Result<Response<Room>, Error> {
        self.call(self.request(Method::GET, &format!("room/{}", room.to_segment()))?)
            .await
    }

    /// `GET /v2/room` (one page).
    pub async fn list_rooms(
        &self,
        paging: Paging,
        include_archived: bool,
    ) -> Result<Response<Page<Room>>, Error> {
        let req = self
            .request(Method::GET, "room")?
            .query(&paging.query())
            .query(&[("include-archived", include_archived)]);
        self.call(req).await
    }

    /// `POST /v2/room` (scope `manage_rooms`).
    pub async fn create_room(&self, room: &CreateRoom) -> Result<Response<Created>, Error> {
        let req = self.json(Method::POST, "room", room)?;
        self.call(req).await
    }

    /// `DELETE /v2/room/{room}` (scope `manage_rooms`).
    pub async fn delete_room(&self, room: &RoomRef) -> Result<Response<()>, Error> {
        self.call_empty(self.request(Method::DELETE, &format!("room/{}", room.to_segment()))?)
            .await
    }

    /// `GET /v2/room/{room}/history` (scope `view_messages`).
    pub async fn room_history(
        &self,
        room: &RoomRef,
        query: &HistoryQuery,
    ) -> Result<Response<Page<HistoryItem>>, Error> {
        let mut q = query.paging.query();
        if let Some(d) = &query.date {
            q.push(("date", d.clone()));
        }
        if let Some(d) = &query.end_date {
            q.push(("end-date", d.clone()));
        }
        if let Some(r) = query.reverse {
            q.push(("reverse", r.to_string()));
        }
        let path = format!("room/{}/history", room.to_segment());
        self.call(self.request(Method::GET, &path)?.query(&q)).await
    }

    /// `GET /v2/room/{room}/history/latest` (scope `view_messages`).
    pub async fn room_latest_history(
        &self,
        room: &RoomRef,
        query: &LatestQuery,
    ) -> Result<Response<Page<HistoryItem>>, Error> {
        let path = format!("room/{}/history/latest", room.to_segment());
        self.latest(&path, query).await
    }

    /// `GET /v2/user/{user}/history/latest`: the private chat with `user` (scope `view_messages`).
    pub async fn private_latest_history(
        &self,
        user: &UserRef,
        query: &LatestQuery,
    ) -> Result<Response<Page<HistoryItem>>, Error> {
        let path = format!("user/{}/history/latest", user.to_segment());
        self.latest(&path, query).await
    }

    async fn latest(
        &self,
        path: &str,
        query: &LatestQuery,
    ) -> Result<Response<Page<HistoryItem>>, Error> {
        let mut q = Vec::new();
        if let Some(m) = query.max_results {
            q.push(("max-results", m.to_string()));
        }
        if let Some(n) = &query.not_before {
            q.push(("not-before", n.clone()));
        }
        self.call(self.request(Method::GET, path)?.query(&q)).await
    }

    /// `GET /v2/user/{user}` (scope `view_group`).
    pub async fn get_user(&self, user: &UserRef) -> Result<Response<User>, Error> {
        self.call(self.request(Method::GET, &format!("user/{}", user.to_segment()))?)
            .await
    }

    /// `GET /v2/user` (one page; scope `view_group`).
    pub async fn list_users(&self, paging: Paging) -> Result<Response<Page<User>>, Error> {
        self.call(self.request(Method::GET, "user")?.query(&paging.query()))
            .await
    }

    /// `POST /v2/user` (scope `admin_group`).
    pub async fn create_user(&self, user: &CreateUser) -> Result<Response<Created>, Error> {
        let req = self.json(Method::POST, "user", user)?;
        self.call(req).await
    }

    /// `POST /v2/room/{room}/share/file` (scope `send_message`), as `multipart/related`.
    pub async fn share_file_with_room(
        &self,
        room: &RoomRef,
        file: &FileShare,
    ) -> Result<Response<()>, Error> {
        self.share_file(&format!("room/{}/share/file", room.to_segment()), file)
            .await
    }

    /// `POST /v2/user/{user}/share/file` (scope `send_message`), as `multipart/related`.
    pub async fn share_file_with_user(
        &self,
        user: &UserRef,
        file: &FileShare,
    ) -> Result<Response<()>, Error> {
        self.share_file(&format!("user/{}/share/file", user.to_segment()), file)
            .await
    }

    async fn share_file(&self, path: &str, file: &FileShare) -> Result<Response<()>, Error> {
        if let Some(m) = &file.message {
            crate::validate::length("message", m, 0, 1000)?;
        }
        crate::validate::length("filename", &file.filename, 1, 255)?;
        let (content_type, body) = multipart_related(file);
        let req = self
            .request(Method::POST, path)?
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        self.call_empty(req).await
    }

    /// `POST /v2/room/{room}/webhook` (scope `admin_room`).
    pub async fn create_webhook(
        &self,
        room: &RoomRef,
        webhook: &CreateWebhook,
    ) -> Result<Response<Created>, Error> {
        let path = format!("room/{}/webhook", room.to_segment());
        let req = self.json(Method::POST, &path, webhook)?;
        self.call(req).await
    }

    /// `GET /v2/room/{room}/webhook` (one page; scope `admin_room`).
    pub async fn list_webhooks(
        &self,
        room: &RoomRef,
        paging: Paging,
    ) -> Result<Response<Page<Webhook>>, Error> {
        let path = format!("room/{}/webhook", room.to_segment());
        self.call(self.request(Method::GET, &path)?.query(&paging.query()))
            .await
    }

    /// `DELETE /v2/room/{room}/webhook/{id}` (scope `admin_room`).
    pub async fn delete_webhook(&self, room: &RoomRef, id: u64) -> Result<Response<()>, Error> {
        let path = format!("room/{}/webhook/{id}", room.to_segment());
        self.call_empty(self.request(Method::DELETE, &path)?).await
    }

    /// Asks HipChat whether the token may perform `probe` (`auth_test=true`; 202 = yes).
    pub async fn auth_test(&self, probe: &AuthProbe) -> Result<Response<()>, Error> {
        let req = match probe {
            AuthProbe::RoomNotification(room) => self
                .request(
                    Method::POST,
                    &format!("room/{}/notification", room.to_segment()),
                )?
                .json(&RoomNotification::new("auth test")),
            AuthProbe::PrivateMessage(user) => self
                .request(Method::POST, &format!("user/{}/message", user.to_segment()))?
                .json(&PrivateMessage::new("auth test")),
            AuthProbe::ListRooms => self.request(Method::GET, "room")?,
        };
        self.call_empty(req.query(&[("auth_test", "true")])).await
    }
}

/// Encodes a file share as HipChat's `multipart/related` body: JSON `metadata`, then `file`.
fn multipart_related(file: &FileShare) -> (String, Vec<u8>) {
    let boundary: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(40)
        .collect();
    let metadata = serde_json::json!({ "message": file.message.clone().unwrap_or_default() });
    let filename: String = file
        .filename
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n'))
        .collect();
    let mut body = Vec::with_capacity(file.data.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\
             Content-Disposition: attachment; name=\"metadata\"\r\n\r\n{metadata}\r\n\
             --{boundary}\r\nContent-Type: {}\r\n\
             Content-Disposition: attachment; name=\"file\"; filename=\"{filename}\"\r\n\r\n",
            file.content_type
        )
        .as_bytes(),
    );
    body.extend_from_slice(&file.data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/related; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_refused_before_the_wire() {
        // Port 9 (discard) is never contacted: the refusal comes first.
        let client = Client::builder("http://127.0.0.1:9", Token::new("t"))
            .build()
            .unwrap();
        for name in [".", ".."] {
            let room = RoomRef::parse(name);
            assert!(matches!(
                client.request(
                    Method::POST,
                    &format!("room/{}/notification", room.to_segment())
                ),
                Err(Error::Validation(_))
            ));
        }
        assert!(
            client.request(Method::GET, "room/...").is_ok(),
            "only exact dot segments"
        );
    }

    #[test]
    fn base_url_is_normalized() {
        assert_eq!(
            normalize_base("https://h.example/v2/").unwrap(),
            "https://h.example"
        );
        assert_eq!(
            normalize_base("http://127.0.0.1:8180").unwrap(),
            "http://127.0.0.1:8180"
        );
        assert!(matches!(normalize_base("ftp://x"), Err(Error::Config(_))));
        for with_userinfo in ["http://user:hunter2@h.example", "http://user@h.example"] {
            let err = normalize_base(with_userinfo).unwrap_err().to_string();
            assert!(err.contains("user name or password"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let c = Client::builder("http://127.0.0.1:1", Token::new("TOPSECRET"))
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("TOPSECRET"));
    }
}
