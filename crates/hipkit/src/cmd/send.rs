//! `hipkit send`: one room notification or private message, with clear exit codes.

use crate::cli::{SendArgs, ServerArgs};
use crate::config::{DEFAULT_ENDPOINT, FileConfig};
use crate::failure::Failure;
use hipchat::{Client, Color, MessageFormat, PrivateMessage, RoomNotification, RoomRef, UserRef};
use std::io::Read;
use std::time::Duration;

/// Builds a client from flags/env, then the config file, then defaults.
pub fn client(server: &ServerArgs, file: &FileConfig) -> Result<Client, Failure> {
    let endpoint = server
        .endpoint
        .clone()
        .or_else(|| file.hipchat.endpoint.clone())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
    let token = server
        .token
        .clone()
        .map(hipchat::Token::new)
        .or_else(|| file.hipchat.token.clone())
        .ok_or_else(|| {
            Failure::Usage(
                "no API token: set HIPCHAT_API_TOKEN, pass --token, or put token in [hipchat] of hipkit.toml".into(),
            )
        })?;
    let timeout = server.timeout.or(file.hipchat.timeout_secs).unwrap_or(30);
    let insecure = server.insecure || file.hipchat.accept_invalid_certs.unwrap_or(false);
    Ok(Client::builder(endpoint, token)
        .timeout(Duration::from_secs(timeout))
        .danger_accept_invalid_certs(insecure)
        .build()?)
}

/// Where the message goes and what it says.
enum Target {
    Room(RoomRef),
    User(UserRef),
}

fn target_and_text(args: &SendArgs) -> Result<(Target, Option<String>), Failure> {
    match (&args.user, &args.room, &args.message) {
        (Some(_), _, Some(_)) => Err(Failure::Usage(
            "with --user, give only the MESSAGE (no ROOM)".into(),
        )),
        (Some(user), text, None) => Ok((Target::User(UserRef::parse(user)), text.clone())),
        (None, Some(room), text) => Ok((Target::Room(RoomRef::parse(room)), text.clone())),
        (None, None, _) => Err(Failure::Usage(
            "missing ROOM (or --user ID_OR_EMAIL): hipkit send ROOM MESSAGE".into(),
        )),
    }
}

fn read_text(text: Option<String>) -> Result<String, Failure> {
    match text.as_deref() {
        Some("-") | None => {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .map_err(|e| Failure::Usage(format!("cannot read the message from stdin: {e}")))?;
            if buf.ends_with('\n') {
                buf.pop();
                if buf.ends_with('\r') {
                    buf.pop();
                }
            }
            Ok(buf)
        }
        Some(t) => Ok(t.to_owned()),
    }
}

fn parse<T: std::str::FromStr<Err = hipchat::ValidationError>>(
    value: Option<&str>,
) -> Result<Option<T>, Failure> {
    value
        .map(str::parse::<T>)
        .transpose()
        .map_err(|e: hipchat::ValidationError| Failure::Usage(e.to_string()))
}

/// Runs `hipkit send`.
pub async fn run(args: SendArgs, file: FileConfig) -> Result<(), Failure> {
    let (target, text) = target_and_text(&args)?;
    let format: Option<MessageFormat> = parse(args.format.as_deref())?;
    let color: Option<Color> = parse(args.color.as_deref())?;
    let text = read_text(text)?;
    let client = client(&args.server, &file)?;
    match target {
        Target::Room(room) => {
            let sender = args.from.clone().or(file.hipchat.default_sender.clone());
            let notification = RoomNotification {
                message: text,
                message_format: format,
                color,
                notify: args.notify,
                from: sender,
                ..RoomNotification::default()
            };
            client.send_notification(&room, &notification).await?;
        }
        Target::User(user) => {
            if color.is_some() {
                return Err(Failure::Usage(
                    "--color applies to room notifications only, not private messages".into(),
                ));
            }
            let message = PrivateMessage {
                message: text,
                notify: args.notify,
                message_format: format,
            };
            client.send_private_message(&user, &message).await?;
        }
    }
    Ok(())
}
