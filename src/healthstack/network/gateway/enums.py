"""The gateway's vocabularies, stored as written here."""

from __future__ import annotations

from enum import StrEnum


class ServiceType(StrEnum):
    """What a bridge's service is to the network; the header that names it."""

    HIP = "HIP"  # health information provider: X-HIP-ID
    HIU = "HIU"  # health information user: X-HIU-ID

    @property
    def header(self) -> str:
        return f"X-{self.value}-ID"


class Direction(StrEnum):
    INBOUND = "inbound"  # a bridge's request to the gateway
    OUTBOUND = "outbound"  # a callback from the gateway to a bridge


class MessageStatus(StrEnum):
    # inbound
    ACCEPTED = "accepted"  # answered 202, waiting for the worker
    PROCESSED = "processed"  # its handler ran (its callbacks are queued)
    FAILED = "failed"  # the handler kept failing; an error callback went back if it could
    # outbound
    PENDING = "pending"  # queued, not tried yet
    RETRYING = "retrying"  # tried, failed, will be tried again
    DELIVERED = "delivered"  # the bridge answered 2xx
    DEAD = "dead"  # every attempt failed
