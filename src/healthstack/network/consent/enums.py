"""The consent manager's own states, stored as written here. ABDM's vocabularies (HI
types, purposes, consent statuses) are in ``protocol.abdm.messages``."""

from __future__ import annotations

from enum import StrEnum


class LinkedVia(StrEnum):
    HIP = "HIP"  # HIP-initiated: the HIP linked it with a link token
    PATIENT = "PATIENT"  # patient-initiated: discovery, then the HIP's OTP


class LinkStep(StrEnum):
    """Where a patient-initiated discovery and link transaction stands."""

    DISCOVERING = "DISCOVERING"  # discover sent to the HIP, no answer yet
    FOUND = "FOUND"  # the HIP found the patient and listed care contexts
    NOT_FOUND = "NOT_FOUND"  # the HIP answered with an error (ABDM-1010 ...)
    INITIATING = "INITIATING"  # link init sent; the HIP will send its OTP
    OTP_SENT = "OTP_SENT"  # the HIP sent its OTP (a wrong OTP returns here)
    CONFIRMING = "CONFIRMING"  # the OTP is on its way to the HIP
    LINKED = "LINKED"  # the HIP confirmed: care contexts linked
    FAILED = "FAILED"  # the HIP refused the link init or confirmation


OPEN_STEPS = frozenset({LinkStep.DISCOVERING, LinkStep.INITIATING, LinkStep.CONFIRMING})


class NoticeTarget(StrEnum):
    HIP = "HIP"
    HIU = "HIU"


class HiRequestStatus(StrEnum):
    """A health information transfer, as the CM sees it."""

    REQUESTED = "REQUESTED"  # forwarded to the HIP
    ACKNOWLEDGED = "ACKNOWLEDGED"  # the HIP acknowledged it
    TRANSFERRED = "TRANSFERRED"  # the HIP reported the push done
    FAILED = "FAILED"  # the HIP refused or reported failure
