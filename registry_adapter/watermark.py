"""Opaque change-feed watermarks: ``<feed id>:<sequence>``.

The feed id (a UUID made when the store or snapshot is created) ties a watermark to one
feed, so a watermark from another registry, or from before a restore, is refused rather
than silently skipping changes.
"""

from __future__ import annotations

from fedlookup.errors import WatermarkError

__all__ = ["check_watermark", "format_watermark", "parse_watermark"]


def format_watermark(feed_id: str, seq: int) -> str:
    """Encode a feed position."""
    return f"{feed_id}:{seq}"


def parse_watermark(text: str) -> tuple[str, int]:
    """Decode a watermark.

    Raises:
        WatermarkError: it is not of the form ``<feed id>:<non-negative integer>``.
    """
    feed_id, sep, seq = text.rpartition(":")
    if not sep or not feed_id or not seq.isdigit():
        raise WatermarkError(f"malformed watermark {text!r}")
    return feed_id, int(seq)


def check_watermark(text: str, feed_id: str, last_seq: int, horizon: int) -> int:
    """Validate a watermark against a feed and return its sequence.

    Args:
        text: the watermark.
        feed_id: the feed's id.
        last_seq: newest sequence the feed has issued.
        horizon: oldest sequence the feed can still resume from (tombstones purged below).

    Raises:
        WatermarkError: other feed, from the future (a restored backup), or expired.
    """
    wid, seq = parse_watermark(text)
    if wid != feed_id:
        raise WatermarkError("watermark belongs to another registry feed; rebuild from scratch")
    if seq > last_seq:
        raise WatermarkError(
            f"watermark {seq} is ahead of the feed ({last_seq}): the registry was restored "
            "or replaced; rebuild from scratch"
        )
    if seq < horizon:
        raise WatermarkError(
            f"watermark {seq} is older than the feed keeps ({horizon}); rebuild from scratch"
        )
    return seq
