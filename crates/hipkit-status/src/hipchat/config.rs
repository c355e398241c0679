//! `[[reporters.hipchat]]`: HipChatStatusPush's parameters in snake_case, plus hipkit's
//! `message`, `extra_params` and `recipients` templates.

use crate::config::{ConfigProblem, Table, compile};
use crate::generator::{Generator, Modes};
use crate::template::Template;
use hipchat::Token;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The notification fields `extra_params` may set (HipChat's room notification body).
pub const NOTIFICATION_FIELDS: [&str; 7] = [
    "message",
    "message_format",
    "color",
    "notify",
    "from",
    "attach_to",
    "card",
];

const KEYS: [&str; 15] = [
    "name",
    "auth_token",
    "endpoint",
    "builder_room_map",
    "builder_user_map",
    "event_messages",
    "want_properties",
    "want_steps",
    "want_logs",
    "want_previous_build",
    "debug",
    "verify",
    "message",
    "extra_params",
    "recipients",
];

/// Which optional parts of the build the hooks and templates see (Buildbot's `want*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wants {
    /// `properties` (otherwise `{}`, as in Buildbot's event messages).
    pub properties: bool,
    /// `steps`.
    pub steps: bool,
    /// Log `content` in each step's `logs` (implies `steps`).
    pub logs: bool,
    /// `prev_build`.
    pub previous_build: bool,
}

impl Wants {
    /// The build dict narrowed to what is wanted.
    pub fn view(&self, build: &Value) -> Value {
        let mut view = build.clone();
        let Some(dict) = view.as_object_mut() else {
            return view;
        };
        if !self.properties {
            dict.insert("properties".into(), Value::Object(Map::new()));
        }
        if !(self.steps || self.logs) {
            dict.remove("steps");
        } else if !self.logs {
            strip_log_content(dict);
        }
        if !self.previous_build {
            dict.remove("prev_build");
        }
        view
    }
}

/// Removes the log `content` of every step (what Buildbot leaves out without `wantLogs`).
pub(crate) fn strip_log_content(dict: &mut Map<String, Value>) {
    let steps = dict.get_mut("steps").and_then(Value::as_array_mut);
    for step in steps.into_iter().flatten() {
        let logs = step.get_mut("logs").and_then(Value::as_array_mut);
        for log in logs.into_iter().flatten() {
            if let Some(log) = log.as_object_mut() {
                log.remove("content");
            }
        }
    }
}

/// Templates for the destinations (Buildbot's `getRecipientList`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecipientTemplates {
    /// `room_id_or_name`.
    pub room_id_or_name: Option<Template>,
    /// `id_or_email`.
    pub id_or_email: Option<Template>,
}

/// One HipChat reporter's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct HipChatConfig {
    /// Its name: the scope of its previous-build memory (default `hipchat-N`).
    pub name: String,
    /// Its own token (default: `[hipchat] token`, through the configured delivery).
    pub auth_token: Option<Token>,
    /// Its own server (default: `[hipchat] endpoint`).
    pub endpoint: Option<String>,
    /// Builder name → room id or name.
    pub builder_room_map: BTreeMap<String, String>,
    /// Builder name → user id or email.
    pub builder_user_map: BTreeMap<String, String>,
    /// The `want*` flags.
    pub wants: Wants,
    /// Which builds are reported; Buildbot's default: every started and finished build.
    pub generator: Generator,
    /// Log each message as it is queued.
    pub debug: bool,
    /// `verify = false` accepts invalid certificates (with its own `endpoint` only).
    pub verify: bool,
    /// The message template (default: Buildbot's text).
    pub message: Option<Template>,
    /// Extra body fields; string values are templates.
    pub extra_params: Map<String, Value>,
    /// Destination templates (default: the builder maps).
    pub recipients: RecipientTemplates,
    extra_templates: BTreeMap<String, Template>,
}

impl HipChatConfig {
    /// A reporter with Buildbot's defaults and these maps (for library users and tests).
    pub fn new(
        name: impl Into<String>,
        builder_room_map: BTreeMap<String, String>,
        builder_user_map: BTreeMap<String, String>,
    ) -> Self {
        Self {
            name: name.into(),
            auth_token: None,
            endpoint: None,
            builder_room_map,
            builder_user_map,
            wants: Wants::default(),
            generator: default_generator(),
            debug: false,
            verify: true,
            message: None,
            extra_params: Map::new(),
            recipients: RecipientTemplates::default(),
            extra_templates: BTreeMap::new(),
        }
    }

    /// Reads table `number` (from 1) of `[[reporters.hipchat]]`.
    pub fn from_table(map: &Map<String, Value>, number: usize) -> Result<Self, ConfigProblem> {
        let t = Table(map);
        t.only(&KEYS)?;
        let auth_token = t.string("auth_token")?.map(Token::new);
        let endpoint = t.string("endpoint")?;
        let builder_room_map = t.string_dict("builder_room_map")?;
        let builder_user_map = t.string_dict("builder_user_map")?;
        // Accepted so a Buildbot config translates line by line; Buildbot ignores it too.
        let _event_messages = t.dict("event_messages")?;
        let wants = Wants {
            properties: t.flag("want_properties", false)?,
            steps: t.flag("want_steps", false)?,
            logs: t.flag("want_logs", false)?,
            previous_build: t.flag("want_previous_build", false)?,
        };
        let recipients = recipient_templates(&t.dict("recipients")?)?;
        let mut config = Self {
            name: t
                .string("name")?
                .unwrap_or_else(|| format!("hipchat-{number}")),
            auth_token,
            endpoint,
            wants,
            generator: t.generator(Modes::Every, true)?,
            debug: t.flag("debug", false)?,
            verify: t.flag("verify", true)?,
            message: t.template("message")?,
            recipients,
            ..Self::new("", builder_room_map, builder_user_map)
        };
        config.set_extra_params(t.dict("extra_params")?)?;
        Ok(config)
    }

    /// Sets `extra_params`, compiling its string values as templates.
    pub fn set_extra_params(&mut self, params: Map<String, Value>) -> Result<(), ConfigProblem> {
        let mut templates = BTreeMap::new();
        for (key, value) in &params {
            if !NOTIFICATION_FIELDS.contains(&key.as_str()) {
                return Err(ConfigProblem::Invalid {
                    key: format!("extra_params.{key}"),
                    expected: "is not a HipChat notification field (message, message_format, \
                               color, notify, from, attach_to, card)",
                });
            }
            if let Value::String(source) = value {
                templates.insert(
                    key.clone(),
                    compile(&format!("extra_params.{key}"), source)?,
                );
            }
        }
        self.extra_params = params;
        self.extra_templates = templates;
        Ok(())
    }

    /// The compiled template for a string-valued extra param.
    pub(crate) fn extra_template(&self, key: &str) -> Option<&Template> {
        self.extra_templates.get(key)
    }
}

/// HipChatStatusPush's implicit generator: every `new` and every finished build.
fn default_generator() -> Generator {
    Generator {
        modes: Modes::Every,
        filters: Default::default(),
        report_new: true,
    }
}

fn recipient_templates(map: &Map<String, Value>) -> Result<RecipientTemplates, ConfigProblem> {
    let t = Table(map);
    const RECIPIENT_KEYS: [&str; 2] = ["room_id_or_name", "id_or_email"];
    if let Some(key) = map.keys().find(|k| !RECIPIENT_KEYS.contains(&k.as_str())) {
        let meant = hipchat::did_you_mean(key, &RECIPIENT_KEYS);
        return Err(ConfigProblem::Unknown(format!("recipients.{key}"), meant));
    }
    let read = |key: &str| {
        let full = format!("recipients.{key}");
        match t.value(key) {
            None => Ok(None),
            Some(Value::String(s)) => compile(&full, s).map(Some),
            Some(_) => Err(ConfigProblem::NotString(full)),
        }
    };
    Ok(RecipientTemplates {
        room_id_or_name: read("room_id_or_name")?,
        id_or_email: read("id_or_email")?,
    })
}
