//! Zulip's messages API: `POST {site}/api/v1/messages` (form: `type=stream`, `to`, `topic`,
//! `content` in Markdown, 10,000 characters a message), HTTP basic auth with the bot's
//! e-mail and API key. <https://zulip.com/api/send-message>
//!
//! A shared file is uploaded first (`POST {site}/api/v1/user_uploads`, `multipart/form-data`
//! with the file as its one part; <https://zulip.com/api/upload-file>), and the message links
//! the returned `url` (`uri` before Zulip 9.0), made absolute on the site.

use super::{Kind, checked_url, secret, translated};
use crate::accepted::{Accepted, FileNote};
use crate::config::{ConfigError, SecretSource};
use crate::deliver::{FormPart, Request, Sender, send};
use async_trait::async_trait;
use base64::Engine;
use hipkit_translate::{Options, Platform};
use hipkit_transport::TransportError;
use reqwest::Method;
use serde::Deserialize;

/// `kind = "zulip"`: `site`, `email` (the bot's), `api_key` (a secret), `stream`, and
/// `topic` (the HipChat room's name when absent).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZulipConfig {
    /// The organisation's URL (`https://chat.example.org`).
    pub site: String,
    /// The bot's e-mail address.
    pub email: String,
    /// The bot's API key.
    pub api_key: SecretSource,
    /// The stream (channel) to post to.
    pub stream: String,
    /// The topic; the HipChat room's name when absent.
    #[serde(default)]
    pub topic: Option<String>,
    /// How the message is translated (`mass_mention`, `author`, `mentions`).
    #[serde(flatten)]
    pub options: Options,
}

/// A Zulip stream.
pub struct Zulip {
    /// The organisation's URL, without a trailing slash.
    site: String,
    url: String,
    authorization: String,
    stream: String,
    topic: Option<String>,
    options: Options,
}

impl ZulipConfig {
    /// Reads the API key and checks the site.
    pub fn build(&self, name: &str) -> Result<Zulip, ConfigError> {
        let key = secret(name, "api_key", &self.api_key)?;
        let site = checked_url(name, "site", &::hipchat::Token::new(self.site.clone()))?;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.email,
            key.expose()
        ));
        let site = site.trim_end_matches('/').to_owned();
        Ok(Zulip {
            url: format!("{site}/api/v1/messages"),
            site,
            authorization: format!("Basic {basic}"),
            stream: self.stream.clone(),
            topic: self.topic.clone(),
            options: self.options.clone(),
        })
    }
}

impl Zulip {
    /// Uploads the shared file; its absolute URL on the site.
    async fn upload(
        &self,
        note: &FileNote,
        data: &[u8],
        sender: &Sender<'_>,
    ) -> Result<String, TransportError> {
        let request = Request::form_data(
            format!("{}/api/v1/user_uploads", self.site),
            &[FormPart {
                name: "filename",
                filename: Some(&note.name),
                content_type: Some(&note.content_type),
                data,
            }],
        )
        .header("Authorization", self.authorization.clone());
        let answer = sender.upload(&request).await?;
        let path = send::answered(&answer, &["url", "uri"], "/user_uploads/")?;
        Ok(format!("{}{path}", self.site))
    }
}

#[async_trait]
impl Kind for Zulip {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        let topic = self.topic.as_deref().unwrap_or(&accepted.to);
        let link = match accepted
            .file
            .as_ref()
            .and_then(|f| f.bytes().map(|d| (f, d)))
        {
            Some((note, data)) => Some(self.upload(note, &data, sender).await?),
            None => None,
        };
        let bodies = translated(Platform::Zulip, accepted, &self.options, link.as_deref());
        sender.plan(bodies.len());
        for body in bodies {
            let content = body["content"].as_str().unwrap_or_default();
            let body: String = form_body(&[
                ("type", "stream"),
                ("to", &self.stream),
                ("topic", topic),
                ("content", content),
            ]);
            let request = Request {
                method: Method::POST,
                url: self.url.clone(),
                headers: vec![
                    (
                        "Content-Type",
                        "application/x-www-form-urlencoded".to_owned(),
                    ),
                    ("Authorization", self.authorization.clone()),
                ],
                body: body.into_bytes(),
            };
            sender.send(&request).await?;
        }
        Ok(())
    }

    fn takes_files(&self) -> bool {
        true
    }
}

/// `application/x-www-form-urlencoded` pairs.
fn form_body(pairs: &[(&str, &str)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}
