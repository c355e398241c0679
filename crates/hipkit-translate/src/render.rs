//! The message tree written as a platform's markup: Slack mrkdwn, the Markdown dialects, plain
//! text, and the HTML subset Matrix clients show.

use crate::markup::{Element, Node};
use hipchat::escape_html;

/// How links are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// `<url|label>`.
    Slack,
    /// `[label](url)`, a bare URL as `<url>`.
    Markdown,
    /// `[label](url)`, a bare URL as it is (Zulip links bare URLs and shows `<url>`'s brackets).
    MarkdownBareUrls,
    /// `label (url)`.
    Plain,
}

/// What in text must be escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    /// `&`, `<`, `>` as entities (Slack mrkdwn).
    SlackEntities,
    /// These characters, and block markers at a line start, behind a backslash (Markdown).
    Backslash(&'static str),
    /// These characters, `&`, and block markers at a line start as numeric character
    /// references (Zulip: its Markdown has no backslash escapes but passes entities through).
    Entities(&'static str),
    /// Nothing (plain text).
    Nothing,
}

/// One target markup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    pub bold: &'static str,
    pub italic: &'static str,
    /// Empty where the markup has no strike-through.
    pub strike: &'static str,
    /// Whether code spans and fenced blocks exist.
    pub code: bool,
    pub links: Links,
    pub escape: Escape,
    pub bullet: &'static str,
    /// Whether GitHub-style pipe tables render.
    pub tables: bool,
}

/// Slack mrkdwn.
pub(crate) const SLACK: Dialect = Dialect {
    bold: "*",
    italic: "_",
    strike: "~",
    code: true,
    links: Links::Slack,
    escape: Escape::SlackEntities,
    bullet: "• ",
    tables: false,
};

/// CommonMark as Mattermost and Zulip render it (GitHub tables included).
pub(crate) const MARKDOWN: Dialect = Dialect {
    bold: "**",
    italic: "_",
    strike: "~~",
    code: true,
    links: Links::Markdown,
    escape: Escape::Backslash("\\*_`~[]<>|"),
    bullet: "- ",
    tables: true,
};

/// Zulip's Markdown: `*italic*` (underscores never emphasise), `~~strike~~`, `$$TeX$$`, no
/// backslash escapes.
pub(crate) const ZULIP: Dialect = Dialect {
    italic: "*",
    links: Links::MarkdownBareUrls,
    escape: Escape::Entities("*`~[]$|"),
    ..MARKDOWN
};

/// Rocket.Chat: `**bold**`, `_italic_` and `~~strike~~`, which both its message parser (which
/// also takes `*bold*`) and the Markdown renderer of attachment text read alike; bare URLs as
/// they are (the message parser shows `<url>`'s brackets); no tables.
pub(crate) const ROCKETCHAT: Dialect = Dialect {
    links: Links::MarkdownBareUrls,
    tables: false,
    ..MARKDOWN
};

/// Discord's Markdown: no tables; `|` escaped (spoilers).
pub(crate) const DISCORD: Dialect = Dialect {
    tables: false,
    ..MARKDOWN
};

/// The Markdown subset of Adaptive Card `TextBlock`s: bold, italic, lists, links.
pub(crate) const TEAMS: Dialect = Dialect {
    strike: "",
    code: false,
    escape: Escape::Backslash("\\*_[]"),
    tables: false,
    ..MARKDOWN
};

/// Plain text.
pub(crate) const PLAIN: Dialect = Dialect {
    bold: "",
    italic: "",
    strike: "",
    code: false,
    links: Links::Plain,
    escape: Escape::Nothing,
    bullet: "- ",
    tables: false,
};

/// Whether a link target may be kept (no `javascript:` and the like).
pub(crate) fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s))
}

/// Writes `nodes` in `dialect`; `mention` writes a HipChat `@mention` for the target.
pub(crate) fn render(
    nodes: &[Node],
    dialect: &Dialect,
    mention: &dyn Fn(&str) -> String,
) -> String {
    let mut w = Writer::new(dialect, mention);
    w.nodes(nodes);
    w.finish()
}

/// The text of `nodes` without markup (line breaks kept as `\n`).
pub(crate) fn raw_text(nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) | Node::Literal(t) => out.push_str(t),
            Node::Mention(m) => {
                out.push('@');
                out.push_str(m);
            }
            Node::Element(e) if e.name == "br" => out.push('\n'),
            Node::Element(e) => raw_text(&e.children, out),
        }
    }
}

struct Writer<'d> {
    d: &'d Dialect,
    mention: &'d dyn Fn(&str) -> String,
    out: String,
    pending_space: bool,
    /// Whether white space came before the first text written.
    lead_space: bool,
    /// Open lists: `None` for bullets, `Some(next number)` for ordered lists.
    lists: Vec<Option<u64>>,
    /// Whether this writes a piece inside a line (a link label, emphasis, a cell): its start is
    /// no line start, so block markers there need no escaping.
    nested: bool,
}

impl<'d> Writer<'d> {
    fn new(d: &'d Dialect, mention: &'d dyn Fn(&str) -> String) -> Self {
        Self {
            d,
            mention,
            out: String::new(),
            pending_space: false,
            lead_space: false,
            lists: Vec::new(),
            nested: false,
        }
    }

    fn finish(self) -> String {
        self.out.trim_end().trim_start_matches('\n').to_owned()
    }

    /// `nodes` written on their own, inline (for a link label, emphasis, a table cell).
    fn inline(&self, nodes: &[Node]) -> String {
        self.inline_edges(nodes).1
    }

    /// `nodes` written inline, with whether white space came before and after them.
    fn inline_edges(&self, nodes: &[Node]) -> (bool, String, bool) {
        let mut w = Writer::new(self.d, self.mention);
        w.nested = true;
        w.nodes(nodes);
        let lead = w.lead_space || (w.out.is_empty() && w.pending_space);
        (lead, w.out, w.pending_space)
    }

    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    /// Where a block marker (`#`, `>`, `-`, `+`) would start a heading, quote or list.
    fn block_start(&self) -> bool {
        self.at_line_start() && !(self.nested && self.out.is_empty())
    }

    fn flush_space(&mut self) {
        if self.pending_space && self.out.is_empty() {
            self.lead_space = true;
        }
        if self.pending_space && !self.at_line_start() && !self.out.ends_with(' ') {
            self.out.push(' ');
        }
        self.pending_space = false;
    }

    fn push_escaped(&mut self, c: char) {
        match self.d.escape {
            Escape::SlackEntities => match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                c => self.out.push(c),
            },
            Escape::Backslash(set) => {
                if set.contains(c) || (self.block_start() && matches!(c, '#' | '>' | '-' | '+')) {
                    self.out.push('\\');
                }
                self.out.push(c);
            }
            Escape::Entities(set) => {
                if c == '&'
                    || set.contains(c)
                    || (self.block_start() && matches!(c, '#' | '>' | '-' | '+'))
                {
                    self.out.push_str(&format!("&#{};", u32::from(c)));
                } else {
                    self.out.push(c);
                }
            }
            Escape::Nothing => self.out.push(c),
        }
    }

    fn push_text(&mut self, text: &str) {
        for c in text.chars() {
            self.push_escaped(c);
        }
    }

    fn line_break(&mut self) {
        self.pending_space = false;
        self.out.push('\n');
    }

    fn block_break(&mut self) {
        self.pending_space = false;
        let kept = self.out.trim_end_matches(' ').len();
        self.out.truncate(kept);
        if !self.at_line_start() {
            self.out.push('\n');
        }
    }

    fn nodes(&mut self, nodes: &[Node]) {
        for node in nodes {
            self.node(node);
        }
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Text(text) => {
                for c in text.chars() {
                    if c.is_whitespace() {
                        self.pending_space = true;
                    } else {
                        self.flush_space();
                        self.push_escaped(c);
                    }
                }
            }
            Node::Literal(text) => {
                self.flush_space();
                self.push_text(text);
            }
            Node::Mention(name) => {
                self.flush_space();
                let written = (self.mention)(name);
                self.out.push_str(&written);
            }
            Node::Element(e) => self.element(e),
        }
    }

    fn element(&mut self, e: &Element) {
        match e.name.as_str() {
            "br" => self.line_break(),
            "b" | "strong" => self.wrap(self.d.bold, &e.children),
            "i" | "em" => self.wrap(self.d.italic, &e.children),
            "s" | "strike" | "del" => self.wrap(self.d.strike, &e.children),
            "code" => self.code_span(&e.children),
            "pre" => self.code_block(&e.children),
            "a" => {
                let label = self.inline(&e.children);
                self.link(e.attr("href"), &label, &e.children);
            }
            "img" => {
                let alt = e
                    .attr("alt")
                    .filter(|a| !a.trim().is_empty())
                    .unwrap_or("image");
                let label = self.inline(&[Node::Text(alt.to_owned())]);
                self.link(e.attr("src"), &label, &[Node::Text(alt.to_owned())]);
            }
            "ul" | "ol" => self.list(e),
            "li" => self.item(e),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.block_break();
                self.wrap(self.d.bold, &e.children);
                self.block_break();
            }
            "p" | "div" | "blockquote" | "section" | "article" | "header" | "footer" | "hr" => {
                self.block_break();
                self.nodes(&e.children);
                self.block_break();
            }
            "table" => self.table(e),
            _ => self.nodes(&e.children),
        }
    }

    /// Emphasis around `children`, with the white space at its edges moved outside the markers
    /// (Markdown does not read `** x**` as bold).
    fn wrap(&mut self, marker: &str, children: &[Node]) {
        let (lead, inner, trail) = self.inline_edges(children);
        let trimmed = inner.trim();
        if lead || inner.starts_with(char::is_whitespace) {
            self.pending_space = true;
        }
        self.flush_space();
        if marker.is_empty() || trimmed.is_empty() {
            self.out.push_str(trimmed);
        } else {
            self.out.push_str(marker);
            self.out.push_str(trimmed);
            self.out.push_str(marker);
        }
        if trail || inner.ends_with(char::is_whitespace) {
            self.pending_space = true;
        }
    }

    fn code_span(&mut self, children: &[Node]) {
        let mut text = String::new();
        raw_text(children, &mut text);
        let text = text.replace('\n', " ");
        self.flush_space();
        if !self.d.code {
            self.push_text(&text);
            return;
        }
        let fence = if text.contains('`') { "``" } else { "`" };
        let pad = if text.starts_with('`') || text.ends_with('`') {
            " "
        } else {
            ""
        };
        self.out.push_str(fence);
        self.out.push_str(pad);
        self.push_code(&text);
        self.out.push_str(pad);
        self.out.push_str(fence);
    }

    /// Code text: only Slack's entities are escaped (code is literal in Markdown).
    fn push_code(&mut self, text: &str) {
        if self.d.escape == Escape::SlackEntities {
            self.push_text(text);
        } else {
            self.out.push_str(text);
        }
    }

    fn code_block(&mut self, children: &[Node]) {
        let mut text = String::new();
        raw_text(children, &mut text);
        let text = text.trim_matches('\n');
        self.block_break();
        if self.d.code {
            self.out.push_str("```\n");
            self.push_code(text);
            self.out.push_str("\n```");
        } else {
            for (i, line) in text.lines().enumerate() {
                if i > 0 {
                    self.out.push('\n');
                }
                self.push_text(line);
            }
        }
        self.block_break();
    }

    fn link(&mut self, href: Option<&str>, label: &str, children: &[Node]) {
        let mut plain_label = String::new();
        raw_text(children, &mut plain_label);
        let href = href.map(str::trim).filter(|h| safe_url(h));
        let label = label.trim();
        self.flush_space();
        let Some(href) = href else {
            self.out.push_str(label);
            return;
        };
        let bare = label.is_empty() || plain_label.trim() == href;
        match self.d.links {
            Links::Slack => {
                self.out.push('<');
                self.out.push_str(&slack_url(href));
                if !bare {
                    self.out.push('|');
                    self.out.push_str(label);
                }
                self.out.push('>');
            }
            Links::Markdown if bare => {
                self.out.push('<');
                self.out.push_str(&markdown_url(href));
                self.out.push('>');
            }
            Links::MarkdownBareUrls if bare => self.out.push_str(&markdown_url(href)),
            Links::Markdown | Links::MarkdownBareUrls => {
                self.out.push('[');
                self.out.push_str(label);
                self.out.push_str("](");
                self.out.push_str(&markdown_url(href));
                self.out.push(')');
            }
            Links::Plain if bare => self.out.push_str(href),
            Links::Plain => {
                self.out.push_str(label);
                self.out.push_str(" (");
                self.out.push_str(href);
                self.out.push(')');
            }
        }
    }

    fn list(&mut self, e: &Element) {
        self.block_break();
        let start = e
            .attr("start")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(1);
        self.lists.push((e.name == "ol").then_some(start));
        for child in &e.children {
            match child {
                Node::Element(li) if li.name == "li" => self.item(li),
                Node::Text(t) if t.trim().is_empty() => {}
                other => self.node(other),
            }
        }
        self.lists.pop();
        self.block_break();
    }

    fn item(&mut self, li: &Element) {
        self.block_break();
        let depth = self.lists.len().max(1);
        for _ in 1..depth {
            self.out.push_str("   ");
        }
        match self.lists.last_mut() {
            Some(Some(n)) => {
                let marker = format!("{n}. ");
                *n += 1;
                self.out.push_str(&marker);
            }
            _ => self.out.push_str(self.d.bullet),
        }
        self.nodes(&li.children);
        self.block_break();
    }

    fn table(&mut self, table: &Element) {
        let mut rows = Vec::new();
        collect_rows(table, &mut rows);
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                row.children
                    .iter()
                    .filter_map(|c| match c {
                        Node::Element(cell) if cell.name == "td" || cell.name == "th" => {
                            let text = self.inline(&cell.children);
                            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                            Some(text)
                        }
                        _ => None,
                    })
                    .collect()
            })
            .filter(|r: &Vec<String>| !r.is_empty())
            .collect();
        self.block_break();
        let width = cells.iter().map(Vec::len).max().unwrap_or(0);
        for (i, row) in cells.iter().enumerate() {
            if self.d.tables {
                let mut padded = row.clone();
                padded.resize(width, String::new());
                self.out.push_str("| ");
                self.out.push_str(&padded.join(" | "));
                self.out.push_str(" |\n");
                if i == 0 {
                    self.out.push_str(&format!("|{}\n", " --- |".repeat(width)));
                }
            } else {
                self.out.push_str(&row.join(" | "));
                self.out.push('\n');
            }
        }
        self.block_break();
    }
}

fn collect_rows<'e>(e: &'e Element, rows: &mut Vec<&'e Element>) {
    for child in &e.children {
        if let Node::Element(c) = child {
            if c.name == "tr" {
                rows.push(c);
            } else if matches!(c.name.as_str(), "thead" | "tbody" | "tfoot") {
                collect_rows(c, rows);
            }
        }
    }
}

/// A URL safe inside Slack's `<url|label>`.
fn slack_url(url: &str) -> String {
    percent_encode(url, " <>|").replace('&', "&amp;")
}

/// A URL safe inside Markdown's `(...)` or `<...>`.
fn markdown_url(url: &str) -> String {
    percent_encode(url, " ()<>")
}

/// `url` with each character of `set` (all ASCII) percent-encoded.
fn percent_encode(url: &str, set: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if set.contains(c) {
            out.push_str(&format!("%{:02X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Tags kept in Matrix's `formatted_body` (the client-server spec's suggested subset) with the
/// attributes kept on them.
const MATRIX_TAGS: &[(&str, &[&str])] = &[
    ("a", &["href"]),
    ("b", &[]),
    ("strong", &[]),
    ("i", &[]),
    ("em", &[]),
    ("u", &[]),
    ("s", &[]),
    ("del", &[]),
    ("strike", &[]),
    ("code", &[]),
    ("pre", &[]),
    ("br", &[]),
    ("p", &[]),
    ("div", &[]),
    ("blockquote", &[]),
    ("ul", &[]),
    ("ol", &["start"]),
    ("li", &[]),
    ("table", &[]),
    ("thead", &[]),
    ("tbody", &[]),
    ("tr", &[]),
    ("th", &["colspan", "rowspan"]),
    ("td", &["colspan", "rowspan"]),
    ("h1", &[]),
    ("h2", &[]),
    ("h3", &[]),
    ("h4", &[]),
    ("h5", &[]),
    ("h6", &[]),
    ("hr", &[]),
];

/// `nodes` as the HTML Matrix clients show: Matrix's tag subset, images as links (Matrix
/// images must be `mxc://` uploads), unsafe links as their text.
pub(crate) fn matrix_html(nodes: &[Node], mention: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    write_html(nodes, mention, &mut out);
    out.trim().to_owned()
}

fn write_html(nodes: &[Node], mention: &dyn Fn(&str) -> String, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) | Node::Literal(t) => out.push_str(&escape_html(t)),
            Node::Mention(m) => out.push_str(&mention(m)),
            Node::Element(e) if e.name == "img" => {
                let alt = e
                    .attr("alt")
                    .filter(|a| !a.trim().is_empty())
                    .unwrap_or("image");
                match e.attr("src").filter(|s| safe_url(s)) {
                    Some(src) => out.push_str(&format!(
                        "<a href=\"{}\">{}</a>",
                        escape_html(src),
                        escape_html(alt)
                    )),
                    None => out.push_str(&escape_html(alt)),
                }
            }
            Node::Element(e) => {
                let Some((_, attrs)) = MATRIX_TAGS.iter().find(|(t, _)| *t == e.name) else {
                    write_html(&e.children, mention, out);
                    continue;
                };
                if e.name == "a" && !e.attr("href").is_some_and(safe_url) {
                    write_html(&e.children, mention, out);
                    continue;
                }
                out.push('<');
                out.push_str(&e.name);
                for (name, value) in &e.attrs {
                    if attrs.contains(&name.as_str()) {
                        out.push_str(&format!(" {name}=\"{}\"", escape_html(value)));
                    }
                }
                out.push('>');
                if matches!(e.name.as_str(), "br" | "hr") {
                    continue;
                }
                write_html(&e.children, mention, out);
                out.push_str(&format!("</{}>", e.name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::parse_html;

    fn md(html: &str, d: &Dialect) -> String {
        render(&parse_html(html), d, &|m| format!("@{m}"))
    }

    #[test]
    fn emphasis_keeps_spaces_outside_markers() {
        assert_eq!(md("a<b> bold </b>b", &MARKDOWN), "a **bold** b");
        assert_eq!(md("<i>x</i> &amp; <s>y</s>", &SLACK), "_x_ &amp; ~y~");
    }

    #[test]
    fn links_lists_code_and_tables() {
        let html = "<a href=\"https://x.test/a b\">the <b>x</b></a><ol><li>one</li><li>two<ul><li>sub</li></ul></li></ol><pre>a < b\n  c</pre><table><tr><th>k</th><th>v</th></tr><tr><td>1</td><td>a|b</td></tr></table>";
        assert_eq!(
            md(html, &MARKDOWN),
            "[the **x**](https://x.test/a%20b)\n1. one\n2. two\n   - sub\n```\na < b\n  c\n```\n| k | v |\n| --- | --- |\n| 1 | a\\|b |"
        );
        assert_eq!(
            md(html, &SLACK),
            "<https://x.test/a%20b|the *x*>\n1. one\n2. two\n   • sub\n```\na &lt; b\n  c\n```\nk | v\n1 | a|b"
        );
        assert_eq!(md("<a href=\"javascript:x()\">x</a>", &MARKDOWN), "x");
    }

    #[test]
    fn markdown_text_is_escaped_and_html_is_filtered() {
        assert_eq!(md("# *not* [a](b)", &MARKDOWN), "\\# \\*not\\* \\[a\\](b)");
        assert_eq!(
            md(
                "# *not* [a](b) &amp; snake_case <i>it</i> <a href=\"https://x.test\">https://x.test</a>",
                &ZULIP
            ),
            "&#35; &#42;not&#42; &#91;a&#93;(b) &#38; snake_case *it* https://x.test"
        );
        assert_eq!(
            matrix_html(
                &parse_html("<b onclick=x>b</b><span>s</span><img src=\"https://i.test/p.png\">"),
                &|m| m.to_owned()
            ),
            "<b>b</b>s<a href=\"https://i.test/p.png\">image</a>"
        );
    }
}
