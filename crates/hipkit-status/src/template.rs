//! Jinja templates (minijinja) for messages, extra params, recipients and payloads, so a
//! Buildbot user's Jinja carries over. Every template sees the same context:
//! `build` (the build dict), `event` (`started` or `finished`), `buildbot_event` (`new` or
//! `finished`), `result` (the result's name, `statusToString`) and `builder` (its name).

use crate::Event;
use crate::results::status_to_string;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// The name each compiled template is stored under in its environment.
const NAME: &str = "template";

/// The same template, compiled with HTML auto-escaping (for html messages).
const HTML_NAME: &str = "template.html";

/// A compiled template; cheap to clone.
#[derive(Clone)]
pub struct Template {
    env: Arc<Environment<'static>>,
    source: Arc<str>,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// A template that does not compile or does not render.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(#[source] minijinja::Error);

impl Template {
    /// Compiles `source`, once as is ([`Template::render`]) and once auto-escaping values
    /// for HTML ([`Template::render_html`]).
    pub fn compile(source: &str) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(formatter);
        env.add_template_owned(NAME, source.to_owned())
            .map_err(TemplateError)?;
        env.add_template_owned(HTML_NAME, source.to_owned())
            .map_err(TemplateError)?;
        Ok(Self {
            env: Arc::new(env),
            source: source.into(),
        })
    }

    /// The template's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders with `context` (see [`context`]).
    pub fn render(&self, context: &minijinja::Value) -> Result<String, TemplateError> {
        self.render_as(NAME, context)
    }

    /// Renders for an html message: every value is HTML-escaped (`|safe` opts out), the
    /// template's own text is kept.
    pub fn render_html(&self, context: &minijinja::Value) -> Result<String, TemplateError> {
        self.render_as(HTML_NAME, context)
    }

    fn render_as(&self, name: &str, context: &minijinja::Value) -> Result<String, TemplateError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(context))
            .map_err(TemplateError)
    }
}

/// minijinja's formatter, escaping with [`hipchat::escape_html`] (unlike minijinja's own
/// escaping, `/` stays as it is) where HTML auto-escaping is on.
fn formatter(out: &mut Output, state: &mut State, value: &minijinja::Value) -> Result<(), Error> {
    let plain = value.is_safe() || value.is_undefined() || value.is_none();
    if matches!(state.auto_escape(), AutoEscape::Html) && !plain {
        let escaped = hipchat::escape_html(&value.to_string());
        return fmt::Write::write_str(out, &escaped)
            .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write the output"));
    }
    minijinja::escape_formatter(out, state, value)
}

/// The context every template sees for `build` (already narrowed to what the reporter
/// wants) and `event`.
pub fn context(build: &Value, event: Event) -> minijinja::Value {
    let results = build.get("results").and_then(Value::as_i64);
    let builder = build
        .get("builder")
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    minijinja::context! {
        build => minijinja::Value::from(minijinja::value::Serde(build)),
        event => event.as_str(),
        buildbot_event => event.buildbot_name(),
        result => status_to_string(results),
        builder => builder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_the_build_and_event() {
        let build = json!({"builder": {"name": "B"}, "results": 1, "url": "u&v"});
        let t = Template::compile(
            "{{ event }}/{{ buildbot_event }} {{ builder }} {{ result }} {{ build.url }} {{ build.nope }}",
        )
        .unwrap();
        assert_eq!(
            t.render(&context(&build, Event::Started)).unwrap(),
            "started/new B warnings u&v ",
            "no escaping; undefined renders empty"
        );
        assert!(Template::compile("{{ oops").is_err());
        let bad = Template::compile("{{ build.url | nosuchfilter }}").ok();
        assert!(bad.is_none_or(|t| t.render(&context(&build, Event::Started)).is_err()));
    }
}
