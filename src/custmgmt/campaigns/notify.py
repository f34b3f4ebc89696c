"""The :class:`Notifier` port: how rendered messages leave the library.

The library never sends anything itself. A campaign run renders one
:class:`OutboundMessage` per treated customer and hands the whole batch to the host's
notifier in one call, inside the run's transaction: if the notifier raises, no
decision is stored. A notifier should therefore only *enqueue* (an outbox table, a
message queue) and deliver later; :class:`MemoryNotifier` is such an outbox in
memory, for tests and the demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from custmgmt.domain import ContactChannel
from custmgmt.domain.masking import hide_text

__all__ = ["MemoryNotifier", "Notifier", "OutboundMessage"]


@attrs.frozen(kw_only=True)
class OutboundMessage:
    """One rendered message for one customer (its text is hidden in ``repr``).

    Attributes:
        message_id: the library's id for it (``campaign:customer``; where that is
            longer than 128 characters, the campaign's start and a SHA-256).
        campaign_id: the campaign.
        customer_id: the recipient.
        channel: email, SMS or social.
        text: the rendered text.
        not_before: do not deliver before this moment (quiet hours).
    """

    message_id: str
    campaign_id: str
    customer_id: str
    channel: ContactChannel
    text: str = attrs.field(repr=hide_text)
    not_before: datetime


@runtime_checkable
class Notifier(Protocol):
    """Where a campaign run puts its messages; the host implements delivery."""

    def enqueue(self, messages: Sequence[OutboundMessage]) -> None:
        """Accept a batch of messages for delivery, all or none.

        Raises:
            Any exception to refuse the batch: the run then stores nothing.
        """
        ...


class MemoryNotifier:
    """An outbox in memory: the messages it was given, in order.

    >>> MemoryNotifier().outbox
    []
    """

    def __init__(self) -> None:
        self.outbox: list[OutboundMessage] = []

    def enqueue(self, messages: Sequence[OutboundMessage]) -> None:
        """Append the batch to :attr:`outbox`."""
        self.outbox.extend(messages)
