"""The web console: server-rendered pages (Jinja2) over the same dependencies as the API."""
