use super::*;
use crate::config::ConfigProblem;
use crate::fixtures::reference_build;
use hipkit_transport::push::{Header, StoredHeader};
use serde_json::{Value, json};

fn from_table(v: Value) -> Result<HttpConfig, ConfigProblem> {
    match v {
        Value::Object(m) => HttpConfig::from_table(&m, 1),
        _ => unreachable!("tests pass objects"),
    }
}

fn build(complete: bool, results: Option<i64>) -> Build {
    let mut v = reference_build();
    v["complete"] = json!(complete);
    v["results"] = json!(results);
    Build::from_value(v).unwrap()
}

#[test]
fn the_default_generator_is_buildbots() {
    let g = HttpConfig::new("h", "http://x").generator;
    assert!(
        g.wants(&build(false, None), Event::Started, None),
        "every new"
    );
    let finished: Vec<i64> = (0..=6)
        .filter(|&r| g.wants(&build(true, Some(r)), Event::Finished, None))
        .collect();
    assert_eq!(
        finished,
        [0, 1, 2],
        "not exception, cancelled, skipped or retry"
    );
}

#[test]
fn the_default_body_is_the_build_as_received() {
    let text = serde_json::to_string(&reference_build()).unwrap();
    let b = Build::from_json(text.as_bytes()).unwrap();
    let r = HttpReporter::new(HttpConfig::new("h", "http://x/hook"));
    let req = r.request(&b, Event::Finished).unwrap();
    assert_eq!(req.body, text);
    assert_eq!(req.url, "http://x/hook");
    assert_eq!(
        req.headers[0],
        Header::plain("Content-Type", "application/json")
    );
}

#[test]
fn want_logs_is_accepted_with_buildbots_meaning() {
    let mut v = reference_build();
    v["steps"] = json!([{"name": "compile", "logs": [{"name": "stdio", "content": "cc -O2"}]}]);
    let text = serde_json::to_string(&v).unwrap();
    let b = Build::from_json(text.as_bytes()).unwrap();
    let body = |table: Value| {
        let req = HttpReporter::new(from_table(table).unwrap())
            .request(&b, Event::Finished)
            .unwrap();
        serde_json::from_str::<Value>(&req.body).unwrap()
    };
    let with = body(json!({"server_url": "http://x", "want_logs": true}));
    assert_eq!(with["steps"][0]["logs"][0]["content"], "cc -O2");
    let without = body(json!({"server_url": "http://x", "want_logs": false}));
    assert_eq!(without["steps"][0]["logs"][0]["name"], "stdio");
    assert!(without["steps"][0]["logs"][0].get("content").is_none());
    assert_eq!(
        body(json!({"server_url": "http://x"})),
        v,
        "unset: as received"
    );
    assert!(from_table(json!({"server_url": "http://x", "want_logs": "yes"})).is_err());
}

#[test]
fn payload_templates_must_render_json() {
    let c = from_table(json!({"server_url": "http://x",
        "payload": "{\"text\": \"{{ builder }} {{ result }}\", \"n\": {{ build.number }}}"}))
    .unwrap();
    let req = HttpReporter::new(c)
        .request(&build(true, Some(2)), Event::Finished)
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&req.body).unwrap(),
        json!({"text": "Builder0 failure", "n": 0})
    );
    let bad = from_table(json!({"server_url": "http://x", "payload": "not json"})).unwrap();
    assert!(matches!(
        HttpReporter::new(bad).request(&build(true, Some(2)), Event::Finished),
        Err(PayloadError::NotJson(_))
    ));
}

#[test]
fn credentials_in_the_url_and_auth_are_refused_together() {
    for auth in [
        json!({"auth": {"bearer": "t"}}),
        json!({"user": "u", "password": "p"}),
    ] {
        let mut table = json!({"server_url": "https://bb:url-pw@x.example/hook"});
        table
            .as_object_mut()
            .unwrap()
            .extend(auth.as_object().unwrap().clone());
        let e = from_table(table).unwrap_err().to_string();
        assert!(e.contains("server_url carries `user:password@`"), "{e}");
        assert!(!e.contains("url-pw"), "{e}");
    }
    assert!(from_table(json!({"server_url": "https://bb:url-pw@x.example/hook"})).is_ok());
}

#[test]
fn auth_forms_and_redaction() {
    let basic = from_table(
        json!({"server_url": "http://x", "auth": {"basic": ["bb", "pw-secret"]},
        "headers": {"X-Api-Key": "key-secret", "X-Request-Id": "visible",
            "X-Credential": "cred-secret", "Private-Token": "pt-secret", "X-Pass": "pass-secret"}}),
    )
    .unwrap();
    let req = HttpReporter::new(basic)
        .request(&build(true, Some(0)), Event::Finished)
        .unwrap();
    let auth = req
        .headers
        .iter()
        .find(|h| h.name == "Authorization")
        .unwrap();
    assert_eq!(auth.value, "Basic YmI6cHctc2VjcmV0");
    let shown = req.describe();
    assert!(shown.contains("Authorization: <redacted>"));
    assert!(shown.contains("X-Api-Key: <redacted>"));
    assert!(shown.contains("X-Request-Id: visible"));
    // Shown only when allow-listed: names a deny-list would miss stay hidden.
    for name in ["X-Credential", "Private-Token", "X-Pass"] {
        assert!(shown.contains(&format!("{name}: <redacted>")), "{shown}");
    }
    assert!(!shown.contains("secret") && !format!("{req:?}").contains("YmI6"));

    let bearer =
        from_table(json!({"server_url": "http://x", "auth": {"bearer": "tok-secret"}})).unwrap();
    assert!(
        !format!("{bearer:?}").contains("tok-secret"),
        "tokens never in debug output"
    );
    let req = HttpReporter::new(bearer)
        .request(&build(true, Some(0)), Event::Finished)
        .unwrap();
    assert!(
        req.headers
            .contains(&Header::secret("Authorization", "Bearer tok-secret"))
    );
    let legacy =
        from_table(json!({"server_url": "http://x", "user": "u", "password": "p"})).unwrap();
    assert!(matches!(legacy.auth, Some(Auth::Basic { .. })));
}

#[test]
fn config_errors() {
    let err = |v: Value| from_table(v).unwrap_err().to_string();
    assert_eq!(err(json!({})), "server_url is required");
    assert_eq!(err(json!({"server_url": 1})), "server_url must be a string");
    assert_eq!(
        err(json!({"server_url": "dashboard/hook"})),
        "server_url must be an http:// or https:// URL"
    );
    assert_eq!(
        err(json!({"server_url": "http://u", "headers": ["a"]})),
        "headers must be a dict"
    );
    assert!(
        err(json!({"server_url": "http://u", "auth": ["a", "b"]}))
            .starts_with("auth must be { basic")
    );
    assert!(
        err(json!({"server_url": "http://u", "auth": {"basic": ["a"]}}))
            .starts_with("auth must be")
    );
    assert_eq!(
        err(json!({"server_url": "http://u", "auth": {"bearer": "t"}, "user": "x"})),
        "Only one of user/password or auth must be given"
    );
    assert!(err(json!({"server_url": "http://u", "verify": 1})).starts_with("verify must be"));
    assert_eq!(
        err(json!({"server_url": "http://u", "mode": "sometimes"})),
        "mode sometimes is not a valid mode"
    );
    assert!(err(json!({"server_url": "http://u", "format_fn": "f"})).contains("payload"));
    let ok = from_table(
        json!({"server_url": "https://x", "verify": "/etc/ca.pem", "debug": true,
        "skip_encoding": true, "mode": "all", "report_new": false}),
    )
    .unwrap();
    assert_eq!(ok.verify, Verify::CaBundle("/etc/ca.pem".into()));
    assert_eq!(ok.name, "http-1");
    assert!(!ok.generator.report_new);
}

#[test]
fn stored_pushes_hold_no_secret_and_take_the_live_ones_at_delivery() {
    let at_queue = from_table(json!({"server_url": "https://x/hook",
        "auth": {"basic": ["bb", "old-secret"]},
        "headers": {"X-Api-Key": "key-secret", "X-Request-Id": "visible"}}))
    .unwrap();
    let request = HttpReporter::new(at_queue)
        .request(&build(true, Some(0)), Event::Finished)
        .unwrap();
    let stored = request.stored();
    let json = serde_json::to_string(&stored).unwrap();
    assert!(!json.contains("secret") && !json.contains("YmI6"), "{json}");
    assert_eq!(
        stored.headers,
        [
            StoredHeader::from(("Content-Type".to_owned(), "application/json".to_owned())),
            StoredHeader::from(("X-Request-Id".to_owned(), "visible".to_owned()))
        ]
    );

    let now = from_table(json!({"server_url": "https://y/hook",
        "auth": {"bearer": "new-token"}, "headers": {"X-Api-Key": "new-key"}}))
    .unwrap();
    let live = live_request(&now, &stored);
    assert_eq!(live.url, "https://y/hook", "the live URL");
    assert_eq!(live.body, request.body, "the stored body, byte for byte");
    assert_eq!(
        live.headers,
        [
            Header::plain("Content-Type", "application/json"),
            Header::plain("X-Request-Id", "visible"),
            Header::secret("X-Api-Key", "new-key"),
            Header::secret("Authorization", "Bearer new-token"),
        ]
    );
}
