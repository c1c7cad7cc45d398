"""The desk's HTTP API (``/api/v1``)."""
