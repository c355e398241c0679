"""The integration's storage: a dict whose changes are sent back when each call returns."""
import json
import threading

_call = threading.local()


def begin_call():
    """Starts recording which keys this thread's call touches; returns that set."""
    _call.touched = touched = set()
    return touched


def end_call():
    """Stops recording for this thread's call."""
    _call.touched = None


def encode_key(key):
    """Store keys are strings: int keys become '#N', strings starting with '#' get one more."""
    if isinstance(key, bool) or key is None or isinstance(key, float):
        return json.dumps(key)
    if isinstance(key, int):
        return "#%d" % key
    if isinstance(key, str):
        return "#" + key if key.startswith("#") else key
    raise TypeError("storage keys must be str or int, not %s" % type(key).__name__)


def decode_key(stored):
    if stored.startswith("##"):
        return stored[1:]
    if stored.startswith("#"):
        digits = stored[1:]
        if digits.lstrip("-").isdigit():
            return int(digits)
    return stored


_SCALARS = (str, int, bool, type(None))  # compared as they are; floats are checked by json
_canonical = json.JSONEncoder(sort_keys=True, allow_nan=False)


def snapshot(value):
    """What a stored value is compared by: a scalar itself (with its type: True is not 1),
    anything else its canonical JSON (ValueError or TypeError when it is not JSON)."""
    if type(value) in _SCALARS:
        return (type(value), value)
    return _canonical.encode(value)


class Storage(dict):
    """The integration's storage: the seed's dict, remembering what each call touched."""

    def __init__(self, entries):
        super().__init__((decode_key(k), v) for k, v in entries.items())
        self._persisted = {k: snapshot(v) for k, v in self.items()}
        self._lock = threading.Lock()

    def _touch(self, key):
        touched = getattr(_call, "touched", None)
        if touched is not None:
            touched.add(key)

    def _touch_all(self):
        touched = getattr(_call, "touched", None)
        if touched is not None:
            touched.update(self.keys())

    def __getitem__(self, key):
        self._touch(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._touch(key)
        return super().get(key, default)

    def __setitem__(self, key, value):
        self._touch(key)
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self._touch(key)
        super().__delitem__(key)

    def pop(self, key, *default):
        self._touch(key)
        return super().pop(key, *default)

    def popitem(self):
        key, value = super().popitem()
        self._touch(key)
        return key, value

    def setdefault(self, key, default=None):
        self._touch(key)
        return super().setdefault(key, default)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self):
        self._touch_all()
        super().clear()

    def values(self):
        self._touch_all()
        return super().values()

    def items(self):
        self._touch_all()
        return super().items()

    def copy(self):
        self._touch_all()
        return dict(super().items())

    def changes(self, touched):
        """What changed among `touched` since it was last persisted: (set, deleted, errors)."""
        changed, deleted, errors = {}, [], []
        with self._lock:
            for key in touched:
                try:
                    stored = encode_key(key)
                except TypeError as e:
                    errors.append(str(e))
                    continue
                if dict.__contains__(self, key):
                    value = dict.__getitem__(self, key)
                    try:
                        now = snapshot(value)
                    except (TypeError, ValueError) as e:
                        errors.append("storage[%r] is not JSON: %s" % (key, e))
                        continue
                    if self._persisted.get(key) != now:
                        changed[stored] = value  # serialised by send() before the call ends
                        self._persisted[key] = now
                elif key in self._persisted:
                    del self._persisted[key]
                    deleted.append(stored)
        return changed, deleted, errors
