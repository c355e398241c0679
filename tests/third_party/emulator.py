"""Starts a real `hipkit emulator` on a free loopback port for the third-party checks."""
import contextlib
import json
import ssl
import subprocess
import urllib.parse
import urllib.request


@contextlib.contextmanager
def running(binary, token, *extra):
    """Yields the base URL of `hipkit emulator --token TOKEN EXTRA...`; stops it after."""
    proc = subprocess.Popen(
        [binary, "emulator", "--listen", "127.0.0.1:0", "--token", token, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"{binary} emulator did not start")
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def history(base, token, room):
    """The newest messages of `room` through the v2 API, oldest first."""
    url = f"{base}/v2/room/{urllib.parse.quote(room)}/history/latest?max-results=100"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    context = ssl._create_unverified_context()  # the emulator's --tls cert is self-signed
    with urllib.request.urlopen(req, context=context) as resp:
        return json.load(resp)["items"]
