//! `EmulatorConfig` as the `[emulator]` section of `hipkit.toml`, read through figment as
//! the binary's Settings read it.

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use hipchat::Scope;
use hipkit_emulator::{EmulatorConfig, RateSpec, TokenSpec};

fn section(toml: &str) -> Result<EmulatorConfig, Box<figment::Error>> {
    Figment::from(Toml::string(toml))
        .focus("emulator")
        .extract()
        .map_err(Box::new)
}

#[test]
fn a_missing_or_empty_section_gives_the_documented_defaults() {
    let defaults = section("").unwrap();
    assert_eq!(defaults, section("[emulator]\n").unwrap());
    assert_eq!(defaults, EmulatorConfig::default());
    assert_eq!(defaults.listen.to_string(), "127.0.0.1:8180");
    assert_eq!(defaults.rooms, ["Build Room"]);
    assert!(defaults.tokens.is_empty() && defaults.users.is_empty() && !defaults.tls);
    assert_eq!((defaults.max_body, defaults.max_file), (1 << 20, 50 << 20));
    assert_eq!((defaults.rate_limit, defaults.flood_limit), (None, None));
    assert_eq!(
        (
            defaults.header_read_timeout_secs,
            defaults.body_read_timeout_secs,
            defaults.max_connections
        ),
        (10, 10, 1024)
    );
}

#[tokio::test]
async fn connection_limits_are_read_and_out_of_range_ones_refuse_to_start() {
    let config = section(
        "[emulator]\nheader_read_timeout_secs = 3\nbody_read_timeout_secs = 4\nmax_connections = 5\n",
    )
    .unwrap();
    assert_eq!(
        (
            config.header_read_timeout_secs,
            config.body_read_timeout_secs,
            config.max_connections
        ),
        (3, 4, 5)
    );
    assert_eq!(config.check(), Ok(()));
    for (broken, key) in [
        (
            EmulatorConfig {
                max_connections: 0,
                ..EmulatorConfig::ephemeral()
            },
            "`max_connections`",
        ),
        (
            EmulatorConfig {
                header_read_timeout_secs: 0,
                ..EmulatorConfig::ephemeral()
            },
            "`header_read_timeout_secs`",
        ),
        (
            EmulatorConfig {
                body_read_timeout_secs: u64::MAX,
                ..EmulatorConfig::ephemeral()
            },
            "`body_read_timeout_secs`",
        ),
    ] {
        let refused = hipkit_emulator::start(broken).await.err().unwrap();
        assert!(refused.to_string().contains(key), "{refused}");
    }
}

#[test]
fn given_keys_override_and_the_rest_keep_their_defaults() {
    let config = section(
        r#"
        [emulator]
        listen = "127.0.0.1:0"
        tokens = ["abc", "notify-only:send_notification"]
        rooms = ["Ops", "Dev"]
        rate_limit = "500/300"
        tls = true
        "#,
    )
    .unwrap();
    assert_eq!(config.listen.port(), 0);
    assert_eq!(config.tokens[0], TokenSpec::all_scopes("abc"));
    assert_eq!(config.tokens[1].scopes, [Scope::SendNotification]);
    assert_eq!(config.rooms, ["Ops", "Dev"]);
    assert_eq!(
        config.rate_limit,
        Some(RateSpec {
            limit: 500,
            window_secs: 300
        })
    );
    assert!(config.tls);
    assert_eq!(config.max_body, 1 << 20);
    assert_eq!(config.flood_limit, None);
}

#[test]
fn unknown_keys_and_bad_values_are_rejected_by_name() {
    let unknown = section("[emulator]\nroom = [\"Ops\"]\n").unwrap_err();
    assert!(unknown.to_string().contains("`room`"), "{unknown}");
    let rate = section("[emulator]\nflood_limit = \"30 per minute\"\n").unwrap_err();
    assert!(rate.to_string().contains("N/SECONDS"), "{rate}");
    let token = section("[emulator]\ntokens = [\"abc:no_such_scope\"]\n").unwrap_err();
    assert!(token.to_string().contains("invalid token spec"), "{token}");
    assert!(
        !format!("{token:?}").contains("abc:"),
        "the token is not echoed"
    );
}

#[test]
fn a_config_round_trips_through_figment() {
    let config = EmulatorConfig {
        tokens: vec![
            TokenSpec::all_scopes("abc"),
            "def:view_group,view_messages".parse().unwrap(),
        ],
        flood_limit: Some("2/60".parse().unwrap()),
        users: vec!["bob@example.com".into()],
        ..EmulatorConfig::ephemeral()
    };
    let back: EmulatorConfig = Figment::from(Serialized::defaults(&config))
        .extract()
        .unwrap();
    assert_eq!(back, config);
}
