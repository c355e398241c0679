//! `[integrations]` as a `serve` [`Capability`]: with its `path` set, the folder's
//! integrations answer webhooks on the shared listener, keep their storage in the one store
//! and stop with `serve`.

use crate::runtime::python::HipChatTarget;
use crate::slash::ChannelRooms;
use crate::slash::late::{LateReplies, ReplyCouriers};
use crate::{Integrations, IntegrationsConfig, Options};
use async_trait::async_trait;
use hipkit_server::{Capability, CapabilityError, Context, Mounted, Routes};
use std::sync::Arc;

impl From<&hipchat::ClientConfig> for HipChatTarget {
    fn from(hipchat: &hipchat::ClientConfig) -> Self {
        Self {
            endpoint: hipchat.endpoint_or_default().to_owned(),
            insecure: hipchat.accept_invalid_certs,
            timeout_secs: hipchat.timeout_secs,
        }
    }
}

impl Integrations {
    /// Every route of the integrations: the webhook (`root`: also `POST /`), and the storage
    /// admin routes behind the API token (`with_token`), or answering 403 without one.
    pub fn routes(&self, root: bool, with_token: bool) -> Vec<Routes> {
        let admin = if with_token {
            Routes::protected(self.admin_router())
        } else {
            Routes::public(crate::storage::disabled_router())
        };
        vec![self.hook_routes(root), admin]
    }

    /// What authenticates a webhook, said plainly for the banner.
    fn webhook_auth(&self) -> String {
        let config = self.config();
        let text = match (&config.jwt_secret, config.jwt_secrets.is_empty()) {
            (Some(_), _) => "webhooks must carry a JWT signed with [integrations] jwt_secret",
            (None, false) => {
                "only the integrations named in [integrations] jwt_secrets need a signed JWT; \
                 webhooks for the others are NOT authenticated"
            }
            (None, true) => {
                "NONE: webhooks are not authenticated (no [integrations] jwt_secret); anyone \
                 who can reach this port can run the integrations"
            }
        };
        text.to_owned()
    }

    /// The slash-command routes and whether each can verify its requests.
    fn slash_banner(&self) -> String {
        let on = |on: bool, what: &str| {
            if on {
                format!("verified by {what}")
            } else {
                format!("off (no {what})")
            }
        };
        let auth = self.slash_auth();
        let late = if self.late_replies().through_outbox() {
            "replies after 2 s and a long reply's later parts go to response_url through the \
             outbox"
        } else {
            "replies after 2 s and a long reply's later parts are posted to response_url \
             directly, retried in memory: lost if the process stops (no outbox)"
        };
        format!(
            "POST {{base}}/hooks/slack: {}; POST {{base}}/hooks/mattermost: {}; {late}",
            on(auth.slack_on(), "[integrations.slack] signing_secret"),
            on(auth.mattermost_on(), "[integrations.mattermost] tokens"),
        )
    }

    /// The start-up lines (label, text), `{base}` standing for the listener's URL; tokens
    /// only as a count.
    pub fn banner(&self, helpers: &str) -> Vec<(String, String)> {
        let names: Vec<String> = self.names().iter().map(|n| format!("/{n}")).collect();
        let names = if names.is_empty() {
            "none yet".to_owned()
        } else {
            names.join(" ")
        };
        let lines = [
            (
                "integrations",
                format!(
                    "{names} from {} ({} tokens)",
                    self.dir().display(),
                    self.token_count()
                ),
            ),
            ("webhooks", "POST {base}/hooks/hipchat".to_owned()),
            ("auth", self.webhook_auth()),
            ("slash", self.slash_banner()),
            (
                "storage",
                "GET/PUT/DELETE {base}/admin/storage/{integration} (admin token)".to_owned(),
            ),
            ("helpers", format!("HipChat at {helpers}")),
        ];
        lines
            .into_iter()
            .map(|(label, text)| (label.to_owned(), text))
            .collect()
    }
}

#[async_trait]
impl Capability for IntegrationsConfig {
    fn name(&self) -> &'static str {
        "integrations"
    }

    async fn build(&self, cx: &mut Context) -> Result<Option<Mounted>, CapabilityError> {
        let target = HipChatTarget::from(&cx.hipchat);
        self.mount(cx, target, None).await
    }
}

impl IntegrationsConfig {
    /// [`Capability::build`] with the helpers' HipChat requests going to `target` and, when
    /// given, Slack and Mattermost channels mapped to rooms by `channels`.
    pub async fn mount(
        &self,
        cx: &mut Context,
        target: HipChatTarget,
        channels: Option<Arc<dyn ChannelRooms>>,
    ) -> Result<Option<Mounted>, CapabilityError> {
        if self.path.is_none() {
            return Ok(None);
        }
        let store = cx
            .store
            .get()
            .await
            .map_err(|e| CapabilityError::start(self.name(), e))?;
        let integrations = Integrations::start(Options {
            config: self.clone(),
            store: store.kv,
            hipchat: target.clone(),
        })
        .await
        .map_err(|e| CapabilityError::config(self.name(), e))?;
        if let Some(channels) = channels {
            integrations.map_channels(channels);
        }
        // Late slash-command replies go through the outbox, when there is one (else directly).
        let mut couriers: Option<Arc<dyn hipkit_transport::Couriers>> = None;
        if let Some(outbox) = cx.delivery.queue.clone() {
            let replies =
                ReplyCouriers::new().map_err(|e| CapabilityError::start(self.name(), e))?;
            integrations.reply_late_through(LateReplies::new(outbox));
            couriers = Some(Arc::new(replies));
        }
        let stopping = integrations.clone();
        let unauthenticated = match self.jwt_secret {
            Some(_) => Vec::new(),
            None => vec![
                "POST /hooks/hipchat runs integrations for unsigned webhooks (no [integrations] \
                 jwt_secret)"
                    .to_owned(),
            ],
        };
        Ok(Some(Mounted {
            routes: integrations.routes(self.root_hook, cx.serve.api_token.is_some()),
            unauthenticated,
            banner: integrations
                .banner(hipchat::redact_url(&target.endpoint).trim_end_matches('/')),
            shutdown: Some(Box::pin(async move { stopping.shutdown().await })),
            couriers,
            ..Mounted::default()
        }))
    }
}
