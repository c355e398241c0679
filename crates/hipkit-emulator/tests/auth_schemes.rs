//! The `Authorization` scheme is matched in any case (RFC 9110), by the one parser the
//! emulator shares with `hipkit serve`: `bearer` for the API, `basic` for the web UI.

use hipkit_emulator::{EmulatorConfig, TokenSpec};

const TOKEN: &str = "auth-schemes-token";

#[tokio::test]
async fn schemes_are_matched_in_any_case() {
    let emu = hipkit_emulator::start(EmulatorConfig {
        tokens: vec![TokenSpec::all_scopes(TOKEN)],
        rooms: vec!["Ops".into()],
        ui_password: Some(hipchat::Token::new("ui-secret")),
        ..EmulatorConfig::ephemeral()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let call = |path: &str, authorization: String| {
        http.get(format!("{}{path}", emu.base_url))
            .header("authorization", authorization)
            .send()
    };
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let answer = call("/v2/room/Ops", format!("{scheme} {TOKEN}"))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{scheme}");
    }
    let refused = call("/v2/room/Ops", format!("Basic {TOKEN}"))
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // base64 of `anyone:ui-secret`
    for scheme in ["Basic", "basic", "BASIC"] {
        let answer = call("/tokens", format!("{scheme} YW55b25lOnVpLXNlY3JldA=="))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{scheme}");
    }
    let refused = call("/tokens", "Bearer ui-secret".into()).await.unwrap();
    assert_eq!(refused.status(), 401);
    emu.shutdown().await;
}
