"""Old HipChat clients from PyPI, unchanged, pointed at the bridge of a real `hipkit serve`.

Usage: python3 bridge_clients_check.py PATH_TO_HIPKIT_BINARY
The bridge's one room forwards to a real `hipkit emulator` (the `hipchat` destination kind),
whose history is the proof that each call was accepted, queued and delivered:
- djhipchat2 0.5.1 (v1 form posts; its base URL pointed at the bridge): send_message by room
  id and by name, and its logging handler;
- python-simple-hipchat 0.4.0 (v1, `url` set to the bridge): message_room;
- HypChat 0.21 (v2): room lookup by name and the room list over plain http (HypChat then
  returns the JSON), and, with the bridge serving HTTPS (`tls = true`; HypChat maps answers
  to Room and User objects only for https links), `get_room(...).notification(...)`,
  `.message(...)` and `get_user(email).message(...)`.
Exits non-zero on any mismatch.
"""
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import warnings

import emulator

TOKEN = "bridge-third-party-token"
EMULATOR_TOKEN = "bridge-third-party-emulator-token"
ROOM = "Build Room"

CONFIG = """
[bridge]
listen = "127.0.0.1:0"
tls = {tls}
tokens = [{{ token = "{token}", scopes = ["send_notification", "send_message", "view_room", "view_group"] }}]

[[bridge.rooms]]
name = "{room}"
id = 1
to = ["old-hipchat"]

[[bridge.destinations]]
name = "old-hipchat"
kind = "hipchat"
endpoint = "{emulator}"
token = "{emulator_token}"

[[bridge.users]]
name = "Erin Example"
email = "{email}"
to = ["old-hipchat"]
"""
EMAIL = "erin@example.com"


@contextlib.contextmanager
def bridge(binary, emulator_base, tls=False):
    """Yields the bridge URL of `hipkit serve` forwarding ROOM (and EMAIL's private messages)
    to the emulator; HTTPS with a self-signed certificate when `tls`."""
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "hipkit.toml")
        with open(config, "w") as f:
            f.write(
                CONFIG.format(
                    token=TOKEN,
                    room=ROOM,
                    emulator=emulator_base,
                    emulator_token=EMULATOR_TOKEN,
                    email=EMAIL,
                    tls="true" if tls else "false",
                )
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCHAT_", "HIPKIT_"))}
        env.update(
            HIPKIT_CONFIG=config,
            HIPKIT_STORE=os.path.join(tmp, "hipkit.db"),
            HIPCHAT_ENDPOINT=emulator_base,
            HIPCHAT_API_TOKEN=EMULATOR_TOKEN,
        )
        proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            url = None
            for line in proc.stdout:
                words = line.split()
                if words[:1] == ["bridge:"]:
                    url = next(w for w in words if w.startswith(("http://", "https://")))
                if words[:1] == ["delivery:"]:
                    break
            if url is None:
                raise SystemExit(f"{binary} serve printed no bridge: line")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def wait_for_history(base, count):
    """The emulator room's messages once there are `count` (or fail after 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        items = emulator.history(base, EMULATOR_TOKEN, ROOM)
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def wait_for_private(base, count):
    """The emulator's private chat with EMAIL once it has `count` messages (or after 30 s)."""
    url = f"{base}/v2/user/{urllib.parse.quote(EMAIL)}/history/latest?max-results=100"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {EMULATOR_TOKEN}"})
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(req) as resp:
            items = json.load(resp)["items"]
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def check_djhipchat2(url):
    from django.conf import settings

    settings.configure(
        HIPCHAT_BACKEND="djhipchat.backends.request.HipChatBackend",
        HIPCHAT_API_TOKEN=TOKEN,
        HIPCHAT_DEFAULT_SENDER="Django",
    )
    import djhipchat
    import djhipchat.backends.request
    from djhipchat.logger import HipChatHandler

    djhipchat.backends.request.HIPCHAT_API_URL = f"{url}/v1/rooms/message"
    djhipchat.send_message("1", "<b>deployed</b> by id", color="green", notify=True)
    djhipchat.send_message(ROOM, "deployed by name", sender="Deploy-Bot", message_format="text")
    log = logging.getLogger("djhipchat2-bridge-check")
    log.addHandler(HipChatHandler("1", color="red"))
    log.error("Message: %d", 5)


def check_simple_hipchat(url):
    import hipchat

    hc = hipchat.HipChat(token=TOKEN, url=f"{url}/v1/")
    sent = hc.message_room(1, "simple-hipchat", "hello from v1", color="purple")
    assert sent == {"status": "sent"}, sent


def check_hypchat_lookups(url):
    import hypchat

    hc = hypchat.HypChat(TOKEN, endpoint=url)
    room = hc.get_room(ROOM)
    assert room["id"] == 1 and room["name"] == ROOM, room
    names = [r["name"] for r in hc.rooms()["items"]]
    assert names == [ROOM], names


def check_hypchat_over_https(url):
    import hypchat

    hc = hypchat.HypChat(TOKEN, endpoint=url, verify=False)
    room = hc.get_room(ROOM)
    room.notification("built by hypchat", color="green", notify=True)
    room.message("typed by hypchat")
    hc.get_user(EMAIL).message("private hello")


def main(binary):
    warnings.simplefilter("ignore")
    with emulator.running(binary, EMULATOR_TOKEN, "--room", ROOM, "--user", EMAIL) as base:
        with bridge(binary, base) as url:
            check_hypchat_lookups(url)
            check_djhipchat2(url)
            check_simple_hipchat(url)
            items = wait_for_history(base, 4)
        with bridge(binary, base, tls=True) as url:
            check_hypchat_over_https(url)
            items = wait_for_history(base, 6)
            chat = wait_for_private(base, 1)
    got = [(i["from"], i["message"], i.get("color")) for i in items]
    want = [
        ("Django", "<b>deployed</b> by id", "green"),
        ("Deploy-Bot", "deployed by name", "yellow"),
        ("Django", "Message: 5", "red"),
        ("simple-hipchat", "hello from v1", "purple"),
        ("", "built by hypchat", "green"),
    ]
    assert got[:5] == want, items
    assert items[4]["notify"] is True, items[4]
    assert items[5]["message"] == "typed by hypchat", items[5]
    assert [i["message"] for i in chat] == ["private hello"], chat
    print(
        "bridge third-party clients: OK (HypChat room lookup and list, and over HTTPS its "
        "notification, room message and private message; djhipchat2 send_message "
        "by id and by name and its logging handler, python-simple-hipchat message_room, each "
        "delivered through the outbox to the emulator, in order)"
    )


if __name__ == "__main__":
    main(sys.argv[1])
