//! The render check, like Mailpit's HTML check: what HipChat would have refused or mangled
//! in a stored message (tags and attributes outside its allow-list, bodies over the length
//! limit, @mentions in `html` messages, card fields over their limits).

use super::allow::{CARD_TAGS, MESSAGE_TAGS, STYLE_PROPERTIES};
use hipchat::{Card, HistoryItem, MessageFormat, MessageType, Validate};
use std::collections::BTreeSet;

/// Longest notification or private message HipChat accepted.
const MAX_MESSAGE: usize = 10_000;
/// Longest room message (`/message`) HipChat accepted, per the one source that names it.
const MAX_ROOM_MESSAGE: usize = 1_000;

/// Every finding for one message, in words; empty when HipChat would show it as sent.
pub fn check(item: &HistoryItem, format: MessageFormat) -> Vec<String> {
    let mut out = Vec::new();
    let chars = item.message.chars().count();
    let limit = match (item.kind, format) {
        (MessageType::Message, MessageFormat::Text) if item.file.is_none() => MAX_ROOM_MESSAGE,
        _ => MAX_MESSAGE,
    };
    if chars > limit {
        out.push(format!(
            "{chars} characters: HipChat refuses messages over {limit}"
        ));
    }
    if format == MessageFormat::Html {
        out.extend(html_findings(&item.message, MESSAGE_TAGS, "message"));
        if has_mention(&item.message) {
            out.push(
                "@mention in an html message: HipChat does not expand mentions in html format"
                    .to_owned(),
            );
        }
    }
    if let Some(card) = &item.card {
        out.extend(card_findings(card));
    }
    out
}

fn card_findings(card: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    match serde_json::from_value::<Card>(card.clone()) {
        Ok(parsed) => {
            if let Err(e) = parsed.validate() {
                out.push(format!("card: {e}"));
            }
        }
        Err(e) => out.push(format!("card: not a HipChat card ({e})")),
    }
    let description = card
        .get("description")
        .filter(|d| d.get("format").and_then(|f| f.as_str()) == Some("html"))
        .and_then(|d| d.get("value"))
        .and_then(|v| v.as_str());
    if let Some(html) = description {
        out.extend(html_findings(html, CARD_TAGS, "card description"));
    }
    out
}

fn has_mention(html: &str) -> bool {
    let text = strip_tags(html);
    let mut prev = ' ';
    for (i, c) in text.char_indices() {
        if c == '@'
            && !prev.is_alphanumeric()
            && text[i + 1..]
                .chars()
                .next()
                .is_some_and(|n| n.is_alphanumeric() || n == '_')
        {
            return true;
        }
        prev = c;
    }
    false
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// One start tag as written: its name and attribute names (with their values for `style`).
#[derive(Debug, PartialEq)]
struct StartTag {
    name: String,
    attributes: Vec<(String, String)>,
}

/// Tags and attributes HipChat would drop, each named once.
fn html_findings(html: &str, allowed: &[(&str, &[&str])], what: &str) -> Vec<String> {
    let mut tags = BTreeSet::new();
    let mut attrs = BTreeSet::new();
    let mut styles = BTreeSet::new();
    for tag in start_tags(html) {
        let Some((_, allowed_attrs)) = allowed.iter().find(|(t, _)| *t == tag.name) else {
            tags.insert(tag.name);
            continue;
        };
        for (attr, value) in tag.attributes {
            if !allowed_attrs.contains(&attr.as_str()) {
                attrs.insert(format!("{attr} on <{}>", tag.name));
            } else if attr == "style" {
                styles.extend(
                    value
                        .split(';')
                        .filter_map(|decl| decl.split_once(':'))
                        .map(|(prop, _)| prop.trim().to_ascii_lowercase())
                        .filter(|prop| !STYLE_PROPERTIES.contains(&prop.as_str())),
                );
            }
        }
    }
    let mut out = Vec::new();
    if !tags.is_empty() {
        let list: Vec<String> = tags.into_iter().map(|t| format!("<{t}>")).collect();
        out.push(format!(
            "{what}: HipChat strips {} (not in its allowed tags)",
            list.join(", ")
        ));
    }
    if !attrs.is_empty() {
        let list: Vec<String> = attrs.into_iter().collect();
        out.push(format!(
            "{what}: HipChat drops the attributes {}",
            list.join(", ")
        ));
    }
    if !styles.is_empty() {
        let list: Vec<String> = styles.into_iter().collect();
        out.push(format!(
            "{what}: HipChat drops the style properties {}",
            list.join(", ")
        ));
    }
    out
}

/// The start tags of an HTML fragment, read leniently (comments skipped, names lowercased).
fn start_tags(html: &str) -> Vec<StartTag> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(pos) = rest.find('<') {
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if name_len == 0 || !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let name = rest[..name_len].to_ascii_lowercase();
        let (attributes, consumed) = read_attributes(&rest[name_len..]);
        rest = &rest[name_len + consumed..];
        out.push(StartTag { name, attributes });
    }
    out
}

/// Attributes up to the tag's `>`; returns them and the bytes read.
fn read_attributes(s: &str) -> (Vec<(String, String)>, usize) {
    let bytes = s.as_bytes();
    let mut attrs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'>' {
            return (attrs, i + 1);
        }
        if c.is_ascii_whitespace() || c == b'/' {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let name = s[start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let (v, used) = read_value(&s[i..]);
            value = v;
            i += used;
        }
        attrs.push((name, value));
    }
    (attrs, bytes.len())
}

/// One attribute value, quoted or not; returns it and the bytes read.
fn read_value(s: &str) -> (String, usize) {
    match s.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) => {
            let body = &s[1..];
            match body.find(q as char) {
                Some(end) => (body[..end].to_owned(), end + 2),
                None => (body.to_owned(), s.len()),
            }
        }
        _ => {
            let end = s
                .find(|c: char| c.is_ascii_whitespace() || c == '>')
                .unwrap_or(s.len());
            (s[..end].to_owned(), end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html_item(message: &str) -> HistoryItem {
        serde_json::from_value(serde_json::json!({
            "id": "1", "date": "2026-01-01T00:00:00+00:00", "from": "CI",
            "message": message, "type": "notification", "message_format": "html"
        }))
        .unwrap()
    }

    #[test]
    fn flags_tags_attributes_styles_and_mentions() {
        let findings = check(
            &html_item(
                "<b>ok</b><script>x</script><img src=a onerror='alert(1)'>\
                 <span style=\"color: red; position: fixed\">s</span> hi @bob <!-- <iframe> -->",
            ),
            MessageFormat::Html,
        );
        let all = findings.join("\n");
        assert!(all.contains("<script>"), "{all}");
        assert!(!all.contains("<iframe>"), "comments are skipped: {all}");
        assert!(all.contains("onerror on <img>"), "{all}");
        assert!(all.contains("position"), "{all}");
        assert!(all.contains("@mention"), "{all}");
        assert!(!all.contains("<b>"), "{all}");
    }

    #[test]
    fn clean_html_has_no_findings_and_long_bodies_are_flagged() {
        assert!(
            check(
                &html_item("<a href=\"https://x\">x</a> <b>b</b><br/>"),
                MessageFormat::Html
            )
            .is_empty()
        );
        let long = check(&html_item(&"x".repeat(10_001)), MessageFormat::Html);
        assert!(long[0].contains("10001 characters"), "{long:?}");
    }

    #[test]
    fn card_limits_are_flagged() {
        let mut item = html_item("fallback");
        item.card = Some(serde_json::json!({"style": "link", "title": "t".repeat(501)}));
        let all = check(&item, MessageFormat::Html).join("\n");
        assert!(all.contains("card.title"), "{all}");
    }
}
