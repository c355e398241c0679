"""hipkit's warm Python host for one integration (NAME.py defining run_integration).

Speaks JSON lines with hipkit: requests on stdin, answers on the original stdout (kept as a
private descriptor); everything the integration prints goes to stderr, which hipkit logs.
"""
import collections
import importlib.util
import inspect
import json
import os
import select
import sys
import threading
import time
import traceback

_proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
_write_lock = threading.Lock()


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


def _plain(value):
    """Objects (cards, attributes) become their attribute dicts, as the seed's helpers sent them."""
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError("%s is not JSON serialisable" % type(value).__name__)


# One encoder and decoder for every message (json.dumps/loads with options build new ones).
_encoder = json.JSONEncoder(default=_plain, ensure_ascii=False, allow_nan=False)
_canonical = json.JSONEncoder(sort_keys=True, allow_nan=False)
_decoder = json.JSONDecoder()


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


_SCALARS = (str, int, bool, type(None))  # compared as they are; floats are checked by json


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
    if any(p.kind == p.VAR_KEYWORD for p in params.values()) or set(params) >= _ARGUMENTS:
        accepted = None  # every argument is passed
    else:
        accepted = set(params)
    return run, accepted


_ARGUMENTS = {"notification", "query", "all_tokens", "token", "storage", "log"}


def call(run, accepted, storage, name, line):
    """Runs one call: `line` is the call's JSON, a tab, and the webhook payload's JSON."""
    head, _, payload = line.partition(b"\t")
    request = _decoder.raw_decode(head.decode("utf-8"))[0]  # compact JSON from hipkit
    call_id = request["id"]
    _call.touched = touched = set()
    result, error = None, None
    try:
        kwargs = {
            "notification": Notification.from_json(payload),
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
    _call.touched = None
    changed, deleted, errors = storage.changes(touched)
    if errors and error is None:
        error = "; ".join(errors)
    done = {"op": "done", "id": call_id, "result": result, "error": error,
            "set": changed, "del": deleted}
    try:
        send(done, flush=False)  # the pool flushes when no further call is waiting
    except (TypeError, ValueError) as e:  # a reply that is not JSON
        done["result"] = None
        done["error"] = "; ".join(filter(None, [error, "the reply is not JSON: %s" % e]))
        send(done, flush=False)


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
    Pool(lambda line: call(run, accepted, storage, name, line), init["concurrency"]).run()


class Pool:
    """Runs calls on worker threads that read their calls themselves (leader/follower): a
    free thread reads whatever lines have arrived, then runs them one after another, and
    answers are flushed once no read call waits, so a burst costs one read and one write.

    One thread (the main one) to start; the watcher adds another only while calls wait and
    every thread has been inside one call for longer than STUCK seconds, blocked (asleep in
    I/O, not merely preempted or computing), up to `limit`; a thread finishing its call while
    another can take the next one retires. Fast calls stay on one thread: handing the GIL
    between threads costs more than the calls themselves. The watcher also flushes the
    answers of calls that finished before a call that blocks."""

    STUCK = 0.005

    def __init__(self, handle, limit):
        self._handle = handle
        self._limit = max(1, limit)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # idle threads wait here
        self._lines = collections.deque()  # calls read but not started
        self._partial = b""  # the start of a line still arriving (owned by the reader)
        self._reading = False  # a thread is reading stdin
        self._eof = False
        self._since = {}  # thread -> when its current call started, None while idle
        self._threads = []
        self._running = threading.Event()  # set while calls may run: wakes the watcher

    def run(self):
        """Works on the calling thread until stdin closes and every call has finished."""
        me = threading.current_thread()
        with self._lock:
            self._since[me] = None
            self._threads.append(me)
        threading.Thread(target=self._watch, daemon=True).start()
        self._work()
        while True:
            with self._lock:
                others = [t for t in self._threads if t is not me and t.is_alive()]
            if not others:
                break
            for thread in others:
                thread.join()
        flush()

    def _spawn(self):
        thread = threading.Thread(target=self._work, daemon=True)
        self._since[thread] = None
        self._threads.append(thread)
        thread.start()

    def _next(self, me):
        """The next line to run, or None to read more; raises StopIteration at the end."""
        with self._lock:
            while True:
                if self._lines:
                    self._since[me] = time.monotonic()
                    return self._lines.popleft()
                if self._eof:
                    raise StopIteration
                if not self._reading:
                    self._reading = True
                    return None
                self._wake.wait()

    def _read(self):
        data = os.read(0, 1 << 16)  # releases the GIL while waiting
        *complete, self._partial = (self._partial + data).split(b"\n")
        with self._lock:
            self._reading = False
            self._eof = not data
            self._lines.extend(line for line in complete if line.strip())
            # Lines for idle threads beyond the one this thread runs next; and someone
            # to read while this one runs calls, if a thread is idle.
            self._wake.notify(len(self._lines))

    def _work(self):
        me = threading.current_thread()
        while True:
            try:
                line = self._next(me)
            except StopIteration:
                with self._lock:
                    self._wake.notify_all()
                return
            if line is None:
                self._read()
                continue
            if not self._running.is_set():
                self._running.set()
            try:
                self._handle(line)
            finally:
                with self._lock:
                    self._since[me] = None
                    idle = not self._lines
                if idle:
                    flush()
            if idle and len(self._threads) > 1 and self._retire(me):
                return

    def _retire(self, me):
        """Ends this thread if another thread is free or busy only briefly (the threads the
        watcher added for blocking calls go again once nothing blocks)."""
        with self._lock:
            now = time.monotonic()
            free = any(s is None or now - s < self.STUCK
                       for t, s in self._since.items() if t is not me)
            if not free:
                return False
            del self._since[me]
            self._threads.remove(me)
            self._wake.notify()  # someone must read, now that this thread will not
            return True

    def _watch(self):
        # Sleeps while no call runs, so an idle host costs no wake-ups.
        while self._running.wait():
            time.sleep(self.STUCK)
            with self._lock:
                now = time.monotonic()
                started = [s for s in self._since.values() if s is not None]
                if not started:
                    self._running.clear()
                    continue
                stuck = [t for t, s in self._since.items()
                         if s is not None and now - s >= self.STUCK]
                grow = (len(stuck) == len(self._threads) < self._limit
                        and (self._lines or select.select([0], [], [], 0)[0])
                        and all(_asleep(t) for t in stuck))
                if grow:
                    self._spawn()
            if stuck:
                flush()  # answers of calls that finished before the one that blocks


def _asleep(thread):
    """Whether `thread` is blocked (waiting in the kernel), from /proc; True if unknown."""
    try:
        with open("/proc/self/task/%d/stat" % thread.native_id) as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (AttributeError, OSError, IndexError, TypeError):
        return True
    return state in ("S", "D")


if __name__ == "__main__":
    main()
