"""send_message: a room message (POST /v2/room/{room}/message)."""
from hipchat._client import post_json, room_path


def send_message(token, room, message='', host='api.hipchat.com', card=None):
    """Posts `message` (and an optional card) to `room` as the token's user; `host` is ignored."""
    content = {"message": message}
    if card is not None:
        content["card"] = card
    post_json(token, room_path(room, "message"), content)
