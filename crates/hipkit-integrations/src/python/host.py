"""hipkit's warm Python host for one integration (NAME.py defining run_integration).

Speaks JSON lines with hipkit: requests on stdin, answers on the original stdout (kept as a
private descriptor); everything the integration prints goes to stderr, which hipkit logs.
Its parts are in the `_hipkit_host` package beside it.
"""
import json
import os
import signal
import sys
import traceback

from _hipkit_host.protocol import send  # first: it redirects stdout
from _hipkit_host.calls import call, load
from _hipkit_host.pool import Pool
from _hipkit_host.storage import Storage


_PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper():
    """Orphans of what the integration starts (also after `setsid` or a double fork) come
    back to this host instead of init, so they are found below it and stopped with it."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _below(root):
    """The pids below `root`, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as stat:
                ppid = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _stop_descendants():
    """Kills whatever the integration left running, before the host exits."""
    me = os.getpid()
    for _ in range(16):
        below = _below(me)
        if not below:
            return
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass


def _read_storage():
    """The storage hipkit sends after the settings: `[key, size, value]` lines, then an
    empty one. Each line is dropped once read, so the host holds the values only once."""
    entries, sizes = {}, {}
    for line in iter(sys.stdin.buffer.readline, b"\n"):
        if not line:
            raise EOFError("hipkit closed the host's input while sending its storage")
        key, size, value = json.loads(line)
        entries[key] = value
        sizes[key] = size
    return entries, sizes


def main():
    if not _become_subreaper():
        sys.stderr.write("hipkit: cannot become a child subreaper: processes the integration "
                         "starts in a new session may outlive it\n")
    init = json.loads(sys.stdin.buffer.readline())
    entries, sizes = _read_storage()
    import hipchat._client
    hipchat._client.configure(init["endpoint"], init["insecure"], init["http_timeout"])
    try:
        run, accepted = load(init["path"], init["name"])
    except BaseException as e:
        send({"op": "failed", "error": "%s: %s" % (type(e).__name__, e),
              "traceback": traceback.format_exc()})
        return
    storage = Storage(entries, sizes, init["quota"])
    name = init["name"]
    send({"op": "ready"})
    Pool(lambda line: call(run, accepted, storage, name, line), init["concurrency"]).run()
    _stop_descendants()


if __name__ == "__main__":
    main()
