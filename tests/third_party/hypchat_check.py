"""A third-party HipChat v2 client (HypChat, from PyPI) against the hipkit emulator.

Usage: python3 hypchat_check.py PATH_TO_HIPKIT_BINARY
Creates a room and a user, sends a notification and a private message, reads both
histories, sets the room's topic and lists its members and participants (the links every
room carries). Exits non-zero on any mismatch. HypChat maps objects only for https links,
so the emulator runs with --tls and HypChat with verify=False.
"""
import sys
import warnings

import hypchat

import emulator

TOKEN = "third-party-token"


def main(binary):
    warnings.simplefilter("ignore")
    with emulator.running(binary, TOKEN, "--tls") as base:
        hc = hypchat.HypChat(TOKEN, endpoint=base, verify=False)

        room = hc.create_room("Third Party Room")
        user = hc.create_user("Erin Example", "erin@example.com")
        room.notification("built by hypchat", color="green", notify=True)
        hc.get_user(user["id"]).message("private hello")

        fetched = hc.get_room("Third Party Room")
        assert fetched["name"] == "Third Party Room", fetched
        history = fetched.history()
        items = history["items"]
        assert [i["message"] for i in items] == ["built by hypchat"], items
        assert items[0]["color"] == "green", items[0]
        assert items[0]["date"].tzinfo is not None  # HypChat parsed the ISO date

        chat = hc.get_user("erin@example.com").history()
        assert [i["message"] for i in chat["items"]] == ["private hello"], chat
        names = [u["name"] for u in hc.users()["items"]]
        assert "Erin Example" in names, names

        fetched.topic("green since #42")
        assert hc.get_room("Third Party Room")["topic"] == "green since #42"
        members = fetched.members()
        assert [m["mention_name"] for m in members["items"]] == ["admin"], members
        participants = fetched.participants()
        assert participants["items"] == [], participants
        print(
            "hypchat third-party client: OK (room, user, notification, private message, "
            "both histories, topic, members, participants)"
        )


if __name__ == "__main__":
    main(sys.argv[1])
