"""The thread pool that runs calls as they arrive on stdin."""
import collections
import os
import select
import threading
import time

from _hipkit_host.protocol import flush


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
