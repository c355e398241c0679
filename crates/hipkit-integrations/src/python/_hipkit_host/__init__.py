"""The parts of hipkit's Python host: `protocol` (the JSON lines to hipkit), `storage` (the
integration's storage and what each call changed), `calls` (loading the integration and
running one call) and `pool` (the threads that run calls).

Import `protocol` first: it moves the process's stdout out of the integration's way."""
