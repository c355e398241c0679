"""hipkit-translate's Slack bodies checked with Slack's own Python SDK (slack_sdk, from PyPI).

Usage: python3 slack_payloads_check.py [SNAPSHOT_DIR]
(default: crates/hipkit-translate/tests/snapshots/slack, which the crate's snapshot test keeps
equal to what `translate(Platform::Slack, ...)` returns). Every body must use only the keys the
SDK's WebhookClient.send takes (plus the legacy webhook's username / icon overrides), every
attachment must build as the SDK's Attachment (fields as AttachmentField) with no key dropped
and pass its validate_json(), and every block must parse as a Block Kit block and validate.
Exits non-zero naming each invalid body. Before that, it checks that it refuses a body known
to be invalid, so a checker that accepts everything cannot pass.
"""
import inspect
import json
import pathlib
import sys

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.attachments import Attachment, AttachmentField
from slack_sdk.models.blocks import Block
from slack_sdk.webhook import WebhookClient

# What a legacy custom-integration incoming webhook also takes (Slack's legacy webhook docs);
# hipkit-translate writes them only when a destination sets Options::username / icon_url.
LEGACY_KEYS = {"username", "icon_url", "icon_emoji"}
BODY_KEYS = (set(inspect.signature(WebhookClient.send).parameters) - {"self", "headers"}) | LEGACY_KEYS


def attachment_problems(raw):
    """Why `raw` is not a valid Slack attachment (empty when it is)."""
    problems = []
    known = Attachment.attributes | {"mrkdwn_in", "fields"}
    unknown = set(raw) - known
    if unknown:
        problems.append(f"attachment keys Slack's SDK does not know: {sorted(unknown)}")
    args = {k: v for k, v in raw.items() if k in Attachment.attributes and k != "fields"}
    args["text"] = raw.get("text")
    args["markdown_in"] = raw.get("mrkdwn_in")
    try:
        args["fields"] = [AttachmentField(**f) for f in raw.get("fields", [])]
        attachment = Attachment(**args)
        attachment.validate_json()
        for field in attachment.fields:
            field.validate_json()
    except (SlackObjectFormationError, TypeError, ValueError) as e:
        return problems + [f"attachment refused by slack_sdk: {e}"]
    # The SDK's own serialisation must give the same attachment back (an empty mrkdwn_in or
    # fields is the same as none).
    def normal(d):
        return {k: v for k, v in d.items() if not (k in ("mrkdwn_in", "fields") and not v)}

    expected, rebuilt = normal(raw), normal(attachment.to_dict())
    differing = sorted(k for k in expected.keys() | rebuilt.keys() if expected.get(k) != rebuilt.get(k))
    if differing:
        problems.append(f"attachment keys changed by a round trip through slack_sdk: {differing}")
    return problems


def body_problems(body):
    """Why `body` is not a valid Slack incoming-webhook body (empty when it is)."""
    if not isinstance(body, dict):
        return [f"body is not a JSON object: {body!r}"]
    problems = []
    unknown = set(body) - BODY_KEYS
    if unknown:
        problems.append(f"body keys a Slack webhook does not take: {sorted(unknown)}")
    if not any(body.get(k) for k in ("text", "attachments", "blocks")):
        problems.append("body has no text, attachments or blocks")
    if "text" in body and not isinstance(body["text"], str):
        problems.append("text is not a string")
    attachments = body.get("attachments", [])
    if not isinstance(attachments, list):
        problems.append("attachments is not an array")
        attachments = []
    for raw in attachments:
        problems += attachment_problems(raw)
    for raw in body.get("blocks", []):
        try:
            block = Block.parse(raw)
            if block is None:
                raise ValueError(f"unknown block type {raw.get('type')!r}")
            block.validate_json()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError) as e:
            problems.append(f"block refused by slack_sdk: {e}")
    return problems


def bodies_of(path):
    """The bodies in one snapshot file: a list of bodies, or (colours) name -> list."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        return [(f"{path.name}[{name}]", b) for name, bodies in data.items() for b in bodies]
    return [(path.name, b) for b in data]


def main(snapshots):
    # The checker must refuse what Slack refuses.
    for bad in (
        {"attachments": [{"text": "x", "color": "yellow"}]},
        {"attachments": [{"text": "x", "mrkdwn_in": ["title"]}]},
        {"attachments": [{"text": "x", "colour": "good"}]},
        {"text": "x", "embeds": []},
    ):
        if not body_problems(bad):
            sys.exit(f"slack_payloads_check: the checker accepted an invalid body: {bad}")

    files = sorted(snapshots.glob("*.json"))
    if not files:
        sys.exit(f"slack_payloads_check: no Slack snapshots in {snapshots}")
    failures, checked = [], 0
    for path in files:
        for name, body in bodies_of(path):
            checked += 1
            failures += [f"{name}: {p}" for p in body_problems(body)]
    if failures:
        sys.exit("slack_payloads_check: invalid Slack bodies:\n" + "\n".join(failures))
    print(f"slack_payloads_check: {checked} Slack bodies from {len(files)} snapshots valid for slack_sdk")


if __name__ == "__main__":
    root = pathlib.Path(__file__).resolve().parents[2]
    default = root / "crates/hipkit-translate/tests/snapshots/slack"
    main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else default)
