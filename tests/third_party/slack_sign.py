"""Signs a Slack request the way Slack does, with Slack's own Python SDK (slack_sdk), so
hipkit's verification is checked against a third-party implementation, not against itself.

Reads {"secret": ..., "timestamp": ..., "body": ...} as JSON on stdin (a secret stays off the
command line) and prints the X-Slack-Signature value. Used by
crates/hipkit-integrations/tests/slash.rs; scripts/test installs slack_sdk.
"""
import json
import sys

from slack_sdk.signature import Clock, SignatureVerifier


class At(Clock):
    """A clock stopped at the request's own time."""

    def __init__(self, at):
        self.at = float(at)

    def now(self):
        return self.at


request = json.load(sys.stdin)
verifier = SignatureVerifier(request["secret"], clock=At(request["timestamp"]))
signature = verifier.generate_signature(timestamp=str(request["timestamp"]), body=request["body"])
# The SDK's own check must accept what it signed (at the request's own time).
headers = {"x-slack-request-timestamp": str(request["timestamp"]), "x-slack-signature": signature}
if not verifier.is_valid_request(request["body"], headers):
    sys.exit("slack_sdk does not accept its own signature")
print(signature)
