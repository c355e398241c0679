"""Calls: loading the integration's run_integration, and running one call of it."""
import importlib.util
import inspect
import traceback

from _hipkit_host.protocol import decoder, send
from _hipkit_host.storage import begin_call, end_call
from notification import Notification
from server import Logger

_ARGUMENTS = {"notification", "query", "all_tokens", "token", "storage", "log"}


def load(path, name):
    """The script's run_integration, and the arguments it accepts (None: every one)."""
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


def call(run, accepted, storage, name, line):
    """Runs one call: `line` is the call's JSON, a tab, and the webhook payload's JSON."""
    head, _, payload = line.partition(b"\t")
    request = decoder.raw_decode(head.decode("utf-8"))[0]  # compact JSON from hipkit
    call_id = request["id"]
    touched = begin_call()
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
    end_call()
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
