"""The webhook payload as an attribute tree, the seed's Notification model, read leniently.

notification.item.message.content, .sender.name, notification.item.room.id, ... Missing
fields are None; extra fields become attributes too; `from` may be an object or a label.
"""


class _Node:
    def __init__(self, fields):
        self.__dict__.update({key: _wrap(value) for key, value in fields.items()})

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, vars(self))


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
        super().__init__(extra)
        self.event = event
        self.item = Item(item or {})
        self.oauth_client_id = oauth_client_id
        self.web_hook = webhook_id
        self.webhook_id = webhook_id

    @classmethod
    def from_payload(cls, payload):
        return cls(**payload)
