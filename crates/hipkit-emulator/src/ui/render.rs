//! How HipChat showed a message: HTML bodies through HipChat's allow-list (ammonia), text
//! bodies with links and @mentions highlighted, cards, shared files, colour, notify, time.

use super::allow::{CARD_TAGS, MESSAGE_TAGS, STYLE_PROPERTIES};
use super::check;
use ammonia::Builder;
use hipchat::{HistoryFrom, HistoryItem, MessageFormat, MessageType, escape_html};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;

/// Lozenge styles of card attributes HipChat drew.
const LOZENGES: &[&str] = &[
    "lozenge",
    "lozenge-success",
    "lozenge-error",
    "lozenge-current",
    "lozenge-complete",
    "lozenge-moved",
];

/// File names shown as an image preview.
const IMAGE_EXTENSIONS: &[&str] = &[".png", ".jpg", ".jpeg", ".gif", ".webp"];

/// The two sanitisers: message bodies and card fields.
pub struct Sanitizer {
    message: Builder<'static>,
    card: Builder<'static>,
}

fn builder(tags: &'static [(&'static str, &'static [&'static str])]) -> Builder<'static> {
    let mut b = Builder::empty();
    b.add_tags(tags.iter().map(|(t, _)| *t));
    for (tag, attrs) in tags {
        b.add_tag_attributes(*tag, attrs.iter().copied());
    }
    b.url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .filter_style_properties(STYLE_PROPERTIES.iter().copied().collect());
    b
}

impl Default for Sanitizer {
    fn default() -> Self {
        Self {
            message: builder(MESSAGE_TAGS),
            card: builder(CARD_TAGS),
        }
    }
}

impl Sanitizer {
    /// A message body in HTML, with only HipChat's tags and attributes left.
    pub fn message_html(&self, html: &str) -> String {
        self.message.clean(html).to_string()
    }

    /// A card field in HTML, with only the card tags left.
    pub fn card_html(&self, html: &str) -> String {
        self.card.clean(html).to_string()
    }
}

/// A message ready for the `message.html` template.
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    /// Message id.
    pub id: String,
    /// Room id, when it is in a room.
    pub room_id: Option<u64>,
    /// ISO-8601 timestamp as stored.
    pub date: String,
    /// `HH:MM:SS` UTC, replaced by local time in the browser.
    pub time: String,
    /// Sender's display name or notification label.
    pub from: String,
    /// `@mention` of a user sender.
    pub mention: Option<String>,
    /// `message`, `notification` ...
    pub kind: &'static str,
    /// `html` or `text`.
    pub format: &'static str,
    /// Colour name (notifications).
    pub color: Option<&'static str>,
    /// Whether the sender asked to notify.
    pub notify: bool,
    /// The body as safe HTML.
    pub body: String,
    /// The card, when there is one.
    pub card: Option<CardView>,
    /// The shared file, when there is one.
    pub file: Option<FileView>,
    /// Id of the message this one is attached to.
    pub attach_to: Option<String>,
    /// What HipChat would have refused or mangled.
    pub checks: Vec<String>,
}

/// A card ready for the template; every URL is http(s) and every HTML field sanitised.
#[derive(Debug, Clone, Serialize)]
pub struct CardView {
    /// `file`, `image`, `application`, `link`, `media`.
    pub style: String,
    /// Title.
    pub title: String,
    /// Link of the title.
    pub url: Option<String>,
    /// Description as safe HTML.
    pub description: Option<String>,
    /// Icon URL.
    pub icon: Option<String>,
    /// Thumbnail URL.
    pub thumbnail: Option<String>,
    /// Activity line as safe HTML.
    pub activity: Option<String>,
    /// Label/value attributes.
    pub attributes: Vec<AttributeView>,
}

/// One card attribute.
#[derive(Debug, Clone, Serialize)]
pub struct AttributeView {
    /// The label.
    pub label: String,
    /// The value's text.
    pub value: String,
    /// The value's link.
    pub url: Option<String>,
    /// Lozenge CSS class (`lozenge-success` ...), when styled.
    pub style: Option<String>,
    /// The value's icon.
    pub icon: Option<String>,
}

/// A shared file.
#[derive(Debug, Clone, Serialize)]
pub struct FileView {
    /// File name.
    pub name: String,
    /// Size, readable (`12.3 KiB`).
    pub size: String,
    /// Download link.
    pub url: String,
    /// Whether it is shown as an image.
    pub image: bool,
}

/// Builds the view of one stored message.
pub fn message_view(s: &Sanitizer, item: &HistoryItem, room_id: Option<u64>) -> MessageView {
    let (from, mention) = match &item.from {
        HistoryFrom::User(u) => (u.name.clone(), Some(u.mention_name.clone())),
        HistoryFrom::Label(l) => (l.clone(), None),
    };
    let format = item.message_format.unwrap_or(match item.kind {
        MessageType::Notification => MessageFormat::Html,
        _ => MessageFormat::Text,
    });
    let body = match format {
        MessageFormat::Html => s.message_html(&item.message),
        MessageFormat::Text => text_html(&item.message),
    };
    MessageView {
        id: item.id.clone(),
        room_id,
        date: item.date.clone(),
        time: clock(&item.date),
        from,
        mention,
        kind: kind_name(item.kind),
        format: format.as_str(),
        color: item.color.map(|c| c.as_str()),
        notify: item.notify.unwrap_or(false),
        body,
        card: item.card.as_ref().map(|c| card_view(s, c)),
        file: item.file.as_ref().map(|f| FileView {
            name: f.name.clone(),
            size: readable_size(f.size),
            url: f.url.clone(),
            image: is_image(&f.name),
        }),
        attach_to: item.attach_to.clone(),
        checks: check::check(item, format),
    }
}

fn kind_name(kind: MessageType) -> &'static str {
    match kind {
        MessageType::Message => "message",
        MessageType::Notification => "notification",
        MessageType::GuestAccess => "guest_access",
        MessageType::Topic => "topic",
    }
}

/// `HH:MM:SS` of an ISO timestamp (as written, i.e. UTC for the emulator).
fn clock(date: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(date)
        .map(|d| d.format("%H:%M:%S").to_string())
        .unwrap_or_else(|_| date.to_owned())
}

fn is_image(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    IMAGE_EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

fn readable_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A text message as HTML: escaped, with http(s) links and @mentions highlighted.
pub fn text_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while !rest.is_empty() {
        let next = next_token(rest);
        let Some((start, end, token)) = next else {
            out.push_str(&escape_html(rest));
            break;
        };
        out.push_str(&escape_html(&rest[..start]));
        let word = &rest[start..end];
        match token {
            Token::Link => {
                let safe = escape_html(word);
                out.push_str(&format!(
                    "<a href=\"{safe}\" rel=\"noopener noreferrer nofollow\">{safe}</a>"
                ));
            }
            Token::Mention => {
                out.push_str(&format!(
                    "<span class=\"mention\">{}</span>",
                    escape_html(word)
                ));
            }
        }
        rest = &rest[end..];
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Link,
    Mention,
}

/// The first link or mention in `text`: byte range and kind.
fn next_token(text: &str) -> Option<(usize, usize, Token)> {
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let boundary = prev.is_none_or(|p| !p.is_alphanumeric() && p != '_');
        prev = Some(c);
        if !boundary {
            continue;
        }
        let tail = &text[i..];
        if c == '@' {
            let len = tail[1..]
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '.' || ch == '-'))
                .unwrap_or(tail.len() - 1);
            let len = tail[1..1 + len].trim_end_matches(['.', '-']).len();
            if len > 0 {
                return Some((i, i + 1 + len, Token::Mention));
            }
        } else if tail.starts_with("http://") || tail.starts_with("https://") {
            let len = tail
                .find(|ch: char| ch.is_whitespace() || matches!(ch, '<' | '>' | '"' | '\''))
                .unwrap_or(tail.len());
            let len = tail[..len]
                .trim_end_matches(['.', ',', ')', '!', '?', ';', ':'])
                .len();
            if len > "https://".len() {
                return Some((i, i + len, Token::Link));
            }
        }
    }
    None
}

/// The value of `key` as a string.
fn text_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// An http(s) URL, or nothing: a card's `javascript:` link must not become a link.
fn web_url(url: Option<&str>) -> Option<String> {
    let url = url?;
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| url.to_owned())
}

fn card_view(s: &Sanitizer, card: &Value) -> CardView {
    let description = match card.get("description") {
        Some(Value::String(text)) => Some(escape_html(text)),
        Some(d @ Value::Object(_)) => {
            let value = text_at(d, "value").unwrap_or_default();
            Some(if text_at(d, "format") == Some("html") {
                s.card_html(value)
            } else {
                escape_html(value)
            })
        }
        _ => None,
    };
    let attributes = card
        .get("attributes")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(attribute_view).collect())
        .unwrap_or_default();
    CardView {
        style: text_at(card, "style").unwrap_or("application").to_owned(),
        title: text_at(card, "title").unwrap_or_default().to_owned(),
        url: web_url(text_at(card, "url")),
        description,
        icon: card.get("icon").and_then(|i| web_url(text_at(i, "url"))),
        thumbnail: card
            .get("thumbnail")
            .and_then(|t| web_url(text_at(t, "url"))),
        activity: card
            .get("activity")
            .and_then(|a| text_at(a, "html"))
            .map(|h| s.card_html(h)),
        attributes,
    }
}

fn attribute_view(attr: &Value) -> AttributeView {
    let value = attr.get("value").cloned().unwrap_or(Value::Null);
    AttributeView {
        label: text_at(attr, "label").unwrap_or_default().to_owned(),
        value: text_at(&value, "label").unwrap_or_default().to_owned(),
        url: web_url(text_at(&value, "url")),
        style: text_at(&value, "style")
            .filter(|st| LOZENGES.contains(st))
            .map(str::to_owned),
        icon: value.get("icon").and_then(|i| web_url(text_at(i, "url"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_keeps_hipchat_tags_and_drops_scripts_and_handlers() {
        let s = Sanitizer::default();
        let out = s.message_html(
            "<b>bold</b><script>alert(1)</script><img src=x onerror=alert(1)>\
             <span style=\"color:red;position:fixed\">r</span><a href=\"javascript:alert(1)\">j</a>",
        );
        assert!(out.contains("<b>bold</b>"), "{out}");
        assert!(!out.contains("script"), "{out}");
        assert!(!out.contains("onerror"), "{out}");
        assert!(!out.contains("position"), "{out}");
        assert!(out.contains("color:red"), "{out}");
        assert!(!out.contains("javascript"), "{out}");
    }

    #[test]
    fn text_links_and_mentions_are_highlighted_and_the_rest_escaped() {
        let out = text_html("hi @bob, see https://example.com/x. <b>no</b> mail a@b");
        assert!(
            out.contains("<span class=\"mention\">@bob</span>,"),
            "{out}"
        );
        assert!(
            out.contains("<a href=\"https://example.com/x\""),
            "trailing dot stays outside: {out}"
        );
        assert!(out.contains("&lt;b&gt;no&lt;/b&gt;"), "{out}");
        assert!(
            !out.contains("\"mention\">@b<"),
            "an email is no mention: {out}"
        );
    }

    #[test]
    fn card_urls_must_be_web_urls() {
        let s = Sanitizer::default();
        let card = serde_json::json!({"style": "link", "title": "T", "url": "javascript:alert(1)",
            "description": {"value": "<i>d</i><img src=x>", "format": "html"},
            "attributes": [{"label": "state", "value": {"label": "ok", "style": "lozenge-success"}},
                           {"label": "x", "value": {"label": "y", "style": "evil"}}]});
        let v = card_view(&s, &card);
        assert_eq!(v.url, None);
        assert_eq!(v.description.as_deref(), Some("<i>d</i>"));
        assert_eq!(v.attributes[0].style.as_deref(), Some("lozenge-success"));
        assert_eq!(v.attributes[1].style, None);
    }
}
