"""Third-party HipChat v1 clients (from PyPI, unchanged) against the hipkit emulator.

Usage: python3 v1_clients_check.py PATH_TO_HIPKIT_BINARY
- djhipchat2 0.5.1 (on Django 1.8, configured with settings.configure): send_message by room
  id and by room name, and its logging handler, each land in the room. The one change made
  to it is pointing its hard-coded base URL (djhipchat.backends.request.HIPCHAT_API_URL) at
  the emulator; djhipchat2 never checks the answer, so the room's history is the proof.
- python-simple-hipchat 0.4.0 (its `url` argument set to the emulator): list_rooms,
  find_room, show_room and message_room succeed and the message lands.
Exits non-zero on any mismatch.
"""
import logging
import sys

import emulator

TOKEN = "v1-clients-token"
ROOM = "Build Room"


def check_djhipchat2(base):
    from django.conf import settings

    settings.configure(
        HIPCHAT_BACKEND="djhipchat.backends.request.HipChatBackend",
        HIPCHAT_API_TOKEN=TOKEN,
        HIPCHAT_DEFAULT_SENDER="Django",
    )
    import djhipchat
    import djhipchat.backends.request
    from djhipchat.logger import HipChatHandler

    djhipchat.backends.request.HIPCHAT_API_URL = f"{base}/v1/rooms/message"

    djhipchat.send_message("1", "<b>deployed</b> by id", color="green", notify=True)
    djhipchat.send_message(ROOM, "deployed by name", sender="Deploy-Bot", message_format="text")
    log = logging.getLogger("djhipchat2-check")
    log.propagate = False
    log.addHandler(HipChatHandler(ROOM, colors={"ERROR": "red"}))
    log.error("Message: %d", 5)

    items = emulator.history(base, TOKEN, ROOM)
    got = [(i["from"], i["message"], i["message_format"], i["color"]) for i in items]
    want = [
        ("Django", "<b>deployed</b> by id", "html", "green"),
        ("Deploy-Bot", "deployed by name", "text", "yellow"),
        ("Django", "Message: 5", "text", "red"),
    ]
    assert got == want, got
    assert items[0]["notify"] is True and items[1]["notify"] is False, items


def check_simple_hipchat(base):
    import hipchat

    hc = hipchat.HipChat(token=TOKEN, url=f"{base}/v1/")
    rooms = hc.list_rooms()["rooms"]
    assert [r["name"] for r in rooms] == [ROOM], rooms
    room = hc.find_room(ROOM)
    assert room["room_id"] == 1, room
    shown = hc.show_room(room_id=room["room_id"])["room"]
    assert shown["name"] == ROOM and shown["participants"] == [], shown
    sent = hc.message_room(room["room_id"], "simple-hipchat", "hello from v1", color="purple")
    assert sent == {"status": "sent"}, sent
    last = emulator.history(base, TOKEN, ROOM)[-1]
    assert (last["from"], last["message"], last["color"]) == (
        "simple-hipchat",
        "hello from v1",
        "purple",
    ), last


def main(binary):
    with emulator.running(binary, TOKEN, "--room", ROOM) as base:
        check_djhipchat2(base)
    with emulator.running(binary, TOKEN, "--room", ROOM) as base:
        check_simple_hipchat(base)
    print(
        "v1 third-party clients: OK (djhipchat2 send_message by id and by name, its logging "
        "handler; python-simple-hipchat list, find, show, message)"
    )


if __name__ == "__main__":
    main(sys.argv[1])
