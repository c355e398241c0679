"""hipkit's warm Python host for one integration (NAME.py defining run_integration).

Speaks JSON lines with hipkit: requests on stdin, answers on the original stdout (kept as a
private descriptor); everything the integration prints goes to stderr, which hipkit logs.
Its parts are in the `_hipkit_host` package beside it.
"""
import json
import sys
import traceback

from _hipkit_host.protocol import send  # first: it redirects stdout
from _hipkit_host.calls import call, load
from _hipkit_host.pool import Pool
from _hipkit_host.storage import Storage


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


if __name__ == "__main__":
    main()
