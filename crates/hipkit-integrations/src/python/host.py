"""hipkit's warm Python host for one integration (NAME.py defining run_integration).

Speaks JSON lines with hipkit: requests on stdin, answers on the original stdout (kept as a
private descriptor); everything the integration prints goes to stderr, which hipkit logs.
"""
import importlib.util
import inspect
import json
import os
import sys
import threading
import time
import traceback
import queue

_proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
_write_lock = threading.Lock()


def send(message):
    line = json.dumps(message, default=_plain, ensure_ascii=False)
    with _write_lock:
        _proto.write(line + "\n")
        _proto.flush()


def _plain(value):
    """Objects (cards, attributes) become their attribute dicts, as the seed's helpers sent them."""
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError("%s is not JSON serialisable" % type(value).__name__)


# ---- storage: a dict whose changes are sent back when each call returns ----

_call = threading.local()


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


class Storage(dict):
    """The integration's storage: the seed's dict, remembering what each call touched."""

    def __init__(self, entries):
        super().__init__((decode_key(k), v) for k, v in entries.items())
        self._persisted = {k: json.dumps(v, sort_keys=True) for k, v in self.items()}
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
                        text = json.dumps(value, sort_keys=True)
                    except (TypeError, ValueError) as e:
                        errors.append("storage[%r] is not JSON: %s" % (key, e))
                        continue
                    if self._persisted.get(key) != text:
                        changed[stored] = value  # serialised by send() before the call ends
                        self._persisted[key] = text
                elif key in self._persisted:
                    del self._persisted[key]
                    deleted.append(stored)
        return changed, deleted, errors


# ---- calls ----

from notification import Notification  # noqa: E402 (after stdout is redirected)
from server import Logger  # noqa: E402


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = getattr(module, "run_integration", None)
    if not callable(run):
        raise AttributeError("%s defines no run_integration function" % path)
    params = inspect.signature(run).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        accepted = None
    else:
        accepted = set(params)
    return run, accepted


def call(run, accepted, storage, name, request):
    call_id = request["id"]
    _call.touched = set()
    result, error = None, None
    try:
        notification = Notification.from_payload(request["notification"])
        kwargs = {
            "notification": notification,
            "query": request["query"],
            "all_tokens": request["all_tokens"],
            "token": request["token"],
            "storage": storage,
            "log": Logger(name, call_id, send),
        }
        if accepted is not None:
            kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        result = run(**kwargs)
    except BaseException as e:  # the integration's failure is reported, never fatal here
        error = "%s: %s" % (type(e).__name__, e)
        result = None
        send({"op": "log", "id": call_id, "level": "error", "message": traceback.format_exc()})
    touched, _call.touched = _call.touched, None
    changed, deleted, errors = storage.changes(touched)
    if errors and error is None:
        error = "; ".join(errors)
    done = {"op": "done", "id": call_id, "result": result, "error": error,
            "set": changed, "del": deleted}
    try:
        send(done)
    except (TypeError, ValueError) as e:  # a reply that is not JSON
        done["result"] = None
        done["error"] = "the reply is not JSON: %s" % e
        send(done)


def main():
    init = json.loads(sys.stdin.buffer.readline())
    import hipchat._client
    hipchat._client.configure(init["endpoint"], init["insecure"], init["http_timeout"])
    try:
        run, accepted = load(init["path"], init["name"])
    except BaseException as e:
        send({"op": "failed", "error": "%s: %s" % (type(e).__name__, e),
              "traceback": traceback.format_exc()})
        return
    storage = Storage(init["storage"])
    name = init["name"]
    send({"op": "ready"})
    pool = Pool(lambda request: call(run, accepted, storage, name, request), init["concurrency"])
    for line in sys.stdin.buffer:
        pool.put(json.loads(line))
    pool.close()


class Pool:
    """Worker threads for calls (hipkit sends at most `limit` at once). One thread to start;
    another only while calls wait and every thread has been inside one call for longer than
    STUCK seconds (an integration that blocks), up to `limit`. Fast calls stay on one thread:
    handing the GIL between idle threads costs more than the calls themselves."""

    STUCK = 0.005

    def __init__(self, handle, limit):
        self._handle = handle
        self._limit = max(1, limit)
        self._calls = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._since = {}  # thread -> when its current call started, None while idle
        self._threads = []
        self._closed = threading.Event()
        self._pending = threading.Event()  # set while calls may be waiting: wakes the watcher
        self._spawn()
        if self._limit > 1:
            threading.Thread(target=self._watch, daemon=True).start()

    def put(self, request):
        self._calls.put(request)
        self._pending.set()

    def close(self):
        """Lets queued calls finish, then stops every thread."""
        self._closed.set()
        self._pending.set()
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._calls.put(None)
        for thread in threads:
            thread.join()

    def _spawn(self):
        thread = threading.Thread(target=self._work, daemon=True)
        self._since[thread] = None
        self._threads.append(thread)
        thread.start()

    def _work(self):
        me = threading.current_thread()
        while True:
            request = self._calls.get()
            if request is None:
                return
            with self._lock:
                self._since[me] = time.monotonic()
            try:
                self._handle(request)
            finally:
                with self._lock:
                    self._since[me] = None

    def _watch(self):
        # Sleeps while nothing waits, so an idle host costs no wake-ups.
        while self._pending.wait() and not self._closed.wait(self.STUCK):
            if self._calls.empty():
                self._pending.clear()
                if not self._calls.empty():  # a call queued between the check and the clear
                    self._pending.set()
                continue
            with self._lock:
                if len(self._threads) >= self._limit:
                    return
                now = time.monotonic()
                if all(s is not None and now - s >= self.STUCK for s in self._since.values()):
                    self._spawn()

if __name__ == "__main__":
    main()
