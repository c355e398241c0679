//! `hipkit send`: one room notification or private message, with clear exit codes.

use crate::cli::SendArgs;
use crate::failure::Failure;
use hipchat::{PrivateMessage, RoomNotification, RoomRef, UserRef};
use hipkit::Settings;
use std::io::{IsTerminal, Read};

/// Where the message goes and what it says.
enum Target {
    Room(RoomRef),
    User(UserRef),
}

fn target_and_text(args: &SendArgs) -> Result<(Target, Option<String>), Failure> {
    match (&args.user, &args.room, &args.message) {
        (Some(_), _, Some(_)) => Err(Failure::usage(
            "with --user, give only the MESSAGE (no ROOM)",
        )),
        (Some(user), text, None) => Ok((Target::User(UserRef::parse(user)), text.clone())),
        (None, Some(room), text) => Ok((Target::Room(RoomRef::parse(room)), text.clone())),
        (None, None, _) => Err(Failure::usage(
            "missing ROOM (or --user ID_OR_EMAIL): hipkit send ROOM MESSAGE",
        )),
    }
}

/// What `hipkit send` says when it reads the message from a terminal.
const STDIN_HINT: &str = "hipkit send: reading the message from the terminal: type it, then \
press Ctrl-D on an empty line to send it (Ctrl-C cancels). To send without typing, give it: \
hipkit send ROOM MESSAGE, or pipe it: echo MESSAGE | hipkit send ROOM";

fn read_text(text: Option<String>) -> Result<String, Failure> {
    match text.as_deref() {
        Some("-") | None => {
            let stdin = std::io::stdin();
            // A person at a terminal would otherwise see nothing happen.
            if stdin.is_terminal() {
                eprintln!("{STDIN_HINT}");
            }
            let mut buf = String::new();
            stdin
                .lock()
                .read_to_string(&mut buf)
                .map_err(|e| Failure::usage(format!("cannot read the message from stdin: {e}")))?;
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

/// Runs `hipkit send`.
pub async fn run(args: &SendArgs, settings: Settings) -> Result<(), Failure> {
    let (target, text) = target_and_text(args)?;
    if matches!(target, Target::User(_)) && args.color.is_some() {
        return Err(Failure::usage(
            "--color applies to room notifications only, not private messages",
        ));
    }
    let text = read_text(text)?;
    let client = settings.hipchat.build()?;
    match target {
        Target::Room(room) => {
            let notification = RoomNotification {
                message: text,
                message_format: args.format,
                color: args.color,
                notify: args.notify,
                from: settings.hipchat.default_sender.clone(),
                ..RoomNotification::default()
            };
            client.send_notification(&room, &notification).await?;
        }
        Target::User(user) => {
            let message = PrivateMessage {
                message: text,
                notify: args.notify,
                message_format: args.format,
            };
            client.send_private_message(&user, &message).await?;
        }
    }
    Ok(())
}
