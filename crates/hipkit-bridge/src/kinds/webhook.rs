//! Any HTTP endpoint: `POST {url}` with a body rendered from a minijinja template (Jinja2
//! syntax) whose context is the accepted call: `room`, `text`, `message`, `from`, `color`,
//! `notify`, `format`, `call`, `id`, `card`, `file`.

use super::{Kind, checked_url, plain_text, secret};
use crate::accepted::Accepted;
use crate::config::{ConfigError, SecretSource};
use crate::deliver::{Request, Sender};
use async_trait::async_trait;
use hipkit_transport::TransportError;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

/// `kind = "webhook"`: `url` (may hold a secret), `template` (the body), `content_type`
/// (`application/json` by default).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: SecretSource,
    /// The body's minijinja template.
    pub template: String,
    /// The body's content type.
    #[serde(default = "json_type")]
    pub content_type: String,
}

fn json_type() -> String {
    "application/json".to_owned()
}

/// A templated webhook.
pub struct Webhook {
    name: String,
    url: String,
    content_type: String,
    env: minijinja::Environment<'static>,
}

/// The template's name in its environment.
const BODY: &str = "body";

impl WebhookConfig {
    /// Reads the URL and compiles the template.
    pub fn build(&self, name: &str) -> Result<Webhook, ConfigError> {
        let url = checked_url(name, "url", &secret(name, "url", &self.url)?)?;
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_template_owned(BODY, self.template.clone())
            .map_err(|e| ConfigError::Destination {
                name: name.to_owned(),
                message: format!("template: {e}"),
            })?;
        Ok(Webhook {
            name: name.to_owned(),
            url,
            content_type: self.content_type.clone(),
            env,
        })
    }
}

/// The template's context for `accepted`.
fn context(accepted: &Accepted) -> serde_json::Value {
    let m = &accepted.message;
    json!({
        "id": accepted.id,
        "call": accepted.call,
        "room": accepted.to,
        "text": plain_text(accepted),
        "message": m.message,
        "from": accepted.author(),
        "color": accepted.color(),
        "notify": m.notify,
        "format": accepted.format(),
        "card": m.card,
        "file": accepted.file.as_ref().map(|f| json!({
            "name": f.name, "size": f.size, "content_type": f.content_type,
        })),
    })
}

#[async_trait]
impl Kind for Webhook {
    async fn deliver(
        &self,
        accepted: &Accepted,
        sender: &Sender<'_>,
    ) -> Result<(), TransportError> {
        let body = self
            .env
            .get_template(BODY)
            .and_then(|t| {
                t.render(minijinja::Value::from(minijinja::value::Serde(context(
                    accepted,
                ))))
            })
            .map_err(|e| TransportError::Undeliverable {
                via: self.name.clone(),
                reason: format!("the body template failed: {e}"),
            })?;
        let request = Request {
            method: Method::POST,
            url: self.url.clone(),
            headers: vec![("Content-Type", self.content_type.clone())],
            body: body.into_bytes(),
        };
        sender.send(&request).await
    }
}
