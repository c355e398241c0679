use super::*;
use crate::config::ConfigProblem;
use crate::fixtures::reference_build;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn rooms() -> HipChatConfig {
    HipChatConfig::new("t", map(&[("Builder0", "123")]), BTreeMap::new())
}

fn build(results: Option<i64>) -> Build {
    let mut v = reference_build();
    v["results"] = json!(results);
    v["complete"] = json!(results.is_some());
    Build::from_value(v).unwrap()
}

fn texts(reporter: &HipChatReporter, build: &Build, event: Event) -> Vec<(String, String)> {
    reporter
        .messages(build, event)
        .unwrap()
        .into_iter()
        .map(|m| (m.to.to_string(), m.body.message))
        .collect()
}

fn from_table(v: Value) -> Result<HipChatConfig, ConfigProblem> {
    match v {
        Value::Object(m) => HipChatConfig::from_table(&m, 1),
        _ => unreachable!("tests pass objects"),
    }
}

#[test]
fn every_default_message_word_for_word() {
    let r = HipChatReporter::new(rooms());
    let url = "http://localhost:8080/#/builders/79/builds/0";
    assert_eq!(
        texts(&r, &build(None), Event::Started),
        [(
            "room:123".to_owned(),
            format!("Buildbot started build Builder0 here: {url}")
        )]
    );
    // The names themselves are pinned by `results`' own test.
    for code in 0..=6 {
        let name = crate::results::status_to_string(Some(code));
        let got = texts(&r, &build(Some(code)), Event::Finished);
        assert_eq!(
            got[0].1,
            format!("Buildbot finished build Builder0 with result {name} here: {url}")
        );
    }
    let odd = texts(&r, &build(Some(9)), Event::Finished);
    assert!(odd[0].1.contains("with result Invalid status here"));
}

#[test]
fn rendered_messages_snapshot() {
    let config = HipChatConfig::new(
        "t",
        map(&[("Builder0", "Build Room")]),
        map(&[("Builder0", "dev@example.com")]),
    );
    let r = HipChatReporter::new(config);
    insta::assert_json_snapshot!(
        "default_started",
        r.messages(&build(None), Event::Started).unwrap()
    );
    insta::assert_json_snapshot!(
        "default_finished_failure",
        r.messages(&build(Some(2)), Event::Finished).unwrap()
    );
}

#[test]
fn maps_route_user_first_then_room() {
    let both = HipChatConfig::new(
        "t",
        map(&[("Builder0", "123"), ("Other", "9")]),
        map(&[("Builder0", "dev@example.com")]),
    );
    let r = HipChatReporter::new(both);
    let to: Vec<_> = texts(&r, &build(Some(0)), Event::Finished)
        .into_iter()
        .map(|(to, _)| to)
        .collect();
    assert_eq!(to, ["user:dev@example.com", "room:123"]);
    let users_only = HipChatConfig::new("t", BTreeMap::new(), map(&[("Builder0", "@dev")]));
    let to = texts(
        &HipChatReporter::new(users_only),
        &build(Some(0)),
        Event::Finished,
    );
    assert_eq!(to.len(), 1);
    assert_eq!(to[0].0, "user:@dev");
    let elsewhere = HipChatConfig::new("t", map(&[("builder0", "1")]), BTreeMap::new());
    assert!(
        texts(
            &HipChatReporter::new(elsewhere),
            &build(Some(0)),
            Event::Finished
        )
        .is_empty(),
        "exact builder names; no destination sends nothing"
    );
}

fn rendered_with(wants: Wants, template: &str, v: Value) -> String {
    let mut config = rooms();
    config.wants = wants;
    config.message = Some(crate::template::Template::compile(template).unwrap());
    let build = Build::from_value(v).unwrap();
    texts(&HipChatReporter::new(config), &build, Event::Finished)[0]
        .1
        .clone()
}

#[test]
fn each_want_flag() {
    let mut v = reference_build();
    v["steps"] = json!([{"name": "compile", "logs": [{"name": "stdio", "content": "ok"}]}]);
    v["prev_build"] = json!({"number": 4, "results": 0});
    let props = "{{ build.properties.branch[0] if build.properties.branch is defined else '-' }}";
    let steps = "{{ build.steps | length if build.steps is defined else '-' }}";
    let logs =
        "{{ build.steps[0].logs[0].content | default('-') if build.steps is defined else '-' }}";
    let prev = "{{ build.prev_build.number if build.prev_build is defined else '-' }}";
    let none = Wants::default();
    assert_eq!(
        rendered_with(none, props, v.clone()),
        "-",
        "properties are {{}}"
    );
    assert_eq!(rendered_with(none, steps, v.clone()), "-");
    assert_eq!(rendered_with(none, prev, v.clone()), "-");
    let all = |f: fn(&mut Wants)| {
        let mut w = Wants::default();
        f(&mut w);
        w
    };
    assert_eq!(
        rendered_with(all(|w| w.properties = true), props, v.clone()),
        "main"
    );
    assert_eq!(
        rendered_with(all(|w| w.steps = true), steps, v.clone()),
        "1"
    );
    assert_eq!(
        rendered_with(all(|w| w.steps = true), logs, v.clone()),
        "-",
        "steps without log content"
    );
    assert_eq!(
        rendered_with(all(|w| w.logs = true), logs, v.clone()),
        "ok",
        "want_logs implies steps"
    );
    assert_eq!(
        rendered_with(all(|w| w.previous_build = true), prev, v),
        "4"
    );
}

#[test]
fn templates_override_message_extra_params_and_recipients() {
    let config = from_table(json!({
        "builder_room_map": {"Builder0": 123},
        "message": "{{ builder }} #{{ build.number }}: {{ result }} ({{ event }})",
        "extra_params": {"color": "{{ 'red' if build.results == 2 else 'green' }}",
            "notify": true, "message_format": "text"},
    }))
    .unwrap();
    let r = HipChatReporter::new(config);
    let sent = r.messages(&build(Some(2)), Event::Finished).unwrap();
    insta::assert_json_snapshot!("templated_failure", sent);
    let sent = r.messages(&build(Some(0)), Event::Finished).unwrap();
    assert_eq!(sent[0].body.color, Some(hipchat::Color::Green));
    assert_eq!(sent[0].body.message, "Builder0 #0: success (finished)");

    let routed = from_table(json!({
        "recipients": {"room_id_or_name": "{{ builder }}-{{ build.properties.branch[0] }}",
            "id_or_email": "{{ '' }}"},
        "want_properties": true,
    }))
    .unwrap();
    let to: Vec<_> = texts(
        &HipChatReporter::new(routed),
        &build(Some(0)),
        Event::Finished,
    )
    .into_iter()
    .map(|(to, _)| to)
    .collect();
    assert_eq!(
        to,
        ["room:Builder0-main"],
        "an empty rendering is no destination"
    );

    let overriding = from_table(json!({
        "builder_room_map": {"Builder0": "1"},
        "extra_params": {"message": "{{ builder }} says hi"},
    }))
    .unwrap();
    assert_eq!(
        texts(
            &HipChatReporter::new(overriding),
            &build(Some(0)),
            Event::Finished
        )[0]
        .1,
        "Builder0 says hi",
        "extra params override message, as Buildbot's update() does"
    );
}

#[test]
fn empty_message_sends_nothing() {
    let mut config = rooms();
    config.message = Some(
        crate::template::Template::compile("{% if build.results == 2 %}broken{% endif %}").unwrap(),
    );
    let r = HipChatReporter::new(config);
    assert!(
        r.messages(&build(Some(0)), Event::Finished)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        r.messages(&build(Some(2)), Event::Finished).unwrap().len(),
        1
    );
}

/// A library user's formatter: Buildbot's subclass that overrides the three hooks.
struct Custom;

impl HipChatFormatter for Custom {
    fn recipients(&self, ctx: &ReportContext<'_>) -> Result<Recipients, FormatError> {
        let mut r = ctx.default_recipients();
        r.id_or_email = Some(format!("{}@example.com", ctx.builder_name().to_lowercase()));
        Ok(r)
    }

    fn message(&self, ctx: &ReportContext<'_>) -> Result<String, FormatError> {
        Ok(format!("[{}] {}", ctx.event, ctx.default_message()))
    }

    fn extra_params(&self, _: &ReportContext<'_>) -> Result<Map<String, Value>, FormatError> {
        Ok([("color".to_owned(), json!("purple"))]
            .into_iter()
            .collect())
    }
}

/// Overrides only the message; the other hooks keep Buildbot's defaults.
struct OnlyMessage;

impl HipChatFormatter for OnlyMessage {
    fn message(&self, _: &ReportContext<'_>) -> Result<String, FormatError> {
        Ok("custom".into())
    }
}

#[test]
fn trait_overrides() {
    let r = HipChatReporter::with_formatter(rooms(), std::sync::Arc::new(Custom));
    let sent = r.messages(&build(Some(0)), Event::Finished).unwrap();
    insta::assert_json_snapshot!("trait_override", sent);
    let r = HipChatReporter::with_formatter(rooms(), std::sync::Arc::new(OnlyMessage));
    assert_eq!(
        texts(&r, &build(Some(0)), Event::Finished),
        [("room:123".to_owned(), "custom".to_owned())]
    );
}

#[test]
fn config_type_errors_are_buildbots() {
    let err = |v: Value| from_table(v).unwrap_err().to_string();
    assert_eq!(err(json!({"auth_token": 5})), "auth_token must be a string");
    assert_eq!(err(json!({"endpoint": ["x"]})), "endpoint must be a string");
    assert_eq!(
        err(json!({"builder_room_map": ["a"]})),
        "builder_room_map must be a dict"
    );
    assert_eq!(
        err(json!({"builder_user_map": "a"})),
        "builder_user_map must be a dict"
    );
    assert_eq!(
        err(json!({"builders": "a"})),
        "builders must be a list or None"
    );
    assert_eq!(
        err(json!({"want_steps": 1})),
        "want_steps must be a boolean"
    );
    assert_eq!(
        err(json!({"wantSteps": true})),
        "unknown key `wantSteps`; did you mean `want_steps`?"
    );
    assert_eq!(
        err(json!({"wantProperties": true})),
        "unknown key `wantProperties`; did you mean `want_properties`?"
    );
    assert!(err(json!({"message": "{{ x"})).starts_with("message is not a valid template"));
    assert!(
        err(json!({"extra_params": {"colour": "red"}}))
            .starts_with("extra_params.colour is not a HipChat")
    );
    assert_eq!(
        err(json!({"recipients": {"room": "x"}})),
        "unknown key `recipients.room`"
    );
    let ok = from_table(json!({"auth_token": "abc", "event_messages": {"new": "x"}})).unwrap();
    assert_eq!(ok.name, "hipchat-1");
    assert!(
        !format!("{ok:?}").contains("abc"),
        "tokens never in debug output"
    );
}

#[test]
fn build_fields_are_escaped_in_html_messages_and_templates() {
    let mut v = reference_build();
    v["url"] = json!("http://ci/\"><a href=\"http://evil\">x</a>?a=1&b=2");
    v["builder"]["name"] = json!("<b>Builder0</b>");
    v["complete"] = json!(true);
    v["results"] = json!(0);
    let b = Build::from_value(v).unwrap();
    let rooms = || HipChatConfig::new("t", map(&[("<b>Builder0</b>", "123")]), BTreeMap::new());
    let text = &texts(&HipChatReporter::new(rooms()), &b, Event::Finished)[0].1;
    assert_eq!(
        text,
        "Buildbot finished build &lt;b&gt;Builder0&lt;/b&gt; with result success here: \
         http://ci/&quot;&gt;&lt;a href=&quot;http://evil&quot;&gt;x&lt;/a&gt;?a=1&amp;b=2"
    );
    let mut templated = rooms();
    templated.message = Some(
        crate::template::Template::compile(
            "<i>{{ builder }}</i> {{ build.url }} {{ '<ok>'|safe }}",
        )
        .unwrap(),
    );
    let text = &texts(
        &HipChatReporter::new(templated.clone()),
        &b,
        Event::Finished,
    )[0]
    .1;
    assert!(
        text.starts_with("<i>&lt;b&gt;Builder0&lt;/b&gt;</i> http://ci/&quot;&gt;"),
        "{text}"
    );
    assert!(text.ends_with(" <ok>"), "{text}");
    // A text message is shown as sent: nothing to escape.
    templated
        .extra_params
        .insert("message_format".into(), json!("text"));
    let text = &texts(&HipChatReporter::new(templated), &b, Event::Finished)[0].1;
    assert!(
        text.starts_with("<i><b>Builder0</b></i> http://ci/\"><a"),
        "{text}"
    );
}
