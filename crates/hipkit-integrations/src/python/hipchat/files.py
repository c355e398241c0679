"""upload_file: share a file in a room (POST /v2/room/{room}/share/file), any bytes."""
import json
import mimetypes
import os
import uuid

from hipchat._client import post, room_path


def upload_file(token, room, file, message='', host='api.hipchat.com'):
    """Shares the file at path `file` with `message`; `host` is ignored."""
    if not os.path.isfile(file):
        raise ValueError("File '{0}' does not exist".format(file))
    if len(message) > 1000:
        raise ValueError('Message too long')
    with open(file, 'rb') as f:
        content = f.read()
    boundary = uuid.uuid4().hex
    while boundary.encode() in content:
        boundary = uuid.uuid4().hex
    name = os.path.basename(file).replace('"', "_")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    body = b"".join([
        b"--", boundary.encode(), b"\r\n",
        b"Content-Type: application/json; charset=UTF-8\r\n",
        b'Content-Disposition: attachment; name="metadata"\r\n\r\n',
        json.dumps({"message": message}).encode("utf-8"), b"\r\n",
        b"--", boundary.encode(), b"\r\n",
        b"Content-Type: ", kind.encode(), b"\r\n",
        b'Content-Disposition: attachment; name="file"; filename="',
        name.encode("utf-8"), b'"\r\n\r\n',
        content, b"\r\n",
        b"--", boundary.encode(), b"--\r\n",
    ])
    post(token, room_path(room, "share/file"), body,
         "multipart/related; boundary=" + boundary)
