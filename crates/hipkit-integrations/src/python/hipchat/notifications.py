"""send_notification: a room notification (POST /v2/room/{room}/notification)."""
from hipchat._client import post_json, room_path

FORMATS = ("html", "text")
COLORS = ("yellow", "green", "red", "purple", "gray", "random")


def send_notification(token, room, sender='', color='gray', notify=False,
                      message_format='html', message='', host='api.hipchat.com', card=None):
    """Posts a notification labelled `sender` to `room`; `host` is ignored."""
    if message_format not in FORMATS:
        raise ValueError("Message format '%s' is invalid. Available formats: %s"
                         % (message_format, list(FORMATS)))
    if color not in COLORS:
        raise ValueError("Color '%s' is invalid. Available colors: %s" % (color, list(COLORS)))
    content = {"color": color, "message": message, "notify": notify,
               "message_format": message_format, "from": sender}
    if card is not None:
        content["card"] = card
    post_json(token, room_path(room, "notification"), content)
