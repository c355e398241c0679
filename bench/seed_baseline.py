"""What the seed integrations server does per webhook (seed-systems.md B.3-B.5), as a baseline.

Single-threaded http.server (HTTP/1.0, one request at a time); per request: read the body,
json.loads, build the strict Notification model, write the seed's log lines (the access line
and "Processing message from ..." / "Message contents: ...", each flushed, as the seed wrote
them to stdout or its -l log file), re-import the integration file with importlib (fresh
module, top-level code re-run), and run it in a new thread with the seed's keyword arguments
and an in-memory storage dict. Unlike the seed, it flushes a 204 so a load generator can
count it. Usage: seed_baseline.py INTEGRATIONS_DIR LOGFILE (prints the port).
"""
import importlib.util
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


class Sender:
    def __init__(self, id, links, mention_name, name, version):
        self.id, self.links, self.mention_name, self.name, self.version = (
            id, links, mention_name, name, version)


class Room:
    def __init__(self, id, is_archived, links, name, privacy, version):
        self.id, self.is_archived, self.links = id, is_archived, links
        self.name, self.privacy, self.version = name, privacy, version


class Message:
    def __init__(self, date, id, message, type, **kwargs):
        self.date, self.id, self.content, self.type = date, id, message, type
        self.sender = Sender(**kwargs["from"])


class Item:
    def __init__(self, message, room):
        self.message = Message(**message)
        self.room = Room(**room)


class Notification:
    def __init__(self, event, item, oauth_client_id, webhook_id):
        self.event, self.item = event, Item(**item)
        self.oauth_client_id, self.web_hook = oauth_client_id, webhook_id


class Logger:
    def __init__(self, handler, name, ref):
        self.handler, self.prefix = handler, "(%s) %s : " % (ref, name)

    def info(self, message):
        self.handler.log_message(self.prefix + message)

    error = info


STORAGE = {}
INTEGRATIONS = sys.argv[1]
LOG = open(sys.argv[2], "a")  # the seed's -l LOGFILE (stdout and stderr went there)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        # The seed's handler: one line per message, to stdout (here its log file), flushed.
        LOG.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(),
                                         format % args))
        LOG.flush()

    log_error = log_message

    def do_POST(self):
        body = str(self.rfile.read(int(self.headers["Content-Length"])), "UTF-8")
        try:
            notification = Notification(**json.loads(body))
        except Exception:
            self.send_response(400)
            self.end_headers()
            return
        self.log_message("Processing message from " + notification.item.message.sender.name)
        self.log_message("Message contents: " + notification.item.message.content)
        self.send_response(204)
        self.end_headers()
        threading.Thread(target=self.run_integration, args=(notification,)).start()

    def run_integration(self, notification):
        match = re.search(r"/(\S*) ?(.*)", notification.item.message.content)
        name, query = match.group(1), match.group(2)
        spec = importlib.util.spec_from_file_location(name, INTEGRATIONS + "/" + name + ".py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        storage = STORAGE.setdefault(name, {})
        module.run_integration(notification=notification, query=query, all_tokens={},
                               token=None, storage=storage,
                               log=Logger(self, name, str(module.run_integration)[31:43]))


server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
