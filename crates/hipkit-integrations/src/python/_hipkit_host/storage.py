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


_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def size_of(key, value):
    """What an entry takes against the quota: its stored key's bytes plus its value's compact
    JSON (hipkit measures the same when it saves; TypeError/ValueError when not JSON)."""
    return len(encode_key(key).encode("utf-8")) + len(_compact.encode(value).encode("utf-8"))


class StorageQuotaExceeded(ValueError):
    """Raised by `storage[key] = value` when the value would take the integration's storage
    over its quota ([integrations] storage_max_bytes / storage_max_keys)."""


def _mib(n):
    """`n` bytes for people (as hipkit shows them)."""
    if n < 1 << 20:
        return "%d bytes" % n
    return "%.1f MiB" % (n / float(1 << 20))


class Storage(dict):
    """The integration's storage: the seed's dict, remembering what each call touched, and
    refusing assignments that would exceed its quota."""

    QuotaExceeded = StorageQuotaExceeded

    def __init__(self, entries, sizes, quota):
        super().__init__((decode_key(k), v) for k, v in entries.items())
        self._persisted = {k: snapshot(v) for k, v in self.items()}
        self._lock = threading.Lock()
        self._sizes = {decode_key(k): n for k, n in sizes.items()}
        self._bytes = sum(self._sizes.values())
        self._quota = quota

    def _check(self, key, value):
        """Raises StorageQuotaExceeded when storing `value` under `key` would exceed the quota
        (measured against what is saved; hipkit checks again when the call ends)."""
        try:
            size = size_of(key, value)
        except (TypeError, ValueError):
            return  # not JSON: reported when the call ends
        with self._lock:
            old = self._sizes.get(key)
            keys = len(self._sizes) + (old is None)
            total = self._bytes - (old or 0) + size
        max_bytes, max_keys = self._quota["max_bytes"], self._quota["max_keys"]
        if size > (old or 0) and total > max_bytes:
            raise StorageQuotaExceeded(
                "storing %r (%s) would take this integration's storage to %s, over its quota "
                "of %s ([integrations] storage_max_bytes)"
                % (key, _mib(size), _mib(total), _mib(max_bytes)))
        if old is None and keys > max_keys:
            raise StorageQuotaExceeded(
                "storing %r would make %d keys, over this integration's quota of %d keys "
                "([integrations] storage_max_keys)" % (key, keys, max_keys))

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
        self._check(key, value)
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
        if not dict.__contains__(self, key):
            self._check(key, default)
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
                        self._resize(key, size_of(key, value))
                elif key in self._persisted:
                    del self._persisted[key]
                    deleted.append(stored)
                    self._resize(key, None)
        return changed, deleted, errors

    def _resize(self, key, size):
        """Records the saved size of `key` (None: removed); the caller holds the lock."""
        self._bytes -= self._sizes.pop(key, 0)
        if size is not None:
            self._sizes[key] = size
            self._bytes += size
