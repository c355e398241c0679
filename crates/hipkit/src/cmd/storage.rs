//! `hipkit storage export|import|erase`: an integration's storage on a running server, through
//! its admin endpoints (so running integrations see the change), with the `[serve]` admin
//! token.

use crate::cli::{StorageAction, StorageArgs};
use crate::failure::Failure;
use hipkit::Settings;
use serde_json::Value;
use std::io::Read;

/// Runs one storage action; exit 1 when the server refuses or cannot be reached.
pub async fn run(args: &StorageArgs, settings: &Settings) -> Result<(), Failure> {
    let token = settings.serve.api_token.as_ref().ok_or_else(|| {
        Failure::usage(
            "the admin token is needed: set [serve] api_token or HIPKIT_SERVE__API_TOKEN",
        )
    })?;
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.serve.listen));
    let http = reqwest::Client::new();
    let url = |name: &str| format!("{}/admin/storage/{name}", base.trim_end_matches('/'));
    let request = match &args.action {
        StorageAction::Export { integration, .. } => http.get(url(integration)),
        StorageAction::Import { integration, file } => {
            let body = read_import(file)?;
            http.put(url(integration))
                .header("content-type", "application/json")
                .body(body)
        }
        StorageAction::Erase { integration } => http.delete(url(integration)),
    };
    let resp = request
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(|e| Failure::runtime(format!("cannot reach {base}: {e}")))?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| Failure::runtime(format!("{base} answered {status} without JSON: {e}")))?;
    if !status.is_success() {
        let why = body["error"]["message"].as_str().unwrap_or("no message");
        return Err(Failure::runtime(format!(
            "{base} refused ({status}): {why}"
        )));
    }
    let text = serde_json::to_string_pretty(&body).map_err(Failure::runtime)?;
    match &args.action {
        StorageAction::Export {
            output: Some(path), ..
        } => std::fs::write(path, text + "\n")
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?,
        _ => println!("{text}"),
    }
    Ok(())
}

/// The import file (`-`: stdin), checked to be a JSON object before it is sent.
fn read_import(file: &std::path::Path) -> Result<String, Failure> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
    } else {
        text = std::fs::read_to_string(file)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(_)) => Ok(text),
        Ok(_) => Err(Failure::usage(format!(
            "{} must hold a JSON object (what export writes)",
            file.display()
        ))),
        Err(e) => Err(Failure::usage(format!(
            "{} is not JSON: {e}",
            file.display()
        ))),
    }
}
