"""The protocol with hipkit: JSON lines, requests on stdin and answers on the original stdout.

Importing this module keeps the original stdout as a private descriptor and points stdout at
stderr, so everything the integration prints goes to stderr, which hipkit logs."""
import json
import os
import sys
import threading

_proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
_write_lock = threading.Lock()


def _plain(value):
    """Objects (cards, attributes) become their attribute dicts, as the seed's helpers sent them."""
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError("%s is not JSON serialisable" % type(value).__name__)


# One encoder and decoder for every message (json.dumps/loads with options build new ones).
_encoder = json.JSONEncoder(default=_plain, ensure_ascii=False, allow_nan=False)
decoder = json.JSONDecoder()


def send(message, flush=True):
    """Writes one message; `flush=False` leaves it buffered until the next flush()."""
    line = _encoder.encode(message)
    with _write_lock:
        _proto.write(line + "\n")
        if flush:
            _proto.flush()


def flush():
    with _write_lock:
        _proto.flush()
