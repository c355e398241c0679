#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Each message kind rendered for each platform, compared with the expected bodies in
//! `tests/snapshots/{platform}/{kind}.json`. `UPDATE_SNAPSHOTS=1 cargo test -p hipkit-translate`
//! rewrites them (review the diff before committing).

use hipchat::{
    Card, CardDescription, CardStyle, CardThumbnail, Color, MessageFormat, RoomNotification,
};
use hipkit_translate::{Options, Outgoing, Platform, SharedFile, translate};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The HTML body the old tools send: bold, a link, italics, a list with code, a code block.
fn html() -> RoomNotification {
    RoomNotification::new(
        "<b>Build</b> <a href=\"https://ci.test/builds/42\">#42</a> of <i>hipkit</i> passed<br>\
         Changes:<ul><li><code>fix_parser()</code> by <strong>ann</strong></li>\
         <li>2 &lt; 3 &amp; *stars* stay</li></ul><pre>cargo test\ntest result: ok</pre>",
    )
    .color(Color::Green)
    .from_label("Buildbot")
}

/// A `text` body: markup characters that must show as typed, a URL, two lines.
fn text() -> RoomNotification {
    RoomNotification::new(
        "Deploy of *api* <prod> finished & 5 > 3 [see https://deploy.test/runs/7]\nnext: _staging_ # 2",
    )
    .format(MessageFormat::Text)
    .color(Color::Gray)
}

/// A `text` body with a mapped mention (`alice`) and an unmapped one (`bob`).
fn mention() -> RoomNotification {
    RoomNotification::new("@alice please look at the failure, cc @bob.")
        .format(MessageFormat::Text)
        .color(Color::Red)
        .from_label("Jenkins")
}

fn notify() -> RoomNotification {
    RoomNotification::new("Production is <b>down</b>")
        .color(Color::Red)
        .notify(true)
}

fn card() -> RoomNotification {
    let mut n = RoomNotification::new("HIP-12: Translate cards (fallback text)")
        .color(Color::Purple)
        .from_label("Jira");
    n.card = Some(Card {
        style: CardStyle::Application,
        title: "HIP-12: Translate cards".to_owned(),
        id: Some("hip-12".to_owned()),
        description: Some(CardDescription::Formatted {
            value: "Cards become <b>attachments</b>, embeds or <i>Adaptive Cards</i>.".to_owned(),
            format: MessageFormat::Html,
        }),
        format: Some("medium".to_owned()),
        url: Some("https://jira.test/browse/HIP-12".to_owned()),
        thumbnail: Some(CardThumbnail {
            url: "https://jira.test/icons/story.png".to_owned(),
            url_2x: None,
            width: None,
            height: None,
        }),
        activity: None,
        attributes: Some(vec![
            json!({"label": "Status", "value": {"label": "In Progress", "style": "lozenge-current"}}),
            json!({"label": "Assignee", "value": {"label": "Ann", "url": "https://jira.test/people/ann"}}),
        ]),
        icon: None,
        date: Some(1_765_000_000_000),
    });
    n
}

fn file_message() -> RoomNotification {
    RoomNotification::new("Nightly build log").format(MessageFormat::Text)
}

/// 9,600 characters over 150 lines: over Slack's, Discord's and Rocket.Chat's limits.
fn long() -> RoomNotification {
    let lines: Vec<String> = (1..=150)
        .map(|i| {
            format!(
                "line {i:03}: {}",
                "lorem ipsum dolor sit amet ".repeat(2).trim_end()
            )
        })
        .collect();
    RoomNotification::new(lines.join("<br>")).from_label("Logs")
}

/// The mention maps a destination would configure.
fn mention_options(platform: Platform) -> Options {
    let id = match platform {
        Platform::Slack => "U0ALICE",
        Platform::Mattermost | Platform::RocketChat => "alice.smith",
        Platform::Discord => "80351110224678912",
        Platform::Teams => "alice@example.test",
        Platform::Zulip => "Alice Smith",
        Platform::Matrix => "@alice:example.test",
    };
    Options {
        mentions: [("alice".to_owned(), id.to_owned())].into(),
        ..Options::default()
    }
}

fn bodies(
    platform: Platform,
    n: &RoomNotification,
    file: Option<SharedFile<'_>>,
    options: &Options,
) -> Value {
    Value::Array(translate(
        platform,
        &Outgoing {
            notification: n,
            file,
        },
        options,
    ))
}

/// Every kind for `platform`, by file name.
fn kinds(platform: Platform) -> Vec<(&'static str, Value)> {
    let default = Options::default();
    let mass = Options {
        mass_mention: true,
        ..Options::default()
    };
    let colours: serde_json::Map<String, Value> = Color::ALL
        .iter()
        .map(|c| {
            let n = RoomNotification::new("colour check").color(*c);
            (c.as_str().to_owned(), bodies(platform, &n, None, &default))
        })
        .collect();
    let log = SharedFile {
        name: "build-42.log",
        size: 1_572_864,
        url: Some("https://files.test/build-42.log"),
    };
    vec![
        ("html", bodies(platform, &html(), None, &default)),
        ("text", bodies(platform, &text(), None, &default)),
        (
            "mention",
            bodies(platform, &mention(), None, &mention_options(platform)),
        ),
        ("colours", Value::Object(colours)),
        ("notify", bodies(platform, &notify(), None, &default)),
        (
            "notify_mass_mention",
            bodies(platform, &notify(), None, &mass),
        ),
        ("card", bodies(platform, &card(), None, &default)),
        (
            "file",
            bodies(platform, &file_message(), Some(log), &default),
        ),
        ("long", bodies(platform, &long(), None, &default)),
    ]
}

fn snapshot_path(platform: Platform, kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(platform.as_str())
        .join(format!("{kind}.json"))
}

#[test]
fn every_kind_matches_its_snapshot_on_every_platform() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut failures = Vec::new();
    for platform in Platform::ALL {
        for (kind, actual) in kinds(platform) {
            let path = snapshot_path(platform, kind);
            let pretty = serde_json::to_string_pretty(&actual).unwrap() + "\n";
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &pretty).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(expected) if serde_json::from_str::<Value>(&expected).unwrap() == actual => {}
                Ok(_) => failures.push(format!("{} differs; actual:\n{pretty}", path.display())),
                Err(e) => failures.push(format!(
                    "{} missing ({e}): run with UPDATE_SNAPSHOTS=1 to write it",
                    path.display()
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The limits the parts must respect, as each platform measures them.
fn part_text(platform: Platform, body: &Value) -> (usize, usize) {
    let chars = |v: &Value| v.as_str().unwrap().chars().count();
    match platform {
        Platform::Slack => (chars(&body["attachments"][0]["text"]), 4_000),
        Platform::Mattermost => (chars(&body["attachments"][0]["text"]), 16_383),
        Platform::RocketChat => (chars(&body["attachments"][0]["text"]), 5_000),
        Platform::Discord => (chars(&body["embeds"][0]["description"]), 4_096),
        Platform::Teams => (body.to_string().len(), 28_000),
        Platform::Zulip => (chars(&body["content"]), 10_000),
        Platform::Matrix => (body.to_string().len(), 65_536),
    }
}

#[test]
fn long_messages_are_split_in_order_within_each_limit_and_nothing_is_lost() {
    let n = long();
    for platform in Platform::ALL {
        let parts = translate(
            platform,
            &Outgoing {
                notification: &n,
                file: None,
            },
            &Options::default(),
        );
        for part in &parts {
            let (size, limit) = part_text(platform, part);
            assert!(size <= limit, "{platform}: part of {size} over {limit}");
        }
        let all = serde_json::to_string(&parts).unwrap();
        let mut at = 0;
        for i in 1..=150 {
            let line = format!("line {i:03}:");
            let found = all[at..]
                .find(&line)
                .unwrap_or_else(|| panic!("{platform}: {line} lost or out of order"));
            at += found;
        }
        let expected_parts = match platform {
            Platform::Slack | Platform::Discord => 3,
            Platform::RocketChat => 2,
            _ => 1,
        };
        assert_eq!(parts.len(), expected_parts, "{platform}");
        if parts.len() > 1 {
            assert!(
                all.contains(&format!("(1/{expected_parts}) ")),
                "{platform}: parts not numbered"
            );
        }
    }
}

#[test]
fn mass_mentions_only_when_configured() {
    let n = notify();
    for platform in Platform::ALL {
        let quiet =
            serde_json::to_string(&bodies(platform, &n, None, &Options::default())).unwrap();
        for mass in ["<!here>", "@here", "@**all**", "@room", "\"everyone\""] {
            assert!(
                !quiet.contains(mass),
                "{platform}: {mass} without mass_mention: {quiet}"
            );
        }
    }
}

/// Where the pings go on each platform (mentions inside attachments and embeds reach nobody).
fn pings(platform: Platform, body: &Value) -> String {
    match platform {
        Platform::Slack | Platform::Mattermost | Platform::RocketChat => body["text"].to_string(),
        Platform::Discord => format!("{} {}", body["content"], body["allowed_mentions"]),
        Platform::Teams => body["attachments"][0]["content"]["msteams"].to_string(),
        Platform::Zulip => body["content"].to_string(),
        Platform::Matrix => body["m.mentions"].to_string(),
    }
}

#[test]
fn typed_mass_mentions_reach_nobody_unless_configured_and_hipchats_own_then_do() {
    let typed = RoomNotification::new("@here @all @channel @everyone @room: deploy at 5")
        .format(MessageFormat::Text);
    let out = Outgoing {
        notification: &typed,
        file: None,
    };
    let mass = Options {
        mass_mention: true,
        ..Options::default()
    };
    for platform in Platform::ALL {
        for body in translate(platform, &out, &Options::default()) {
            let pings = pings(platform, &body);
            for name in ["<!here>", "\"@here", "@**all**", "\"room\"", "everyone\""] {
                assert!(
                    !pings.contains(name),
                    "{platform}: {name} reaches people: {pings}"
                );
            }
            let all = body.to_string();
            assert!(
                all.contains("@channel @everyone @room"),
                "{platform}: text lost: {all}"
            );
        }
        let loud = translate(platform, &out, &mass);
        let expected = match platform {
            Platform::Slack => "<!here>",
            Platform::Mattermost | Platform::RocketChat | Platform::Discord => "@here",
            Platform::Zulip => "@**all**",
            Platform::Matrix => "\"room\":true",
            Platform::Teams => continue,
        };
        let pings = pings(platform, &loud[0]);
        assert!(
            pings.contains(expected),
            "{platform}: HipChat's @all not carried: {pings}"
        );
    }
}
