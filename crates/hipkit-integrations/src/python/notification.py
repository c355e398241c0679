"""The webhook payload as an attribute tree, the seed's Notification model, read leniently.

notification.item.message.content, .sender.name, notification.item.room.id, ... Missing
fields are None; extra fields become attributes too; `from` may be an object or a label.
"""


import json


class _Node:
    def __init__(self, fields):
        self.__dict__.update({key: _wrap(value) for key, value in fields.items()})

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def __repr__(self):
        fields = vars(self)  # first: an unparsed notification becomes a Notification here
        return "%s(%r)" % (type(self).__name__, fields)


def _wrap(value):
    return _Node(value) if type(value) is dict else value  # JSON objects are plain dicts


class Sender(_Node):
    """item.message.from: id, links, mention_name, name, version (a label: name only)."""

    def __init__(self, sender):
        super().__init__(sender if isinstance(sender, dict) else {"name": sender})


class Room(_Node):
    """item.room: id, is_archived, links, name, privacy, version."""


class Message(_Node):
    """item.message: date, id, content (the text), type, sender."""

    def __init__(self, message):
        fields = {k: v for k, v in message.items() if k not in ("from", "message")}
        super().__init__(fields)
        self.content = message.get("message")
        self.sender = Sender(message.get("from"))


class Item(_Node):
    """item: message and room."""

    def __init__(self, item):
        super().__init__({k: v for k, v in item.items() if k not in ("message", "room")})
        self.message = Message(item.get("message") or {})
        self.room = Room(item.get("room") or {})


class Notification(_Node):
    """The webhook: event, item, oauth_client_id, web_hook (the webhook id)."""

    def __init__(self, event=None, item=None, oauth_client_id=None, webhook_id=None, **extra):
        extra.update(event=event, item=item, oauth_client_id=oauth_client_id,
                     webhook_id=webhook_id)
        self._fill(extra)

    def _fill(self, payload):
        super().__init__({k: v for k, v in payload.items() if k not in _NAMED})
        self.event = payload.get("event")
        self.item = Item(payload.get("item") or {})
        self.oauth_client_id = payload.get("oauth_client_id")
        self.web_hook = payload.get("webhook_id")
        self.webhook_id = self.web_hook

    @classmethod
    def from_payload(cls, payload):
        notification = cls.__new__(cls)
        notification._fill(payload)
        return notification

    @classmethod
    def from_json(cls, text):
        """The notification in the JSON `text`, parsed when the integration first uses it
        (many never do): until then it costs nothing, afterwards it is a plain Notification."""
        lazy = _Unparsed.__new__(_Unparsed)
        object.__setattr__(lazy, "_json", text)
        return lazy


_NAMED = ("event", "item", "oauth_client_id", "webhook_id")


class _Unparsed(Notification):
    """A Notification not parsed yet: any use parses it and turns it into a Notification."""

    def _parse(self):
        text = object.__getattribute__(self, "__dict__").pop("_json")
        object.__setattr__(self, "__class__", Notification)
        self._fill(json.loads(text))

    def __getattribute__(self, name):
        _Unparsed._parse(self)
        return getattr(self, name)

    def __setattr__(self, name, value):
        _Unparsed._parse(self)
        setattr(self, name, value)

    def __delattr__(self, name):
        _Unparsed._parse(self)
        delattr(self, name)
