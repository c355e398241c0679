"""The seed's helper library for integrations: messages, notifications, files, cards.

Every call goes to the HipChat endpoint hipkit is configured with (whatever `host` says),
with the token the integration passes, and raises HTTPError on an HTTP error.
"""
from hipchat._client import HTTPError  # noqa: F401
