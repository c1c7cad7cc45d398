"""The desk's retention timer: released follow-up data is purged after its period.

:class:`FollowUpKeeper` runs :func:`~node.desk.follow_ups.purge_expired` at start and then
every ``interval_s`` (an hour by default) in the desk that holds the node's outgoing log;
``fedlookup desk purge-follow-ups`` does one round by hand when no desk runs. Each purge
is a ``followup_purge`` entry in the outgoing log.
"""

from __future__ import annotations

import logging
import threading

from node.desk.asking import FollowUpSender
from node.desk.db import DeskDatabase
from node.desk.follow_ups import purge_expired

__all__ = ["FollowUpKeeper", "purge_once"]

_log = logging.getLogger("fedlookup.desk.followups")


def purge_once(db: DeskDatabase, sender: FollowUpSender, retention_days: float) -> int:
    """One purge round; returns how many follow-ups lost their released data."""
    with db.session() as s:
        purged = purge_expired(s, sender, retention_days)
    if purged:
        _log.info("purged released follow-up data",
                  extra={"event": "followup_purge", "count": purged})  # fmt: skip
    return purged


class FollowUpKeeper(threading.Thread):
    """Purges expired released data every ``interval_s`` until :meth:`stop`.

    Args:
        db: the desk's database.
        sender: the node's follow-up sender (its outgoing log records each purge).
        retention_days: ``[followup] retention_days``.
        interval_s: seconds between rounds.
    """

    def __init__(
        self,
        db: DeskDatabase,
        sender: FollowUpSender,
        retention_days: float,
        *,
        interval_s: float = 3600.0,
    ) -> None:
        super().__init__(name="followup-keeper", daemon=True)
        self._db = db
        self._sender = sender
        self._retention = retention_days
        self._interval = interval_s
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ask the thread to finish (it does within a second)."""
        self._stopping.set()

    def run(self) -> None:
        """Purge now, then every ``interval_s``; an error is logged and retried next round."""
        while True:
            try:
                purge_once(self._db, self._sender, self._retention)
            except Exception:  # the timer outlives one bad round; the reason goes to the log
                _log.exception("follow-up purge failed", extra={"event": "followup_purge_error"})
            if self._stopping.wait(self._interval):
                return
