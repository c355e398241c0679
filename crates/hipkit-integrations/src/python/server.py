"""The seed's `server` module as integrations see it: Logger (passed to them as `log`)."""


class Logger:
    """Writes to hipkit's log under the integration's name; `%` and newlines are safe."""

    def __init__(self, integration_name, ref, send):
        self.integration_name = integration_name
        self.ref = ref
        self._send = send

    def _log(self, level, message):
        self._send({"op": "log", "id": self.ref, "level": level, "message": str(message)})

    def info(self, message):
        self._log("info", message)

    def error(self, message):
        self._log("error", message)

    def warning(self, message):
        self._log("warn", message)

    def debug(self, message):
        self._log("debug", message)
