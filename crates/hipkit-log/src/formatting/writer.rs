//! A writer that never exceeds HipChat's message length: text is escaped for html, markup
//! is written whole or not at all, and once something does not fit everything after it is
//! counted, not written, and a marker says how much was cut.

use hipchat::MessageFormat;

/// HipChat's limit for a notification body, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// Room kept at the end for the cut marker.
const MARKER_RESERVE: usize = 64;

/// A bounded message body in one format.
pub(crate) struct Writer {
    out: String,
    chars: usize,
    limit: usize,
    omitted: usize,
    html: bool,
}

impl Writer {
    /// An empty body in `format` holding at most [`MAX_MESSAGE_CHARS`] characters.
    pub fn new(format: MessageFormat) -> Self {
        Self::with_limit(format, MAX_MESSAGE_CHARS)
    }

    /// An empty body holding at most `limit` characters, the cut marker included.
    pub fn with_limit(format: MessageFormat, limit: usize) -> Self {
        Self {
            out: String::new(),
            chars: 0,
            limit: limit.saturating_sub(MARKER_RESERVE),
            omitted: 0,
            html: format == MessageFormat::Html,
        }
    }

    /// Appends text, escaped in html (every `&`, `<`, `>`, `"`, `'`; newlines become `<br>`).
    pub fn text(&mut self, text: &str) {
        for c in text.chars() {
            let mut buf = [0u8; 4];
            let piece: &str = match escape(c).filter(|_| self.html) {
                Some(escaped) => escaped,
                None => c.encode_utf8(&mut buf),
            };
            if !self.fits(piece) {
                self.omitted += 1;
                continue;
            }
            self.append(piece);
        }
    }

    /// Appends `text` wrapped in an html element (`b`, `code`, `i`), as a whole or not at all;
    /// plain text in text format.
    pub fn element(&mut self, tag: &str, text: &str) {
        if !self.html {
            return self.text(text);
        }
        let mut inner = Writer::with_limit(MessageFormat::Html, usize::MAX);
        inner.text(text);
        let whole = format!("<{tag}>{}</{tag}>", inner.out);
        self.markup(&whole, text.chars().count());
    }

    /// Ends a line (`<br>` in html).
    pub fn newline(&mut self) {
        if self.html {
            self.markup("<br>", 1);
        } else {
            self.text("\n");
        }
    }

    /// Starts an indented line.
    pub fn indent(&mut self, depth: usize) {
        self.newline();
        let unit = if self.html { "&nbsp;&nbsp;" } else { "  " };
        for _ in 0..depth {
            self.markup(unit, 2);
        }
    }

    /// The body, with a marker when something was cut.
    pub fn finish(mut self) -> String {
        if self.omitted > 0 {
            // Shorter than the reserve kept for it, and nothing in it needs escaping.
            let marker = format!(" … [cut: {} more characters]", self.omitted);
            self.append(&marker);
        }
        self.out
    }

    fn markup(&mut self, markup: &str, stands_for: usize) {
        if self.fits(markup) {
            self.append(markup);
        } else {
            self.omitted += stands_for;
        }
    }

    fn fits(&self, piece: &str) -> bool {
        self.omitted == 0 && self.chars + piece.chars().count() <= self.limit
    }

    fn append(&mut self, piece: &str) {
        self.chars += piece.chars().count();
        self.out.push_str(piece);
    }
}

fn escape(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#39;",
        '\n' => "<br>",
        _ => return None,
    })
}
