//! The render check, like Mailpit's HTML check: what HipChat would have refused or mangled
//! in a stored message (tags and attributes outside its allow-list, bodies over the length
//! limit, @mentions in `html` messages, card fields over their limits).

use super::allow::{CARD_TAGS, MESSAGE_TAGS, STYLE_PROPERTIES};
use hipchat::{Card, HistoryItem, MessageFormat, MessageType, Validate};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::cell::RefCell;
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
        let fragment = read_html(&item.message);
        out.extend(html_findings(&fragment, MESSAGE_TAGS, "message"));
        if has_mention(&fragment.text) {
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
        out.extend(html_findings(
            &read_html(html),
            CARD_TAGS,
            "card description",
        ));
    }
    out
}

/// Whether the text has an `@name` that does not follow a letter or digit.
fn has_mention(text: &str) -> bool {
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

/// One start tag as written: its name and attributes (lowercased names, decoded values).
#[derive(Debug, PartialEq)]
struct StartTag {
    name: String,
    attributes: Vec<(String, String)>,
}

/// An HTML fragment as the sanitiser's parser reads it: its start tags and its text.
#[derive(Debug, Default)]
struct Fragment {
    start_tags: Vec<StartTag>,
    text: String,
}

/// Collects what the tokenizer reads, and switches it to raw text after the elements whose
/// content is not markup, as the sanitiser's tree builder (html5ever, scripting enabled) does.
#[derive(Default)]
struct Collector(RefCell<Fragment>);

impl TokenSink for Collector {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut fragment = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) if tag.kind == TagKind::StartTag => {
                let name: &str = &tag.name;
                let switch = match name {
                    "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
                    "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                        TokenSinkResult::RawData(RawKind::Rawtext)
                    }
                    "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                    "plaintext" => TokenSinkResult::Plaintext,
                    _ => TokenSinkResult::Continue,
                };
                fragment.start_tags.push(StartTag {
                    name: name.to_owned(),
                    attributes: tag
                        .attrs
                        .iter()
                        .map(|a| (a.name.local.to_string(), a.value.to_string()))
                        .collect(),
                });
                return switch;
            }
            Token::CharacterTokens(text) => fragment.text.push_str(&text),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Tokenizes `html` with html5ever's tokenizer, the one ammonia's parser uses.
fn read_html(html: &str) -> Fragment {
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let tokenizer = Tokenizer::new(Collector::default(), TokenizerOpts::default());
    // The sink never asks for a script to run, so one feed reads everything.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.take()
}

/// Tags and attributes HipChat would drop, each named once.
fn html_findings(html: &Fragment, allowed: &[(&str, &[&str])], what: &str) -> Vec<String> {
    let mut tags = BTreeSet::new();
    let mut attrs = BTreeSet::new();
    let mut styles = BTreeSet::new();
    for tag in &html.start_tags {
        let Some((_, allowed_attrs)) = allowed.iter().find(|(t, _)| *t == tag.name) else {
            tags.insert(tag.name.as_str());
            continue;
        };
        for (attr, value) in &tag.attributes {
            if !allowed_attrs.contains(&attr.as_str()) {
                attrs.insert(format!("{attr} on <{}>", tag.name));
            } else if attr.as_str() == "style" {
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
    fn reads_html_as_the_sanitiser_does() {
        let quoted = check(
            &html_item("<a title=\"x>@bob\">link</a>"),
            MessageFormat::Html,
        );
        let all = quoted.join("\n");
        assert!(
            !all.contains("@mention"),
            "a `>` inside a quoted value ends no tag: {all}"
        );
        assert!(all.contains("title on <a>"), "{all}");
        let raw = check(
            &html_item("<b>x</b><textarea><iframe></textarea> &#64;bob"),
            MessageFormat::Html,
        )
        .join("\n");
        assert!(raw.contains("<textarea>"), "{raw}");
        assert!(!raw.contains("<iframe>"), "textarea content is text: {raw}");
        assert!(
            raw.contains("@mention"),
            "character references are decoded: {raw}"
        );
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
