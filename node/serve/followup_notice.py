"""Optional e-mail notice to the liaison officers when a follow-up arrives.

Configured by ``[followup.smtp]`` (:class:`node.followup_config.SmtpConfig`); without it
nothing is sent and nothing is required. The notice names the requesting country, the
reference, the case and the deadline, never a serial (the owner's record is not read for
it). A failed notice is logged and the request stays queued.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage

from audit.canonical import format_time
from federation.followup import IncomingFollowUp
from node.followup_config import SmtpConfig

__all__ = ["notice", "notifier"]


def notice(item: IncomingFollowUp, country: str, sender: str, to: tuple[str, ...]) -> EmailMessage:
    """The e-mail announcing ``item`` to the liaison officers of ``country``."""
    msg = EmailMessage()
    msg["Subject"] = f"[fedlookup {country}] follow-up from {item.from_country}: {item.reference}"
    msg["From"] = sender or f"fedlookup@{country.lower()}.invalid"
    msg["To"] = ", ".join(to)
    msg.set_content(
        f"{item.from_country} asks for the core data behind {item.reference}.\n"
        f"Case: {item.case_id}\nPurpose: {item.purpose}\nLegal basis: {item.legal_basis}\n"
        f"Decide before {format_time(item.deadline)} at the desk (Follow-ups, incoming).\n"
    )
    return msg


def notifier(smtp: SmtpConfig | None, country: str) -> Callable[[IncomingFollowUp], None]:
    """A callback that e-mails each new follow-up, or does nothing without ``smtp``."""
    if smtp is None or not smtp.to:
        return lambda item: None

    def send(item: IncomingFollowUp) -> None:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
            client.send_message(notice(item, country, smtp.sender, smtp.to))

    return send
