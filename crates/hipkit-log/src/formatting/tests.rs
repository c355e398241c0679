use super::*;
use crate::record::{ErrorChain, Record, Repeat, SpanInfo};
use std::borrow::Cow;
use std::time::Duration;
use tracing::Level;

fn record(message: &str) -> Record {
    let mut r = Record::new(
        Level::ERROR,
        Cow::Borrowed("my_service::db"),
        Cow::Borrowed("event src/db.rs:7"),
        message.to_owned(),
    );
    r.fields = "attempt=3".to_owned();
    r.spans = vec![
        SpanInfo {
            name: "request",
            fields: "id=42".into(),
        },
        SpanInfo {
            name: "query",
            fields: "sql=select 1".into(),
        },
    ];
    r.errors = vec![ErrorChain {
        field: "error",
        message: "timed out".into(),
        causes: vec!["connection reset".into(), "os error 104".into()],
    }];
    r
}

#[test]
fn text_layout_has_level_target_message_fields_spans_and_the_error_chain() {
    let mut r = record("query failed");
    r.repeated = Some(Repeat {
        count: 499,
        over: Duration::from_secs(60),
    });
    assert_eq!(
        render(&r, MessageFormat::Text),
        "ERROR my_service::db: query failed attempt=3\n\
         \x20 in request{id=42} > query{sql=select 1}\n\
         \x20 error: timed out\n\
         \x20   caused by: connection reset\n\
         \x20   caused by: os error 104\n\
         \x20 … repeated 499 times in the last 60 s"
    );
}

#[test]
fn html_escapes_everything_the_record_carries() {
    let mut r = record("<script>alert('x') & \"y\"</script>");
    r.target = Cow::Borrowed("a<b>");
    r.fields = "html=<i>field</i>".to_owned();
    r.spans[0].fields = "user=<img src=x>".into();
    r.errors[0].causes = vec!["<b>cause</b>".into()];
    let html = render(&r, MessageFormat::Html);
    assert!(
        html.starts_with("<b>ERROR</b> <code>a&lt;b&gt;</code>: "),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("html=&lt;i&gt;field&lt;/i&gt;"), "{html}");
    assert!(html.contains("user=&lt;img src=x&gt;"), "{html}");
    assert!(
        html.contains("caused by: &lt;b&gt;cause&lt;/b&gt;"),
        "{html}"
    );
    // The only tags are the layout's own.
    let tags: Vec<&str> = html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
        .collect();
    assert!(
        tags.iter()
            .all(|t| ["b", "/b", "code", "/code", "br"].contains(t)),
        "{tags:?}"
    );
}

#[test]
fn long_records_are_cut_at_hipchats_limit_with_a_marker() {
    for format in [MessageFormat::Text, MessageFormat::Html] {
        let body = render(&record(&"x".repeat(30_000)), format);
        assert!(body.chars().count() <= MAX_MESSAGE_CHARS, "{format}");
        assert!(
            body.ends_with("more characters]"),
            "{format}: {}",
            &body[body.len() - 80..]
        );
    }
}

#[test]
fn an_html_cut_never_splits_an_entity() {
    let body = render(&record(&"&".repeat(5_000)), MessageFormat::Html);
    assert!(body.chars().count() <= MAX_MESSAGE_CHARS);
    let (content, marker) = body.split_once(" … [cut: ").expect("marker");
    let after_header = content
        .split_once(": ")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    assert!(!after_header.is_empty());
    assert_eq!(after_header.replace("&amp;", ""), "", "only whole entities");
    let cut: usize = marker
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert!(cut > 3_000, "the marker counts what was cut: {cut}");
}

#[test]
fn short_repeats_show_tenths_of_a_second() {
    let mut r = Record::new(
        Level::WARN,
        Cow::Borrowed("t"),
        Cow::Borrowed("k"),
        "m".into(),
    );
    r.repeated = Some(Repeat {
        count: 2,
        over: Duration::from_millis(1500),
    });
    assert_eq!(
        render(&r, MessageFormat::Text),
        "WARN t: m\n  … repeated 2 times in the last 1.5 s"
    );
}

#[test]
fn a_storm_within_a_blink_says_so() {
    assert_eq!(period(Duration::from_millis(3)), "in under 0.1 s");
    assert_eq!(period(Duration::from_secs(60)), "in the last 60 s");
}
