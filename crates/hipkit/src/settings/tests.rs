#![allow(clippy::result_large_err)] // figment::Jail fixes the closures' error type.

use super::*;
use figment::Jail;
use hipkit_transport::BackendKind;
use std::net::SocketAddr;

fn load(overrides: &Overrides) -> Result<Settings, String> {
    Settings::load(None, overrides).map_err(|e| e.to_string())
}

#[test]
fn defaults_come_from_each_section() {
    Jail::expect_with(|_| {
        let s = load(&Overrides::new())?;
        assert_eq!(s.serve.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(s.emulator.listen, SocketAddr::from(([127, 0, 0, 1], 8180)));
        assert_eq!(s.hipchat.timeout_secs, 30);
        assert_eq!(s.hipchat.endpoint, None);
        assert_eq!(s.delivery.backend, BackendKind::Outbox);
        assert_eq!(s.store.path, PathBuf::from("hipkit.db"));
        Ok(())
    });
}

#[test]
fn flag_beats_env_beats_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "hipkit.toml",
            "[serve]\nlisten = \"127.0.0.1:1001\"\nmax_body_bytes = 7\n\
             [delivery]\nconcurrency = 3\nmax_attempts = 4\n",
        )?;
        let s = load(&Overrides::new())?;
        assert_eq!(s.serve.listen.port(), 1001);
        assert_eq!(s.delivery.concurrency, 3);
        jail.set_env("HIPKIT_SERVE__LISTEN", "127.0.0.1:1002");
        jail.set_env("HIPKIT_CONCURRENCY", "5");
        let s = load(&Overrides::new())?;
        assert_eq!(s.serve.listen.port(), 1002);
        assert_eq!(s.delivery.concurrency, 5);
        let mut flags = Overrides::new();
        flags
            .set("--listen", "serve.listen", Some("127.0.0.1:1003"))
            .set("--concurrency", "delivery.concurrency", Some(6));
        let s = load(&flags)?;
        assert_eq!(s.serve.listen.port(), 1003);
        assert_eq!(s.delivery.concurrency, 6);
        // Keys nobody overrode keep the file's values.
        assert_eq!((s.serve.max_body_bytes, s.delivery.max_attempts), (7, 4));
        Ok(())
    });
}

#[test]
fn emulator_retention_comes_from_the_flag_env_or_file() {
    Jail::expect_with(|jail| {
        assert_eq!(load(&Overrides::new())?.emulator.retention, 1000);
        jail.create_file("hipkit.toml", "[emulator]\nretention = 50\n")?;
        assert_eq!(load(&Overrides::new())?.emulator.retention, 50);
        jail.set_env("HIPKIT_EMULATOR__RETENTION", "60");
        assert_eq!(load(&Overrides::new())?.emulator.retention, 60);
        let mut flags = Overrides::new();
        flags.set("--retention", "emulator.retention", Some(70));
        assert_eq!(load(&flags)?.emulator.retention, 70);
        Ok(())
    });
}

#[test]
fn documented_names_of_the_django_library_work() {
    Jail::expect_with(|jail| {
        jail.set_env(
            "HIPCHAT_BACKEND",
            "djhipchat.backends.locmem.HipChatBackend",
        );
        jail.set_env("HIPCHAT_DEFAULT_SENDER", "12345");
        jail.set_env("HIPCHAT_API_TOKEN", "000123");
        jail.set_env("HIPCHAT_ENDPOINT", "https://hipchat.example.com");
        let s = load(&Overrides::new())?;
        assert_eq!(s.delivery.backend, BackendKind::Memory);
        assert_eq!(s.hipchat.default_sender.as_deref(), Some("12345"));
        let token = s.hipchat.token.ok_or("token missing")?;
        assert_eq!(
            token.expose(),
            "000123",
            "tokens stay text, leading zeros included"
        );
        assert_eq!(
            s.hipchat.endpoint.as_deref(),
            Some("https://hipchat.example.com")
        );
        Ok(())
    });
}

#[test]
fn unknown_keys_are_errors_naming_key_and_file() {
    Jail::expect_with(|jail| {
        jail.create_file("hipkit.toml", "[serve]\nlisten_on = \"127.0.0.1:1\"\n")?;
        let err = load(&Overrides::new()).expect_err("unknown key accepted");
        assert!(err.contains("listen_on"), "{err}");
        assert!(err.contains("hipkit.toml"), "{err}");
        jail.create_file("hipkit.toml", "[nonsense]\nx = 1\n")?;
        let err = load(&Overrides::new()).expect_err("unknown section accepted");
        assert!(err.contains("nonsense"), "{err}");
        Ok(())
    });
}

#[test]
fn errors_name_the_source_they_came_from() {
    Jail::expect_with(|jail| {
        jail.create_file("hipkit.toml", "[serve]\nmax_body_bytes = 10\n")?;
        jail.set_env("HIPKIT_LISTEN", "not-an-address");
        let err = load(&Overrides::new()).expect_err("bad address accepted");
        assert!(err.contains("HIPKIT_LISTEN"), "{err}");
        assert!(!err.contains("hipkit.toml"), "{err}");
        Ok(())
    });
    Jail::expect_with(|_| {
        let mut flags = Overrides::new();
        flags.set("--concurrency", "delivery.concurrency", Some("many"));
        let err = load(&flags).expect_err("bad flag accepted");
        assert!(err.contains("--concurrency"), "{err}");
        Ok(())
    });
}

#[test]
fn a_type_error_is_said_once_in_the_printed_chain() {
    Jail::expect_with(|jail| {
        jail.create_file("hipkit.toml", "[hipchat]\nendpoint = 0\n")?;
        let err = Settings::load(None, &Overrides::new()).expect_err("a number as endpoint");
        let shown = hipchat::error_chain(&err);
        assert_eq!(shown.matches("expected a string").count(), 1, "{shown}");
        assert!(shown.contains("`hipchat.endpoint`"), "{shown}");
        Ok(())
    });
}

#[test]
fn an_explicit_config_file_must_exist() {
    Jail::expect_with(|_| {
        let err = Settings::load(Some(Path::new("missing.toml")), &Overrides::new())
            .expect_err("missing file accepted");
        assert!(matches!(err, SettingsError::MissingFile(_)));
        Ok(())
    });
}
