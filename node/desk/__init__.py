"""The investigators' desk: a web console and an HTTP API at the home node.

The operator runs ``fedlookup desk serve --config node.toml`` beside the node. The desk
holds the node's asking credentials and its outgoing-query log (single writer);
investigators authenticate to it (accounts, roles, tokens) and never see a key, and the
pseudonym in each signed statement is the authenticated account's name.

Layout (as FastAPI's own template lays out a service):

* ``api/routes/*.py``: one router per resource under ``/api/v1``; ``api/deps.py``:
  authentication and roles as dependencies (``CurrentInvestigator`` ...);
* ``web/``: server-rendered console pages (``templates/``, ``static/``, ``messages/``);
* ``security.py`` (argon2id, tokens, TOTP), ``models.py`` (SQLModel tables), ``db.py``,
  ``settings.py`` (``[desk]``), ``accounts.py``, ``jobs.py`` (queue and worker),
  ``uploads.py``, ``exports.py``, ``i18n.py``;
* ``asking.py``: the one door into the rest of the node.

See ``docs/desk.md``.
"""

__all__: list[str] = []
