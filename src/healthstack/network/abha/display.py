"""What the ABHA pages (``enrol``, ``desk``, ``patient``) show alike: a service's
refusal in the words of a page (``abha_message``, the wording of their ``PageDep``),
genders and districts by name, and the ABHA card as a download."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.responses import Response

from healthstack.kernel.errors import DomainError
from healthstack.network.abha import card as card_service
from healthstack.settings import StateProfile
from healthstack.web.pages import Page, Reword, otp_flow_message, page_with, reworded

GENDERS = (("M", "Male"), ("F", "Female"), ("O", "Other"))

# Service messages written for API clients (they name fields, scopes or API paths),
# as these pages tell the same thing.
ABHA_WORDING: tuple[Reword, ...] = (
    Reword(
        "HS-1261",
        "The consent text changed while this enrolment was open. Start again and read the "
        "new consent to the patient.",
        marker="consent.version",
    ),
    Reword(
        "HS-1411",
        "No active ABHA is linked to this mobile number. Check the number, or log in with "
        "the ABHA number or address. If the ABHA was deactivated, tick “Reactivate my ABHA” "
        "below and send the OTP again.",
        marker="No ABHA",
    ),
    Reword(
        "HS-1411",
        "No deactivated ABHA is linked to this mobile number. Check the number, or untick "
        "“Reactivate my ABHA” to log in to an active ABHA.",
        marker="No deactivated",
    ),
    Reword(
        "HS-1405",
        "This ABHA is deactivated. Tick “Reactivate my ABHA” below and ask for the OTP "
        "again to use it again.",
    ),
    Reword(
        "HS-1245",
        "This ABHA has no verified mobile number. Log in with the Aadhaar number instead "
        "(the OTP goes to the mobile registered with Aadhaar).",
    ),
    Reword("HS-1413", "This ABHA is not one of those linked to the mobile. Log in again."),
    Reword("HS-1406", "This login has expired or was started elsewhere. Start the login again."),
    Reword("HS-1412", "This OTP request was not found or has expired. Start again."),
    Reword(
        "HS-1109",
        "Verify the Aadhaar OTP first; this page was opened out of order. Start again.",
        marker="enrol/byAadhaar",
    ),
    Reword(
        "HS-1255",
        "Your ABHA has no verified mobile to send the OTP to. Add and verify a mobile first "
        "(Change mobile number).",
    ),
)


def abha_message(exc: DomainError) -> str:
    """The error as the ABHA pages tell it: the service's message, reworded where it was
    written for API clients or is about the flow's hidden fields."""
    return reworded(exc, ABHA_WORDING) or otp_flow_message(exc)


# The page of every ABHA page route.
PageDep = Annotated[Page, Depends(page_with(abha_message))]


def gender_label(code: str | None) -> str:
    return card_service.GENDER_LABELS.get(code or "", code or "")


def district_label(profile: StateProfile) -> Callable[[int | None], str]:
    """A district's name in the state profile ("" when it has none there)."""
    return lambda code: profile.district_name(code) or ""


def card_download(data: bytes, kind: str, abha_number: str) -> Response:
    """The ABHA card (``pdf`` or ``png``) as a file to save."""
    # Only the last four digits in the file name: downloads folders are not private.
    name = f"abha-card-{abha_number[-4:]}.{kind}"
    return Response(
        data,
        media_type="application/pdf" if kind == "pdf" else "image/png",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
