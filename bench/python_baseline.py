"""Baseline: today's Python clients, a requests.Session keep-alive loop sending notifications.

Usage: python3 python_baseline.py BASE_URL TOKEN ROOM SECONDS  → prints the count sent.
"""
import sys
import time

import requests


def main(base, token, room, seconds):
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + token
    url = "%s/v2/room/%s/notification" % (base, room)
    deadline = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < deadline:
        resp = session.post(url, json={"message": "python baseline", "color": "green"})
        if resp.status_code != 204:
            raise SystemExit("unexpected status %d: %s" % (resp.status_code, resp.text))
        sent += 1
    print(sent)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
