//! `[integrations]` as a `serve` [`Capability`]: with its `path` set, the folder's
//! integrations answer webhooks on the shared listener, keep their storage in the one store
//! and stop with `serve`.

use crate::runtime::python::HipChatTarget;
use crate::{Integrations, IntegrationsConfig, Options};
use async_trait::async_trait;
use hipkit_server::{Capability, CapabilityError, Context, Mounted, Routes};

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
            hipchat: HipChatTarget::from(&cx.hipchat),
        })
        .await
        .map_err(|e| CapabilityError::config(self.name(), e))?;
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
            banner: integrations.banner(cx.hipchat.endpoint_or_default()),
            shutdown: Some(Box::pin(async move { stopping.shutdown().await })),
            ..Mounted::default()
        }))
    }
}
