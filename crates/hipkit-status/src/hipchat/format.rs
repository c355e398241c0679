//! Buildbot's three hooks as a trait with default methods: destinations
//! (`getRecipientList`), the message (`getMessage`) and extra body fields
//! (`getExtraParams`). Library users override any of them; configured reporters use
//! [`ConfiguredFormatter`] (the templates in their table, else the defaults).

use super::config::HipChatConfig;
use crate::Event;
use crate::results::status_to_string;
use crate::template::{self, TemplateError};
use serde_json::{Map, Value};

/// Where one report goes: a user (first), a room (second), either or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipients {
    /// A user id or email: a private message.
    pub id_or_email: Option<String>,
    /// A room id or name: a room notification.
    pub room_id_or_name: Option<String>,
}

/// A hook could not produce its part of the report.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// A template failed to render.
    #[error("{key}: {source}")]
    Template {
        /// Which template (`message`, `extra_params.color`, ...).
        key: String,
        /// minijinja's error.
        #[source]
        source: TemplateError,
    },
    /// The body fields do not make a HipChat notification.
    #[error("the notification body is not valid: {0}")]
    Body(#[source] serde_json::Error),
    /// A body field HipChat does not know.
    #[error("`{0}` is not a HipChat notification field")]
    UnknownField(String),
    /// A hook of a library user's formatter failed.
    #[error("{0}")]
    Custom(String),
}

/// What the hooks see: the build (narrowed by the `want*` flags), the event and the
/// reporter's configuration.
pub struct ReportContext<'a> {
    /// The build dict, as the reporter wants it.
    pub build: &'a Value,
    /// Started or finished.
    pub event: Event,
    /// The reporter's configuration (maps, templates).
    pub config: &'a HipChatConfig,
    template: minijinja::Value,
}

impl<'a> ReportContext<'a> {
    /// The context for one report.
    pub fn new(build: &'a Value, event: Event, config: &'a HipChatConfig) -> Self {
        Self {
            build,
            event,
            config,
            template: template::context(build, event),
        }
    }

    /// `builder.name`.
    pub fn builder_name(&self) -> &str {
        self.build
            .get("builder")
            .and_then(|b| b.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The builder's entries in `builder_user_map` and `builder_room_map`.
    pub fn default_recipients(&self) -> Recipients {
        let name = self.builder_name();
        Recipients {
            id_or_email: self.config.builder_user_map.get(name).cloned(),
            room_id_or_name: self.config.builder_room_map.get(name).cloned(),
        }
    }

    /// Buildbot's text: `Buildbot started build X here: URL` or `Buildbot finished build X
    /// with result R here: URL`.
    /// Values are HTML-escaped when the message is html (HipChat's default format), so a
    /// build field cannot add markup; ordinary names and URLs read exactly as Buildbot's.
    pub fn default_message(&self) -> String {
        let escape = |text: &str| {
            if self.is_html() {
                hipchat::escape_html(text)
            } else {
                text.to_owned()
            }
        };
        let name = escape(self.builder_name());
        let url = escape(
            self.build
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        match self.event {
            Event::Started => format!("Buildbot started build {name} here: {url}"),
            Event::Finished => {
                let results = self.build.get("results").and_then(Value::as_i64);
                let result = status_to_string(results);
                format!("Buildbot finished build {name} with result {result} here: {url}")
            }
        }
    }

    /// Whether the message is html: HipChat's default, unless `extra_params` sets
    /// `message_format = "text"`.
    pub fn is_html(&self) -> bool {
        self.config
            .extra_params
            .get("message_format")
            .and_then(Value::as_str)
            != Some("text")
    }

    /// Renders the `message` template, HTML-escaping its values for an html message.
    pub fn render_message(&self, template: &template::Template) -> Result<String, FormatError> {
        let rendered = if self.is_html() {
            template.render_html(&self.template)
        } else {
            template.render(&self.template)
        };
        rendered.map_err(|source| FormatError::Template {
            key: "message".to_owned(),
            source,
        })
    }

    /// Renders a template (`key` names it in errors) in this report's context.
    pub fn render(&self, key: &str, template: &template::Template) -> Result<String, FormatError> {
        template
            .render(&self.template)
            .map_err(|source| FormatError::Template {
                key: key.to_owned(),
                source,
            })
    }
}

/// Buildbot's hooks; each default is Buildbot's behaviour.
pub trait HipChatFormatter: Send + Sync {
    /// Where the report goes (default: the builder maps).
    fn recipients(&self, ctx: &ReportContext<'_>) -> Result<Recipients, FormatError> {
        Ok(ctx.default_recipients())
    }

    /// The message text; empty sends nothing (default: Buildbot's text).
    fn message(&self, ctx: &ReportContext<'_>) -> Result<String, FormatError> {
        Ok(ctx.default_message())
    }

    /// Fields merged into the body, overriding `message` too (default: none).
    fn extra_params(&self, ctx: &ReportContext<'_>) -> Result<Map<String, Value>, FormatError> {
        let _ = ctx;
        Ok(Map::new())
    }
}

/// The formatter of configured reporters: their `message`, `extra_params` and
/// `recipients` templates, Buildbot's defaults where none is set.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfiguredFormatter;

/// A rendered destination; empty means none.
fn non_empty(s: String) -> Option<String> {
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

impl HipChatFormatter for ConfiguredFormatter {
    fn recipients(&self, ctx: &ReportContext<'_>) -> Result<Recipients, FormatError> {
        let defaults = ctx.default_recipients();
        let templates = &ctx.config.recipients;
        let render = |key: &str, t: &Option<template::Template>, default: Option<String>| match t {
            Some(t) => ctx.render(&format!("recipients.{key}"), t).map(non_empty),
            None => Ok(default),
        };
        Ok(Recipients {
            id_or_email: render("id_or_email", &templates.id_or_email, defaults.id_or_email)?,
            room_id_or_name: render(
                "room_id_or_name",
                &templates.room_id_or_name,
                defaults.room_id_or_name,
            )?,
        })
    }

    fn message(&self, ctx: &ReportContext<'_>) -> Result<String, FormatError> {
        match &ctx.config.message {
            Some(t) => ctx.render_message(t),
            None => Ok(ctx.default_message()),
        }
    }

    fn extra_params(&self, ctx: &ReportContext<'_>) -> Result<Map<String, Value>, FormatError> {
        ctx.config
            .extra_params
            .iter()
            .map(|(key, value)| {
                let value = match ctx.config.extra_template(key) {
                    Some(t) => Value::String(ctx.render(&format!("extra_params.{key}"), t)?),
                    None => value.clone(),
                };
                Ok((key.clone(), value))
            })
            .collect()
    }
}
