//! Each platform's request bodies, built from the message read once into [`Content`].

use crate::card::CardView;
use crate::markup::{Element, Node, parse_html, parse_text_mass};
use crate::render::{self, Dialect};
use crate::split::{self, split};
use crate::{AuthorLabel, Options, Outgoing, SharedFile, colour};
use hipchat::{Color, MessageFormat, escape_html};
use serde_json::{Map, Value, json};

/// Longest attachment text Slack shows in full (its docs advise keeping `text` under 4,000
/// characters; longer text is cut).
const SLACK_LIMIT: usize = 4_000;
/// Mattermost's post limit (longer webhook text is split by the server, without numbering).
const MATTERMOST_LIMIT: usize = 16_383;
/// Rocket.Chat's default `Message_MaxAllowedSize`.
const ROCKETCHAT_LIMIT: usize = 5_000;
/// Discord's embed `description` limit.
const DISCORD_LIMIT: usize = 4_096;
/// Teams takes about 28 KB per message; the text's share of it, in UTF-8 bytes.
const TEAMS_LIMIT_BYTES: usize = 20_000;
/// Zulip's message length limit.
const ZULIP_LIMIT: usize = 10_000;
/// Matrix events are at most 65,536 bytes with `body` and `formatted_body`; the plain text's
/// share, in UTF-8 bytes, when the message must be split.
const MATRIX_LIMIT_BYTES: usize = 24_000;

/// A message read once: its tree, resolved colour, card and file.
pub(crate) struct Content<'a> {
    pub message: &'a Outgoing<'a>,
    pub options: &'a Options,
    body: Vec<Node>,
    pub colour: Color,
    pub card: Option<CardView>,
    /// Whether the text has HipChat's own `@all` / `@here`.
    hipchat_mass: bool,
}

impl<'a> Content<'a> {
    pub fn new(message: &'a Outgoing<'a>, options: &'a Options) -> Self {
        let n = message.notification;
        let (mut body, hipchat_mass) = match n.message_format.unwrap_or(MessageFormat::Html) {
            MessageFormat::Html => (parse_html(&n.message), false),
            MessageFormat::Text => parse_text_mass(&n.message),
        };
        if let Some(file) = &message.file {
            if !n.message.trim().is_empty() {
                body.push(element("br", Vec::new()));
            }
            body.extend(file_nodes(file));
        }
        Self {
            message,
            options,
            body,
            colour: colour::resolve(n),
            card: n.card.as_ref().map(CardView::new),
            hipchat_mass,
        }
    }

    /// The `from` label, if set and shown at all.
    fn from(&self) -> Option<&str> {
        self.message
            .notification
            .from
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty() && self.options.author != AuthorLabel::Omit)
    }

    /// The label for the platform's own author field (not when it goes in the text).
    fn native_author(&self) -> Option<&str> {
        self.from()
            .filter(|_| self.options.author == AuthorLabel::Native)
    }

    /// Whether the message becomes a mass mention: only where configured, for `notify` or
    /// HipChat's own `@all` / `@here`.
    fn mass_mention(&self) -> bool {
        self.options.mass_mention && (self.message.notification.notify || self.hipchat_mass)
    }

    /// The message tree (or, where the platform has no card of its own, the card's), with the
    /// colour emoji and author prefix the platform needs in front.
    fn tree(&self, emoji: bool, author_in_text: bool, card_as_text: bool) -> Vec<Node> {
        let mut nodes = Vec::new();
        if emoji {
            nodes.push(Node::Literal(format!("{} ", colour::emoji(self.colour))));
        }
        if let Some(from) = self.from().filter(|_| author_in_text) {
            nodes.push(element("b", vec![Node::Literal(from.to_owned())]));
            nodes.push(Node::Literal(": ".to_owned()));
        }
        match (&self.card, card_as_text) {
            (Some(card), true) => nodes.extend(card_nodes(card)),
            _ => nodes.extend(self.body.iter().cloned()),
        }
        nodes
    }

    /// The HipChat mention names in the message, each once, in order.
    fn mentions(&self) -> Vec<&str> {
        let mut out = Vec::new();
        collect_mentions(&self.body, &mut out);
        out
    }

    /// The mentions that map to a platform user, with the platform's reference.
    fn mapped_mentions(&self) -> Vec<(&str, &str)> {
        self.mentions()
            .into_iter()
            .filter_map(|m| self.options.mentions.get(m).map(|id| (m, id.as_str())))
            .collect()
    }

    /// The username / icon overrides, under the platform's key names.
    fn overrides(&self, body: &mut Map<String, Value>, username_key: &str, icon_key: &str) {
        if let Some(u) = &self.options.username {
            body.insert(username_key.to_owned(), json!(u));
        }
        if let Some(i) = &self.options.icon_url {
            body.insert(icon_key.to_owned(), json!(i));
        }
    }
}

fn element(name: &str, children: Vec<Node>) -> Node {
    Node::Element(Element {
        name: name.to_owned(),
        attrs: Vec::new(),
        children,
    })
}

fn link(url: &str, children: Vec<Node>) -> Node {
    Node::Element(Element {
        name: "a".to_owned(),
        attrs: vec![("href".to_owned(), url.to_owned())],
        children,
    })
}

fn collect_mentions<'n>(nodes: &'n [Node], out: &mut Vec<&'n str>) {
    for node in nodes {
        match node {
            Node::Mention(m) if !out.contains(&m.as_str()) => out.push(m),
            Node::Element(e) => collect_mentions(&e.children, out),
            _ => {}
        }
    }
}

/// `1.5 MiB`: a size people read.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `📎 name (size)`, the name linked when the file has a URL.
fn file_nodes(file: &SharedFile<'_>) -> Vec<Node> {
    let name = Node::Literal(file.name.to_owned());
    vec![
        Node::Literal("📎 ".to_owned()),
        match file.url.filter(|u| render::safe_url(u)) {
            Some(url) => link(url, vec![name]),
            None => name,
        },
        Node::Literal(format!(" ({})", human_size(file.size))),
    ]
}

/// A card as text: the title (linked), the description, the attributes as a list, the
/// thumbnail as a link.
fn card_nodes(card: &CardView) -> Vec<Node> {
    let title = vec![Node::Literal(card.title.clone())];
    let mut out = vec![element(
        "p",
        vec![element(
            "b",
            vec![match &card.url {
                Some(url) => link(url, title),
                None => element("span", title),
            }],
        )],
    )];
    if !card.description.is_empty() {
        out.push(element("div", card.description.clone()));
    }
    if !card.fields.is_empty() {
        out.push(element(
            "ul",
            card.fields
                .iter()
                .map(|f| element("li", field_nodes(f)))
                .collect(),
        ));
    }
    if let Some(thumb) = &card.thumbnail {
        out.push(element(
            "p",
            vec![link(thumb, vec![Node::Literal("thumbnail".to_owned())])],
        ));
    }
    out
}

/// `label: value`, the value linked when it has a URL.
fn field_nodes(field: &crate::card::Field) -> Vec<Node> {
    let mut out = Vec::new();
    if !field.label.is_empty() {
        out.push(element("b", vec![Node::Literal(field.label.clone())]));
        out.push(Node::Literal(": ".to_owned()));
    }
    out.push(field_value(field));
    out
}

fn field_value(field: &crate::card::Field) -> Node {
    let value = Node::Literal(field.value.clone());
    match &field.url {
        Some(url) => link(url, vec![value]),
        None => element("span", vec![value]),
    }
}

/// How one of the Slack-style attachment platforms (Slack, Mattermost, Rocket.Chat) differs.
struct AttachmentStyle<'m> {
    dialect: Dialect,
    limit: usize,
    colour: fn(Color) -> &'static str,
    mention: &'m dyn Fn(&str) -> String,
    /// What goes in the top-level text to reach people: mass mention and mentions.
    pings: Vec<String>,
    username_key: &'static str,
    icon_key: &'static str,
    /// Whether a `text`-format body is shown literally by leaving it out of `mrkdwn_in` (Slack,
    /// whose mrkdwn has no escape for `*`, `_` or `~`; links and mentions still work).
    literal_text_format: bool,
}

/// The message in a coloured attachment (the colour bar is how these platforms show colour),
/// the pings in the top-level text (mentions inside attachments notify nobody).
fn attachment_bodies(c: &Content<'_>, style: &AttachmentStyle<'_>) -> Vec<Value> {
    let author_in_text = c.options.author == AuthorLabel::Prefix;
    let text = render::render(
        &c.tree(false, author_in_text, false),
        &style.dialect,
        style.mention,
    );
    let colour = (style.colour)(c.colour);
    let literal = style.literal_text_format
        && c.message.notification.message_format == Some(MessageFormat::Text)
        && !author_in_text;
    let mrkdwn_in: Vec<&str> = if literal { Vec::new() } else { vec!["text"] };
    let attachments: Vec<Value> = match &c.card {
        Some(card) => vec![card_attachment(c, card, style, &text, colour)],
        None => split(&text, style.limit, split::chars)
            .into_iter()
            .map(|part| {
                let mut a = json!({
                    "color": colour,
                    "fallback": part,
                    "text": part,
                    "mrkdwn_in": mrkdwn_in,
                });
                if let Some(from) = c.native_author() {
                    a["author_name"] = json!(from);
                }
                a
            })
            .collect(),
    };
    attachments
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let mut body = Map::new();
            if i == 0 && !style.pings.is_empty() {
                body.insert("text".to_owned(), json!(style.pings.join(" ")));
            }
            c.overrides(&mut body, style.username_key, style.icon_key);
            body.insert("attachments".to_owned(), json!([a]));
            Value::Object(body)
        })
        .collect()
}

fn card_attachment(
    c: &Content<'_>,
    card: &CardView,
    style: &AttachmentStyle<'_>,
    fallback: &str,
    colour: &str,
) -> Value {
    let mut a = json!({
        "color": colour,
        "fallback": fallback,
        "title": card.title,
        "mrkdwn_in": ["text", "fields"],
    });
    if let Some(from) = c.native_author() {
        a["author_name"] = json!(from);
    }
    if let Some(url) = &card.url {
        a["title_link"] = json!(url);
    }
    if !card.description.is_empty() {
        a["text"] = json!(render::render(
            &card.description,
            &style.dialect,
            style.mention
        ));
    }
    if !card.fields.is_empty() {
        a["fields"] = card
            .fields
            .iter()
            .map(|f| {
                json!({
                    "title": f.label,
                    "value": render::render(&[field_value(f)], &style.dialect, style.mention),
                    "short": true,
                })
            })
            .collect();
    }
    if let Some(thumb) = &card.thumbnail {
        a["thumb_url"] = json!(thumb);
    }
    a
}

/// Slack incoming webhook bodies.
pub(crate) fn slack(c: &Content<'_>) -> Vec<Value> {
    let mention = |m: &str| match c.options.mentions.get(m) {
        Some(id) => format!("<@{id}>"),
        None => format!("@{m}"),
    };
    let mut pings: Vec<String> = c
        .mass_mention()
        .then(|| "<!here>".to_owned())
        .into_iter()
        .collect();
    pings.extend(
        c.mapped_mentions()
            .into_iter()
            .map(|(_, id)| format!("<@{id}>")),
    );
    attachment_bodies(
        c,
        &AttachmentStyle {
            dialect: render::SLACK,
            limit: SLACK_LIMIT,
            colour: colour::slack,
            mention: &mention,
            pings,
            username_key: "username",
            icon_key: "icon_url",
            literal_text_format: true,
        },
    )
}

/// `@name` mentions for the platforms where a username is a mention (Mattermost,
/// Rocket.Chat): mapped names become the mapped username, others stay as they are.
fn username_mentions(c: &Content<'_>) -> (impl Fn(&str) -> String, Vec<String>) {
    let mentions = c.options.mentions.clone();
    let mut pings: Vec<String> = c
        .mass_mention()
        .then(|| "@here".to_owned())
        .into_iter()
        .collect();
    pings.extend(
        c.mentions()
            .into_iter()
            .map(|m| format!("@{}", mentions.get(m).map_or(m, String::as_str))),
    );
    let mention = move |m: &str| format!("@{}", mentions.get(m).map_or(m, String::as_str));
    (mention, pings)
}

/// Mattermost incoming webhook bodies; a card also goes to `props.card` (the side panel).
pub(crate) fn mattermost(c: &Content<'_>) -> Vec<Value> {
    let (mention, pings) = username_mentions(c);
    let mut bodies = attachment_bodies(
        c,
        &AttachmentStyle {
            dialect: render::MARKDOWN,
            limit: MATTERMOST_LIMIT,
            colour: colour::hex,
            mention: &mention,
            pings,
            username_key: "username",
            icon_key: "icon_url",
            literal_text_format: false,
        },
    );
    if let (Some(card), Some(first)) = (&c.card, bodies.first_mut()) {
        first["props"] =
            json!({ "card": render::render(&card_nodes(card), &render::MARKDOWN, &mention) });
    }
    bodies
}

/// Rocket.Chat incoming webhook bodies (`alias` and `avatar` for the overrides, hex colours).
pub(crate) fn rocketchat(c: &Content<'_>) -> Vec<Value> {
    let (mention, pings) = username_mentions(c);
    attachment_bodies(
        c,
        &AttachmentStyle {
            dialect: render::ROCKETCHAT,
            limit: ROCKETCHAT_LIMIT,
            colour: colour::hex,
            mention: &mention,
            pings,
            username_key: "alias",
            icon_key: "avatar",
            literal_text_format: false,
        },
    )
}

/// Discord webhook bodies: the message in a coloured embed, pings in `content`, and
/// `allowed_mentions` so that only those ping.
pub(crate) fn discord(c: &Content<'_>) -> Vec<Value> {
    let mention = |m: &str| match c.options.mentions.get(m) {
        Some(id) => format!("<@{id}>"),
        None => format!("@{m}"),
    };
    let mapped = c.mapped_mentions();
    let mut pings: Vec<String> = c
        .mass_mention()
        .then(|| "@here".to_owned())
        .into_iter()
        .collect();
    pings.extend(mapped.iter().map(|(_, id)| format!("<@{id}>")));
    let allowed = json!({
        "parse": if c.mass_mention() { json!(["everyone"]) } else { json!([]) },
        "users": mapped.iter().map(|(_, id)| *id).collect::<Vec<_>>(),
    });
    let author_in_text = c.options.author == AuthorLabel::Prefix;
    let colour = colour::integer(c.colour);
    let embeds: Vec<Value> = match &c.card {
        Some(card) => {
            let mut e = json!({ "title": card.title, "color": colour });
            if let Some(url) = &card.url {
                e["url"] = json!(url);
            }
            let mut description = render::render(
                &c.tree(false, author_in_text, false),
                &render::DISCORD,
                &mention,
            );
            if !card.description.is_empty() {
                description = render::render(&card.description, &render::DISCORD, &mention);
            }
            e["description"] = json!(description);
            if !card.fields.is_empty() {
                e["fields"] = card
                    .fields
                    .iter()
                    .take(25)
                    .map(|f| {
                        json!({
                            "name": if f.label.is_empty() { "\u{200b}" } else { f.label.as_str() },
                            "value": render::render(&[field_value(f)], &render::DISCORD, &mention),
                            "inline": true,
                        })
                    })
                    .collect();
            }
            if let Some(thumb) = &card.thumbnail {
                e["thumbnail"] = json!({ "url": thumb });
            }
            vec![e]
        }
        None => {
            let text = render::render(
                &c.tree(false, author_in_text, false),
                &render::DISCORD,
                &mention,
            );
            split(&text, DISCORD_LIMIT, split::chars)
                .into_iter()
                .map(|part| json!({ "description": part, "color": colour }))
                .collect()
        }
    };
    embeds
        .into_iter()
        .enumerate()
        .map(|(i, mut embed)| {
            if let Some(from) = c.native_author() {
                embed["author"] = json!({ "name": from });
            }
            let mut body = Map::new();
            if i == 0 && !pings.is_empty() {
                body.insert("content".to_owned(), json!(pings.join(" ")));
            }
            c.overrides(&mut body, "username", "avatar_url");
            body.insert("embeds".to_owned(), json!([embed]));
            body.insert("allowed_mentions".to_owned(), allowed.clone());
            Value::Object(body)
        })
        .collect()
}

/// Teams Workflows webhook bodies: an Adaptive Card per part, in a container styled with the
/// colour; mapped mentions as `<at>` entities.
pub(crate) fn teams(c: &Content<'_>) -> Vec<Value> {
    let mapped = c.mapped_mentions();
    let mention = |m: &str| {
        if c.options.mentions.contains_key(m) {
            format!("<at>{m}</at>")
        } else {
            format!("@{m}")
        }
    };
    let entities: Vec<Value> = mapped
        .iter()
        .map(|(name, id)| {
            json!({
                "type": "mention",
                "text": format!("<at>{name}</at>"),
                "mentioned": { "id": id, "name": name },
            })
        })
        .collect();
    let author_in_text = c.options.author == AuthorLabel::Prefix;
    let header = c
        .native_author()
        .map(|from| json!({ "type": "TextBlock", "text": from, "weight": "Bolder", "wrap": true }));
    let mut cards: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    match &c.card {
        Some(card) => {
            let mut items = vec![json!({
                "type": "TextBlock", "text": card.title, "size": "Medium", "weight": "Bolder", "wrap": true,
            })];
            if !card.description.is_empty() {
                items.push(json!({
                    "type": "TextBlock",
                    "text": teams_text(&card.description, &mention),
                    "wrap": true,
                }));
            }
            if !card.fields.is_empty() {
                items.push(json!({
                    "type": "FactSet",
                    "facts": card.fields.iter().map(|f| json!({
                        "title": f.label,
                        "value": render::render(&[field_value(f)], &render::TEAMS, &mention),
                    })).collect::<Vec<_>>(),
                }));
            }
            if let Some(thumb) = &card.thumbnail {
                items.push(json!({ "type": "Image", "url": thumb, "size": "Small" }));
            }
            let actions = card
                .url
                .iter()
                .map(|url| json!({ "type": "Action.OpenUrl", "title": "Open", "url": url }))
                .collect();
            cards.push((items, actions));
        }
        None => {
            let text = teams_text(&c.tree(false, author_in_text, false), &mention);
            for part in split(&text, TEAMS_LIMIT_BYTES, split::bytes) {
                cards.push((
                    vec![json!({ "type": "TextBlock", "text": part, "wrap": true })],
                    Vec::new(),
                ));
            }
        }
    }
    cards
        .into_iter()
        .map(|(items, actions)| {
            let mut content = json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{
                    "type": "Container",
                    "style": colour::teams_style(c.colour),
                    "items": header.iter().cloned().chain(items).collect::<Vec<_>>(),
                }],
                "msteams": { "width": "Full" },
            });
            if !actions.is_empty() {
                content["actions"] = Value::Array(actions);
            }
            if !entities.is_empty() {
                content["msteams"]["entities"] = Value::Array(entities.clone());
            }
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": content,
                }],
            })
        })
        .collect()
}

/// `nodes` as Adaptive Card text, where a single `\n` is a space and only an empty line
/// breaks the line (except between list items): every other line break doubled.
fn teams_text(nodes: &[Node], mention: &dyn Fn(&str) -> String) -> String {
    let text = render::render(nodes, &render::TEAMS, mention);
    let is_item = |line: &str| {
        let line = line.trim_start();
        line.starts_with("- ")
            || line
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len() + lines.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            if !(is_item(lines[i - 1]) && is_item(line)) {
                out.push('\n');
            }
        }
        out.push_str(line);
    }
    out
}

/// Zulip message bodies (`type` and `content`; the courier adds `to` and `topic`): the colour
/// as an emoji, `from` in bold, a card as Markdown.
pub(crate) fn zulip(c: &Content<'_>) -> Vec<Value> {
    let mention = |m: &str| match c.options.mentions.get(m) {
        Some(name) => format!("@**{name}**"),
        None => format!("@{m}"),
    };
    let everyone = if c.mass_mention() { "@**all** " } else { "" };
    let text = format!(
        "{everyone}{}",
        render::render(&c.tree(true, true, true), &render::ZULIP, &mention)
    );
    split(&text, ZULIP_LIMIT, split::chars)
        .into_iter()
        .map(|part| json!({ "type": "stream", "content": part }))
        .collect()
}

/// Matrix `m.room.message` contents: `m.text` when HipChat would notify (`notify`, or a mapped
/// mention: Matrix's default push rules silence every `m.notice`, mentions included), `m.notice`
/// otherwise; HTML and plain text; intentional mentions (`m.mentions`) for mapped users.
pub(crate) fn matrix(c: &Content<'_>) -> Vec<Value> {
    let mapped = c.mapped_mentions();
    let html_mention = |m: &str| match c.options.mentions.get(m) {
        Some(id) => format!(
            "<a href=\"https://matrix.to/#/{}\">@{}</a>",
            escape_html(id),
            escape_html(m)
        ),
        None => format!("@{}", escape_html(m)),
    };
    let plain_mention = |m: &str| format!("@{m}");
    let tree = c.tree(true, true, true);
    let room = if c.mass_mention() { "@room " } else { "" };
    let body = format!(
        "{room}{}",
        render::render(&tree, &render::PLAIN, &plain_mention)
    );
    let html = format!("{room}{}", render::matrix_html(&tree, &html_mention));
    let msgtype = if c.message.notification.notify || !mapped.is_empty() || c.mass_mention() {
        "m.text"
    } else {
        "m.notice"
    };
    let mut mentions = json!({});
    if !mapped.is_empty() {
        mentions["user_ids"] = mapped.iter().map(|(_, id)| json!(id)).collect();
    }
    if c.mass_mention() {
        mentions["room"] = json!(true);
    }
    let content = |body: &str, html: &str| {
        json!({
            "msgtype": msgtype,
            "body": body,
            "format": "org.matrix.custom.html",
            "formatted_body": html,
            "m.mentions": mentions,
        })
    };
    if body.len() + html.len() <= MATRIX_LIMIT_BYTES * 2 {
        return vec![content(&body, &html)];
    }
    // Too long for one event: the plain text in parts, each shown as escaped HTML lines.
    split(&body, MATRIX_LIMIT_BYTES, split::bytes)
        .into_iter()
        .map(|part| content(&part, &escape_html(&part).replace('\n', "<br>")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_lines_break_at_empty_lines_but_list_items_stay_together() {
        let tree = crate::markup::parse_html("one<br>two<ul><li>a</li><li>b</li></ul>end");
        assert_eq!(
            teams_text(&tree, &|m| m.to_owned()),
            "one\n\ntwo\n\n- a\n- b\n\nend"
        );
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
    }
}
