//! How records become a message body, in text or html: one layout written through a
//! [`Writer`] that escapes and bounds it.

mod writer;

#[cfg(test)]
mod tests;

pub use writer::MAX_MESSAGE_CHARS;
pub(crate) use writer::Writer;

use crate::record::Record;
use hipchat::MessageFormat;

/// One record as a body of at most [`MAX_MESSAGE_CHARS`] characters:
///
/// ```text
/// ERROR my_service::db: query failed attempt=3 table=users
///   in request{id=42} > query{sql=select 1}
///   error: timed out
///     caused by: connection reset
///   … repeated 499 times in the last 60 s
/// ```
pub(crate) fn render(record: &Record, format: MessageFormat) -> String {
    let mut w = Writer::new(format);
    w.element("b", record.level.as_str());
    w.text(" ");
    w.element("code", &record.target);
    w.text(": ");
    w.text(&record.message);
    if !record.fields.is_empty() {
        w.text(" ");
        w.text(&record.fields);
    }
    if !record.spans.is_empty() {
        w.indent(1);
        w.text("in ");
        for (i, span) in record.spans.iter().enumerate() {
            if i > 0 {
                w.text(" > ");
            }
            w.text(&format!("{}{{{}}}", span.name, span.fields));
        }
    }
    for error in &record.errors {
        w.indent(1);
        w.text(&format!("{}: {}", error.field, error.message));
        for cause in &error.causes {
            w.indent(2);
            w.text(&format!("caused by: {cause}"));
        }
    }
    if let Some(repeat) = record.repeated {
        w.indent(1);
        w.element(
            "i",
            &format!("… repeated {} times {}", repeat.count, period(repeat.over)),
        );
    }
    w.finish()
}

/// The separator between records batched into one message.
pub(crate) fn separator(format: MessageFormat) -> &'static str {
    match format {
        MessageFormat::Html => "<br>",
        MessageFormat::Text => "\n",
    }
}

/// `in the last 60 s`, `in the last 0.4 s` below ten seconds, `in under 0.1 s` below that.
fn period(d: std::time::Duration) -> String {
    if d.as_millis() < 100 {
        "in under 0.1 s".to_owned()
    } else if d.as_secs() >= 10 {
        format!("in the last {} s", d.as_secs())
    } else {
        format!("in the last {:.1} s", d.as_secs_f64())
    }
}
