"""HTTP to the configured HipChat endpoint: kept-alive connections, a timeout, errors raised."""
import http.client
import json
import ssl
import threading
import urllib.parse

_config = {"scheme": "http", "host": "127.0.0.1", "port": 8180, "base": "", "insecure": False,
           "timeout": 30.0}
_local = threading.local()

try:  # scripts that catch requests' HTTPError keep working
    from requests.exceptions import HTTPError as _Base
except Exception:  # requests is optional
    _Base = Exception


class Response:
    """The failed response: status_code, text and json(), like requests'."""

    def __init__(self, status_code, text):
        self.status_code = status_code
        self.text = text

    def json(self):
        return json.loads(self.text)


class HTTPError(_Base):
    """HipChat answered with an error status."""

    def __init__(self, message, response):
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code


def configure(endpoint, insecure, timeout):
    url = urllib.parse.urlsplit(endpoint)
    _config.update(scheme=url.scheme, host=url.hostname, base=url.path.rstrip("/"),
                   port=url.port or (443 if url.scheme == "https" else 80),
                   insecure=bool(insecure), timeout=float(timeout))


def _connection(fresh=False):
    conn = getattr(_local, "conn", None)
    if conn is None or fresh:
        if conn is not None:
            conn.close()
        if _config["scheme"] == "https":
            context = ssl.create_default_context()
            if _config["insecure"]:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(_config["host"], _config["port"],
                                               timeout=_config["timeout"], context=context)
        else:
            conn = http.client.HTTPConnection(_config["host"], _config["port"],
                                              timeout=_config["timeout"])
        _local.conn = conn
    return conn


def room_path(room, what):
    return "/v2/room/%s/%s" % (urllib.parse.quote(str(room), safe=""), what)


def post(token, path, body, content_type):
    """POSTs `body` (bytes) with the integration's token; returns the response text."""
    if token is None:
        raise TypeError("token is None: give the integration a token "
                        "(NAME:TOKEN or ROOM_ID:NAME:TOKEN)")
    headers = {"Content-Type": content_type, "Authorization": "Bearer " + str(token)}
    for attempt in (0, 1):
        conn = _connection(fresh=attempt == 1)
        try:
            conn.request("POST", _config["base"] + path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            break
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if attempt == 1:
                raise
    if resp.status >= 400:
        reason = text
        try:
            reason = json.loads(text)["error"]["message"]
        except Exception:
            pass
        raise HTTPError("%d error from HipChat for POST %s: %s" % (resp.status, path, reason),
                        Response(resp.status, text))
    return text


def post_json(token, path, content):
    return post(token, path, json.dumps(content, default=plain).encode("utf-8"),
                "application/json")


def plain(value):
    """Cards and their parts become their attribute dicts."""
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    raise TypeError("%s is not JSON serialisable" % type(value).__name__)
