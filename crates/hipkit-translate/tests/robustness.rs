#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Messages no snapshot shows: malformed and hostile HTML, words longer than any limit,
//! multi-byte text at the byte limits. Every platform answers with bodies, each within its
//! limit, and drops no word.

use hipchat::{MessageFormat, RoomNotification};
use hipkit_translate::{Options, Outgoing, Platform, translate};
use serde_json::Value;

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[usize::try_from(self.next() % items.len() as u64).unwrap()]
    }
}

const PIECES: &[&str] = &[
    "<b>",
    "</b>",
    "<i>",
    "</i>",
    "<ul>",
    "<li>",
    "</li>",
    "</ul>",
    "<ol start=\"7\">",
    "</ol>",
    "<pre>",
    "</pre>",
    "<code>",
    "</code>",
    "<br>",
    "</br>",
    "<p>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<a href=\"https://x.test/a?b=1&amp;c=(2)\">",
    "<a href=\"javascript:alert(1)\">",
    "</a>",
    "<img src=\"https://x.test/i.png\" alt=\"pic\">",
    "<script>alert(1)</script>",
    "<style>p{}</style>",
    "<!-- comment -->",
    "&lt;",
    "&amp;",
    "&nbsp;",
    "&#x1F600;",
    "*",
    "_",
    "~",
    "`",
    "```",
    "|",
    "#",
    "> ",
    "- ",
    "1. ",
    "[x](y)",
    "<@U123>",
    "<!here>",
    "@here",
    "@**all**",
    "@room",
    "\r\n",
    "\n",
    "  ",
    "word ",
    "日本語 ",
    "🚀🚀 ",
    "<unknown attr=1>",
    "</nope>",
    "<",
    ">",
    "\"",
    "'",
];

/// The visible words of a text (for the nothing-lost check): runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Each body's measured text and its limit (as the platform measures it).
fn within_limits(platform: Platform, body: &Value) {
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    let (size, limit) = match platform {
        Platform::Slack => (chars(&body["attachments"][0]["text"]), 4_000),
        Platform::Mattermost => (chars(&body["attachments"][0]["text"]), 16_383),
        Platform::RocketChat => (chars(&body["attachments"][0]["text"]), 5_000),
        Platform::Discord => (chars(&body["embeds"][0]["description"]), 4_096),
        Platform::Teams => (body.to_string().len(), 28_000),
        Platform::Zulip => (chars(&body["content"]), 10_000),
        Platform::Matrix => (body.to_string().len(), 65_536),
    };
    assert!(size <= limit, "{platform}: {size} over {limit}");
}

#[test]
fn random_html_never_panics_and_every_body_is_within_its_limit() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..200 {
        let len = 1 + rng.next() % 400;
        let html: String = (0..len).map(|_| rng.pick(PIECES)).collect();
        for format in [MessageFormat::Html, MessageFormat::Text] {
            let n = RoomNotification::new(html.clone())
                .format(format)
                .notify(true);
            for platform in Platform::ALL {
                let out = Outgoing {
                    notification: &n,
                    file: None,
                };
                let bodies = translate(platform, &out, &Options::default());
                assert!(
                    !bodies.is_empty(),
                    "{platform} round {round}: no body for {html:?}"
                );
                for body in &bodies {
                    within_limits(platform, body);
                    if format == MessageFormat::Html {
                        let s = body.to_string();
                        assert!(!s.contains("javascript:"), "{platform}: unsafe link: {s}");
                        assert!(!s.contains("alert(1)"), "{platform}: script kept: {s}");
                    }
                }
            }
        }
    }
}

#[test]
fn an_unbroken_word_longer_than_the_limit_is_cut_and_kept_whole_across_parts() {
    // 30,000 characters with no space or line break, multi-byte in part.
    let word: String = "ab日🚀".repeat(7_500);
    let n = RoomNotification::new(word.clone()).format(MessageFormat::Text);
    for platform in Platform::ALL {
        let out = Outgoing {
            notification: &n,
            file: None,
        };
        let bodies = translate(platform, &out, &Options::default());
        assert!(bodies.len() > 1, "{platform}: not split");
        let mut joined = String::new();
        for body in &bodies {
            within_limits(platform, body);
            let text = match platform {
                Platform::Slack | Platform::Mattermost | Platform::RocketChat => {
                    &body["attachments"][0]["text"]
                }
                Platform::Discord => &body["embeds"][0]["description"],
                Platform::Teams => {
                    &body["attachments"][0]["content"]["body"][0]["items"][0]["text"]
                }
                Platform::Zulip => &body["content"],
                Platform::Matrix => &body["body"],
            };
            let text = text.as_str().unwrap();
            // Drop the `(i/n) ` number and, on Zulip and Matrix, the colour emoji.
            let text = text.split_once(") ").unwrap().1;
            joined.push_str(text.trim_start_matches(['🟡', ' ']));
        }
        assert_eq!(
            words(&joined).concat(),
            words(&word).concat(),
            "{platform}: text lost"
        );
    }
}
