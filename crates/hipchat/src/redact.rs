//! URLs as they may be shown, logged and stored: without the parts that carry secrets.

/// `url` as it may be shown, logged and stored: no user information, each query value
/// replaced, and the path kept only to its first segment (`/services/<redacted>`), because
/// webhook URLs (Slack's `/services/T0/B0/SECRET`, `/hooks/SECRET`) carry their secret there.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<not a URL>".to_owned();
    };
    let had_credentials = !parsed.username().is_empty() || parsed.password().is_some();
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let query: Option<Vec<String>> = parsed.query().map(|_| {
        parsed
            .query_pairs()
            .map(|(name, _)| format!("{name}=<redacted>"))
            .collect()
    });
    parsed.set_query(None);
    parsed.set_fragment(None);
    let segments: Vec<String> = parsed
        .path_segments()
        .map(|s| s.map(str::to_owned).collect())
        .unwrap_or_default();
    let hidden = segments.iter().skip(1).any(|s| !s.is_empty());
    if hidden {
        parsed.set_path(&format!("/{}/", segments[0]));
    }
    let mut shown = parsed.to_string();
    if hidden {
        shown.push_str("<redacted>");
    }
    if had_credentials {
        let host_at = shown.find("://").map_or(0, |at| at + 3);
        shown.insert_str(host_at, "<redacted>@");
    }
    if let Some(pairs) = query {
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

/// A capability URL (Slack's and Mattermost's `response_url`, whose whole path is the secret)
/// as it may be shown and logged: its scheme, host and port only
/// (`https://hooks.slack.com/<redacted>`).
pub fn redact_capability_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<not a URL>".to_owned();
    };
    let hidden = parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some();
    parsed.set_path("/");
    parsed.set_query(None);
    parsed.set_fragment(None);
    let mut shown = redact_url(parsed.as_str());
    if hidden {
        shown.push_str("<redacted>");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::{redact_capability_url, redact_url};

    #[test]
    fn urls_are_shown_without_credentials_or_query() {
        assert_eq!(
            redact_url("https://x.example/hook"),
            "https://x.example/hook"
        );
        assert_eq!(
            redact_url("https://bb:pw@x.example:8443/hook?token=abc&v=2#f"),
            "https://<redacted>@x.example:8443/hook?token=<redacted>&v=<redacted>"
        );
        // A secret in the path: only the first segment is shown.
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/services/<redacted>"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:9/hooks/s3cret"),
            "http://127.0.0.1:9/hooks/<redacted>"
        );
        assert_eq!(redact_url("http://x.example"), "http://x.example/");
        assert_eq!(
            redact_url("http://x.example/hook/"),
            "http://x.example/hook/"
        );
        assert_eq!(redact_url("not a url"), "<not a URL>");
    }

    #[test]
    fn capability_urls_show_their_scheme_and_host_only() {
        assert_eq!(
            redact_capability_url("https://hooks.slack.com/commands/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/<redacted>"
        );
        assert_eq!(
            redact_capability_url("http://u:p@10.0.0.5:8065/hooks/commands/zozc1xw?x=1#f"),
            "http://<redacted>@10.0.0.5:8065/<redacted>"
        );
        assert_eq!(
            redact_capability_url("https://x.example/"),
            "https://x.example/"
        );
        assert_eq!(redact_capability_url("no url"), "<not a URL>");
    }
}
