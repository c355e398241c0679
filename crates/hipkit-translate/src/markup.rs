//! A HipChat message read into a small tree: `html` bodies through html5ever's tokenizer (the
//! one ammonia, HipChat's allow-list in the emulator, reads with), `text` bodies split into
//! words, links, `@mentions` and line breaks.

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::cell::RefCell;

/// One piece of a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// An element with its attributes (names lower-cased by the tokenizer) and children.
    Element(Element),
    /// HTML text: runs of white space read as one space.
    Text(String),
    /// Text whose white space is kept (a `text`-format body).
    Literal(String),
    /// A HipChat `@mention` (the name without `@`), from a `text`-format body.
    Mention(String),
}

/// An element of the tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

impl Element {
    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Elements that never have children.
const VOID: &[&str] = &[
    "br", "img", "hr", "wbr", "input", "meta", "link", "area", "col",
];
/// Elements whose content is dropped with them (ammonia drops it too).
const DROPPED: &[&str] = &["script", "style", "title", "textarea", "template"];

#[derive(Default)]
struct Builder {
    stack: Vec<Element>,
    root: Vec<Node>,
    /// Inside a dropped element: its name.
    dropping: Option<String>,
}

impl Builder {
    fn children(&mut self) -> &mut Vec<Node> {
        match self.stack.last_mut() {
            Some(open) => &mut open.children,
            None => &mut self.root,
        }
    }

    fn close_top(&mut self) {
        if let Some(done) = self.stack.pop() {
            self.children().push(Node::Element(done));
        }
    }

    /// Closes open elements down to and including the last one named `name`, if any is open
    /// above the nearest of `boundary`.
    fn close_to(&mut self, name: &str, boundary: &[&str]) {
        let found = self
            .stack
            .iter()
            .rposition(|e| e.name == name || boundary.contains(&e.name.as_str()));
        if let Some(at) = found
            && self.stack[at].name == name
        {
            while self.stack.len() > at {
                self.close_top();
            }
        }
    }

    fn text(&mut self, text: &str) {
        if self.dropping.is_some() {
            return;
        }
        let children = self.children();
        if let Some(Node::Text(last)) = children.last_mut() {
            last.push_str(text);
        } else {
            children.push(Node::Text(text.to_owned()));
        }
    }
}

struct Sink(RefCell<Builder>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut b = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) => {
                let name = tag.name.to_string();
                if let Some(dropping) = &b.dropping {
                    if tag.kind == TagKind::EndTag && *dropping == name {
                        b.dropping = None;
                    }
                    return TokenSinkResult::Continue;
                }
                match tag.kind {
                    TagKind::StartTag if DROPPED.contains(&name.as_str()) => {
                        b.dropping = Some(name.clone());
                        return TokenSinkResult::RawData(if name == "script" {
                            RawKind::ScriptData
                        } else {
                            RawKind::Rawtext
                        });
                    }
                    TagKind::StartTag => {
                        // The implied end tags of the HTML tree builder that chat messages use.
                        match name.as_str() {
                            "li" => b.close_to("li", &["ul", "ol"]),
                            "tr" => b.close_to("tr", &["table"]),
                            "td" | "th" => {
                                b.close_to("td", &["tr", "table"]);
                                b.close_to("th", &["tr", "table"]);
                            }
                            "p" => b.close_to("p", &["div", "li", "td", "th"]),
                            _ => {}
                        }
                        let element = Element {
                            attrs: tag
                                .attrs
                                .iter()
                                .map(|a| (a.name.local.to_string(), a.value.to_string()))
                                .collect(),
                            name,
                            children: Vec::new(),
                        };
                        if tag.self_closing || VOID.contains(&element.name.as_str()) {
                            b.children().push(Node::Element(element));
                        } else {
                            b.stack.push(element);
                        }
                    }
                    TagKind::EndTag if name == "br" => {
                        // `</br>` is a line break to browsers.
                        b.children().push(Node::Element(Element {
                            name,
                            ..Element::default()
                        }));
                    }
                    TagKind::EndTag => b.close_to(&name, &[]),
                }
            }
            Token::CharacterTokens(text) => b.text(&text),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Reads an `html`-format body.
pub(crate) fn parse_html(html: &str) -> Vec<Node> {
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let tokenizer = Tokenizer::new(
        Sink(RefCell::new(Builder::default())),
        TokenizerOpts::default(),
    );
    // The sink never asks for a script to run, so one feed reads everything.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let mut b = tokenizer.sink.0.take();
    while !b.stack.is_empty() {
        b.close_top();
    }
    b.root
}

/// HipChat's mass mentions (`@all`, `@here`) and the targets' (`@channel`, `@everyone`,
/// `@room`): kept as plain text, never a [`Node::Mention`], so they reach nobody by themselves.
const MASS_MENTIONS: &[&str] = &["all", "here", "channel", "everyone", "room"];

/// Reads a `text`-format body: URLs become links, `@name` mentions, newlines line breaks.
pub(crate) fn parse_text(text: &str) -> Vec<Node> {
    parse_text_mass(text).0
}

/// [`parse_text`], and whether the text has HipChat's own mass mention (`@all` or `@here`).
pub(crate) fn parse_text_mass(text: &str) -> (Vec<Node>, bool) {
    let mut mass = false;
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push(element("br", Vec::new(), Vec::new()));
        }
        let mut literal = String::new();
        let mut rest = line.trim_end_matches('\r');
        while !rest.is_empty() {
            let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (word, after) = rest.split_at(word_end);
            let space_end = after
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(after.len());
            let (space, next) = after.split_at(space_end);
            match word_kind(word) {
                Word::Plain => literal.push_str(word),
                Word::Url(url, trail) => {
                    flush(&mut out, &mut literal);
                    out.push(element(
                        "a",
                        vec![("href".to_owned(), url.to_owned())],
                        vec![Node::Literal(url.to_owned())],
                    ));
                    literal.push_str(trail);
                }
                Word::Mention(_, name, _)
                    if MASS_MENTIONS.iter().any(|m| m.eq_ignore_ascii_case(name)) =>
                {
                    mass |= name.eq_ignore_ascii_case("all") || name.eq_ignore_ascii_case("here");
                    literal.push_str(word);
                }
                Word::Mention(lead, name, trail) => {
                    literal.push_str(lead);
                    flush(&mut out, &mut literal);
                    out.push(Node::Mention(name.to_owned()));
                    literal.push_str(trail);
                }
            }
            literal.push_str(space);
            rest = next;
        }
        flush(&mut out, &mut literal);
    }
    (out, mass)
}

fn flush(out: &mut Vec<Node>, literal: &mut String) {
    if !literal.is_empty() {
        out.push(Node::Literal(std::mem::take(literal)));
    }
}

fn element(name: &str, attrs: Vec<(String, String)>, children: Vec<Node>) -> Node {
    Node::Element(Element {
        name: name.to_owned(),
        attrs,
        children,
    })
}

enum Word<'a> {
    Plain,
    /// The URL and punctuation after it.
    Url(&'a str, &'a str),
    /// Opening punctuation, the name, closing punctuation.
    Mention(&'a str, &'a str, &'a str),
}

/// Sentence punctuation that ends a word without belonging to a URL or a name.
fn trailing(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '"' | '\''
    )
}

fn word_kind(word: &str) -> Word<'_> {
    let core = word.trim_end_matches(trailing);
    let trail = &word[core.len()..];
    if (core.starts_with("http://") || core.starts_with("https://")) && core.len() > 8 {
        return Word::Url(core, trail);
    }
    let lead_len = word.len() - word.trim_start_matches(['(', '[', '"', '\'']).len();
    let (lead, rest) = word.split_at(lead_len);
    if let Some(name) = rest.strip_prefix('@') {
        let name_len = name
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .unwrap_or(name.len());
        let name = name[..name_len].trim_end_matches('.');
        if !name.is_empty() {
            let end = lead.len() + 1 + name.len();
            return Word::Mention(lead, name, &word[end..]);
        }
    }
    Word::Plain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Node {
        Node::Text(s.to_owned())
    }

    #[test]
    fn html_nests_closes_implied_ends_and_drops_scripts() {
        let tree = parse_html("<b>x &amp; <i>y</b><ul><li>1<li>2</ul><script>bad()</script>z");
        let Node::Element(b) = &tree[0] else {
            panic!("{tree:?}")
        };
        assert_eq!(b.name, "b");
        assert_eq!(b.children[0], text("x & "));
        let Node::Element(ul) = &tree[1] else {
            panic!("{tree:?}")
        };
        assert_eq!(ul.children.len(), 2);
        assert_eq!(tree.last(), Some(&text("z")));
    }

    #[test]
    fn text_finds_urls_and_mentions_but_not_emails() {
        let tree = parse_text("see https://x.test/a. (@alice), mail bob@x.test\nok");
        assert!(matches!(&tree[1], Node::Element(a) if a.attr("href") == Some("https://x.test/a")));
        assert_eq!(tree[3], Node::Mention("alice".to_owned()));
        assert_eq!(tree[4], Node::Literal("), mail bob@x.test".to_owned()));
        assert!(matches!(&tree[5], Node::Element(br) if br.name == "br"));
    }

    #[test]
    fn mass_mentions_stay_text_and_are_reported() {
        let (tree, mass) = parse_text_mass("@All deploy, @channel @here! cc @bob");
        assert!(mass);
        assert_eq!(
            tree[0],
            Node::Literal("@All deploy, @channel @here! cc ".to_owned())
        );
        assert_eq!(tree[1], Node::Mention("bob".to_owned()));
        assert!(!parse_text_mass("@everyone @room @alice").1);
    }
}
