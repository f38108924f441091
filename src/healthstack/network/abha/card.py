"""The ABHA card: its QR payload, the PNG and PDF renderings, and reading a card back.

The QR carries ABDM's card keys (REFERENCE.md §4.1): ``hidn`` (the number as
``XX-XXXX-XXXX-XXXX``), ``hid`` (the ABHA address), ``name``, ``gender``,
``statelgd``, ``distlgd``, ``dob`` (``d/m/yyyy``, or the year alone when only that is
known) and ``address``, as compact JSON. Values are strings, as ABDM's own cards write
them; a missing LGD code is ``"-"``.

Reading a card back (VRFY_ABHA_501) accepts both QR forms ABDM issues: the card's
(``hid``) and the PHR app's (``phr``, a masked ``dob`` such as ``xx-9-19xx``, and no
``hidn`` when the address is not linked to a number), plus the camelCase and
snake_case spellings integrators use (``abhaNumber``, ``abha_address``, ``yob``...).
Whatever the form, ``parse_qr_text`` returns the card's keys, so a scanned card
compares equal to ``card_payload`` of its account.

Rendering is local: Pillow draws the PNG with a TrueType font found on the machine
(Noto Sans or DejaVu Sans under /usr/share/fonts; Pillow's own font otherwise), segno
draws the QR, WeasyPrint lays out ``web/templates/abha_card.html`` for the PDF and may
fetch nothing but ``data:`` URIs. The card's label reads "ABHA Number", never
"Health ID" (CRT_ABHA_208).
"""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import segno
import zxingcpp
from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from healthstack.kernel import jsonlimit
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.kernel.ids import format_abha_number, looks_like_abha_number
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.names import name_key
from healthstack.network.abha.search import (
    NO_SUCH_ACCOUNT,
    find_account,
    lookup_by_address,
    lookup_by_number,
    preferred_address,
)

CARD_KEYS = ("hidn", "hid", "name", "gender", "statelgd", "distlgd", "dob", "address")
CARD_SIZE = (1011, 638)  # CR80 (85.6 x 54 mm) at 300 dpi
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "web" / "templates"
MAX_QR_TEXT = 4096
# A phone photo is ~12 Mpx; anything far larger is not a card photo (or is a bomb).
MAX_IMAGE_PIXELS = 40_000_000

GENDER_LABELS = {"M": "Male", "F": "Female", "O": "Other", "T": "Transgender", "U": "Undisclosed"}

NO_QR_MESSAGE = (
    "No QR code was found in this image. Photograph the card's QR code flat and in "
    "focus, or paste the QR text."
)
NOT_IMAGE_MESSAGE = (
    "This file is not an image we can read. Upload a JPEG or PNG photo of the ABHA "
    "card, or paste the QR text."
)
NOT_ABHA_QR_MESSAGE = (
    "This is not the text of an ABHA QR code. Scan the QR code on the ABHA card or in "
    "the ABHA app again, or search by ABHA number instead."
)


# --------------------------------------------------------------------------- payload


def _dob_text(account: AbhaAccount) -> str:
    if account.birth_date is not None:
        d = account.birth_date
        return f"{d.day}/{d.month}/{d.year}"
    return str(account.year_of_birth)


def _lgd(value: int | None) -> str:
    return str(value) if value is not None else "-"


def _postal_address(account: AbhaAccount) -> str:
    parts: list[str] = []
    for part in (account.address_line, account.district_name, account.state_name, account.pincode):
        if part and part.strip() and part.strip().lower() not in (p.lower() for p in parts):
            parts.append(part.strip())
    return ", ".join(parts)


def card_payload(account: AbhaAccount, suffix: str) -> dict[str, str]:
    """The card QR's content, with ABDM's keys exactly."""
    return {
        "hidn": format_abha_number(account.abha_number),
        "hid": preferred_address(account, suffix=suffix),
        "name": account.name,
        "gender": account.gender,
        "statelgd": _lgd(account.state_lgd),
        "distlgd": _lgd(account.district_lgd),
        "dob": _dob_text(account),
        "address": _postal_address(account),
    }


def qr_text(account: AbhaAccount, suffix: str) -> str:
    # ASCII-only JSON: every scanner returns the same bytes, whatever charset it guesses.
    return json.dumps(card_payload(account, suffix), separators=(",", ":"), ensure_ascii=True)


def _qr(text: str) -> segno.QRCode:
    return segno.make(text, error="m", micro=False)


def qr_png(account: AbhaAccount, suffix: str, *, scale: int = 8) -> bytes:
    """The QR alone, as PNG (ABDM's ``/profile/account/qrCode``)."""
    buf = io.BytesIO()
    _qr(qr_text(account, suffix)).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


# --------------------------------------------------------------------------- fonts

_FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
_REGULAR = ("NotoSans-Regular.ttf", "DejaVuSans.ttf", "LiberationSans-Regular.ttf")
_BOLD = ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf")


@lru_cache(maxsize=1)
def _installed_fonts() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in _FONT_ROOTS:
        if root.is_dir():
            for path in root.rglob("*.ttf"):
                found.setdefault(path.name, path)
    return found


@lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    installed = _installed_fonts()
    for name in _BOLD if bold else _REGULAR:
        if name in installed:
            return ImageFont.truetype(str(installed[name]), size)
    return ImageFont.load_default(size)


def _fitted(
    draw: ImageDraw.ImageDraw, text: str, *, size: int, bold: bool, width: int
) -> tuple[str, ImageFont.FreeTypeFont | ImageFont.ImageFont]:
    """Shrink the font until the text fits the width; cut with an ellipsis below 60 %."""
    floor = max(12, int(size * 0.6))
    for s in range(size, floor - 1, -2):
        font = _font(s, bold)
        if draw.textlength(text, font=font) <= width:
            return text, font
    font = _font(floor, bold)
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…", font


# --------------------------------------------------------------------------- PNG

_INK = (17, 24, 39)
_MUTED = (75, 85, 99)
_BRAND = (11, 61, 145)
_BAND_TEXT = (255, 255, 255)


def _photo(data: bytes | None, box: tuple[int, int]) -> Image.Image | None:
    """The account photo fitted to the box; a photo that cannot be read is left out
    rather than failing the whole card."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                return None
            img.load()
            return ImageOps.fit(ImageOps.exif_transpose(img).convert("RGB"), box)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def _qr_image(text: str, size: int) -> Image.Image:
    qr = _qr(text)
    modules = qr.symbol_size(scale=1, border=4)[0]
    scale = max(2, size // modules)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=4)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def render_png(account: AbhaAccount, suffix: str) -> bytes:
    """The card as a 1011 x 638 PNG (CR80 at 300 dpi) with its QR."""
    width, height = CARD_SIZE
    img = Image.new("RGB", CARD_SIZE, "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, width, 112), fill=_BRAND)
    draw.text((36, 20), "Ayushman Bharat Health Account", font=_font(36, True), fill=_BAND_TEXT)
    draw.text((36, 68), "ABHA card", font=_font(24), fill=_BAND_TEXT)

    qr_box = 300
    qr_left, qr_top = width - qr_box - 36, 140
    qr = _qr_image(qr_text(account, suffix), qr_box)
    img.paste(qr, (qr_left + (qr_box - qr.width) // 2, qr_top + (qr_box - qr.height) // 2))
    caption = "Scan to verify"
    cap_font = _font(22)
    cap_w = draw.textlength(caption, font=cap_font)
    draw.text(
        (qr_left + (qr_box - cap_w) / 2, qr_top + qr_box + 10), caption, font=cap_font, fill=_MUTED
    )

    x = 36
    photo = _photo(account.photo, (170, 210))
    if photo is not None:
        img.paste(photo, (x, 140))
        draw.rectangle((x - 1, 139, x + 170, 140 + 210), outline=_MUTED)
        x += 170 + 28
    column = qr_left - 24 - x

    def field(
        label: str,
        value: str,
        y: int,
        *,
        size: int,
        bold: bool = True,
        left: int = x,
        room: int = column,
    ) -> None:
        draw.text((left, y), label, font=_font(22), fill=_MUTED)
        text, font = _fitted(draw, value, size=size, bold=bold, width=room)
        draw.text((left, y + 28), text, font=font, fill=_INK)

    field("ABHA Number", format_abha_number(account.abha_number), 136, size=44)
    field("ABHA Address", preferred_address(account, suffix=suffix), 228, size=30, bold=False)
    field("Name", account.name, 312, size=34)
    half = column // 2
    field("Gender", GENDER_LABELS.get(account.gender, account.gender), 400, size=28, room=half - 10)
    field("Date of Birth", _display_dob(account), 400, size=28, left=x + half, room=half)

    draw.rectangle((0, height - 58, width, height), fill=(238, 242, 255))
    note = "Show this card at any health facility to find and link your health records."
    text, font = _fitted(draw, note, size=22, bold=False, width=width - 72)
    draw.text((36, height - 44), text, font=font, fill=_MUTED)

    out = io.BytesIO()
    img.save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


def _display_dob(account: AbhaAccount) -> str:
    if account.birth_date is not None:
        return account.birth_date.strftime("%d-%m-%Y")
    return str(account.year_of_birth)


# --------------------------------------------------------------------------- PDF


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
    )


def _photo_data_uri(data: bytes | None) -> str | None:
    photo = _photo(data, (340, 420))
    if photo is None:
        return None
    buf = io.BytesIO()
    photo.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def card_html(account: AbhaAccount, suffix: str) -> str:
    return (
        _templates()
        .get_template("abha_card.html")
        .render(
            abha_number=format_abha_number(account.abha_number),
            abha_address=preferred_address(account, suffix=suffix),
            name=account.name,
            gender=GENDER_LABELS.get(account.gender, account.gender),
            dob=_display_dob(account),
            qr_uri=_qr(qr_text(account, suffix)).svg_data_uri(scale=4, border=4),
            photo_uri=_photo_data_uri(account.photo),
        )
    )


def card_document(account: AbhaAccount, suffix: str) -> Any:
    """The laid-out WeasyPrint document (one page, card size)."""
    import weasyprint  # imported here: loading pango takes a moment, only cards need it

    fetcher = weasyprint.urls.URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(
        string=card_html(account, suffix), base_url=str(TEMPLATES_DIR), url_fetcher=fetcher
    ).render()
    if len(document.pages) != 1:  # pragma: no cover - a template bug, not user input
        raise RuntimeError("the ABHA card layout overflowed onto a second page")
    return document


def render_pdf(account: AbhaAccount, suffix: str) -> bytes:
    """The card as a one-page PDF, card-sized, with its QR as vector graphics."""
    pdf: bytes = card_document(account, suffix).write_pdf()
    return pdf


# --------------------------------------------------------------------------- reading back


def decode_card_image(data: bytes) -> dict[str, str | None]:
    """Find the ABHA QR in a photo or scan of a card (or of the app's QR screen)."""
    if not data:
        raise ValidationFailed(NOT_IMAGE_MESSAGE, field="image", code="HS-1320")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise ValidationFailed(
                    "This image has too many pixels to be a photo of a card. Take the photo "
                    "again at a normal resolution.",
                    field="image",
                    code="HS-1324",
                )
            img.load()
            picture = ImageOps.exif_transpose(img).convert("L")
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ValidationFailed(NOT_IMAGE_MESSAGE, field="image", code="HS-1320") from None
    # QR only: a 1D barcode elsewhere on the card is not what the desk scanned for.
    codes = zxingcpp.read_barcodes(
        picture,
        formats=zxingcpp.BarcodeFormat.QRCode,  # type: ignore[arg-type]
    )
    if not codes:
        raise ValidationFailed(NO_QR_MESSAGE, field="image", code="HS-1321")
    first_error: ValidationFailed | None = None
    for code in codes:
        try:
            return parse_qr_text(code.text)
        except ValidationFailed as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


_KEY_ALIASES = {
    "hidn": "hidn",
    "abhanumber": "hidn",
    "abhano": "hidn",
    "healthidnumber": "hidn",
    "hid": "hid",
    "phr": "hid",
    "phraddress": "hid",
    "abhaaddress": "hid",
    "healthid": "hid",
    "preferredabhaaddress": "hid",
    "name": "name",
    "fullname": "name",
    "gender": "gender",
    "sex": "gender",
    "dob": "dob",
    "dateofbirth": "dob",
    "birthdate": "dob",
    "yob": "yob",
    "yearofbirth": "yob",
    "birthyear": "yob",
    "statelgd": "statelgd",
    "statecode": "statelgd",
    "statelgdcode": "statelgd",
    "distlgd": "distlgd",
    "districtlgd": "distlgd",
    "districtcode": "distlgd",
    "districtlgdcode": "distlgd",
    "address": "address",
}
_PLACEHOLDERS = frozenset({"", "-", "null", "none", "na", "n/a"})
_DOB = re.compile(r"^[0-9x]{1,4}([/-][0-9x]{1,4}){0,2}$", re.IGNORECASE)
_ADDRESS = re.compile(r"^[a-z0-9._-]{1,64}(@[a-z0-9]{2,16})?$")
_GENDER_WORDS = {"male": "M", "female": "F", "other": "O", "transgender": "T"}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return None if text.lower() in _PLACEHOLDERS else text


def parse_qr_text(text: str) -> dict[str, str | None]:
    """Parse a card QR or an ABHA app QR into the card's keys.

    ``hidn`` and ``hid`` are ``None`` when the QR lacks them (never both); the other
    keys are strings, ``"-"`` for a missing LGD code and ``""`` for other gaps.
    """
    raw = (text or "").strip().lstrip("\ufeff")
    if not raw:
        raise ValidationFailed(
            "The QR text is empty. Scan the QR code again or paste its text.",
            field="qr_text",
            code="HS-1322",
        )
    if len(raw) > MAX_QR_TEXT:
        raise ValidationFailed(NOT_ABHA_QR_MESSAGE, field="qr_text", code="HS-1322")
    try:
        data = jsonlimit.loads(raw)
    except ValueError:
        raise ValidationFailed(NOT_ABHA_QR_MESSAGE, field="qr_text", code="HS-1322") from None
    if not isinstance(data, dict):
        raise ValidationFailed(NOT_ABHA_QR_MESSAGE, field="qr_text", code="HS-1322")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        canonical = _KEY_ALIASES.get(re.sub(r"[^a-z0-9]", "", str(key).lower()))
        if canonical and canonical not in fields:
            fields[canonical] = value
    if not fields:
        raise ValidationFailed(NOT_ABHA_QR_MESSAGE, field="qr_text", code="HS-1322")

    number = _text(fields.get("hidn"))
    if number is not None:
        if not looks_like_abha_number(number):
            raise ValidationFailed(
                "The ABHA Number in this QR code is not 14 digits, so the QR is damaged or "
                "not an ABHA QR. Type the ABHA Number from the card instead.",
                field="qr_text",
                code="HS-1323",
            )
        number = format_abha_number(re.sub(r"\D", "", number))
    address = _text(fields.get("hid"))
    if address is not None:
        address = address.lower()
        if not _ADDRESS.match(address):
            raise ValidationFailed(
                "The ABHA address in this QR code is not valid. Type the ABHA Number or "
                "address from the card instead.",
                field="qr_text",
                code="HS-1323",
            )
    if number is None and address is None:
        raise ValidationFailed(
            "This QR code has neither an ABHA Number nor an ABHA address. Ask the person "
            "for their ABHA Number, or search by mobile number.",
            field="qr_text",
            code="HS-1323",
        )

    gender = (_text(fields.get("gender")) or "").strip()
    gender = _GENDER_WORDS.get(gender.lower(), gender[:1].upper())
    dob = _text(fields.get("dob")) or ""
    if dob and not _DOB.match(dob):
        dob = ""
    if not dob:
        yob = _text(fields.get("yob")) or ""
        dob = yob if re.fullmatch(r"\d{4}", yob) else ""
    return {
        "hidn": number,
        "hid": address,
        "name": _text(fields.get("name")) or "",
        "gender": gender if gender in GENDER_LABELS else "",
        "statelgd": _text(fields.get("statelgd")) or "-",
        "distlgd": _text(fields.get("distlgd")) or "-",
        "dob": dob,
        "address": _text(fields.get("address")) or "",
    }


def _lookup_card(session: Session, payload: dict[str, str | None], *, suffix: str) -> AbhaAccount:
    account = None
    if payload.get("hidn"):
        account = lookup_by_number(session, re.sub(r"\D", "", payload["hidn"] or ""))
    elif payload.get("hid"):
        address = payload["hid"] or ""
        _, at, given_suffix = address.partition("@")
        if at and given_suffix != suffix.lower():
            raise NotFound(
                f"This QR code is from another ABHA registry (@{given_suffix}); this one "
                f"holds @{suffix} addresses. Search by ABHA Number instead.",
                code="HS-1325",
            )
        account = lookup_by_address(session, address, suffix=suffix)
    if account is None:
        raise NotFound(
            "No ABHA here matches this QR code. Check it is an ABHA card or app QR, or "
            "search by ABHA Number or mobile.",
            code="HS-1326",
        )
    return account


def find_by_card(
    session: Session,
    ctx: RequestContext,
    *,
    payload: dict[str, str | None],
    suffix: str,
    clock: Clock | None = None,
) -> AbhaAccount:
    """The account a scanned card names: by its number, else by its address. Audited."""
    with audited(
        session, ctx, action="abha.scan", resource_type="abha_account", clock=clock
    ) as target:
        account = _lookup_card(session, payload, suffix=suffix)
        target.resource_id = str(account.public_id)
        return account


def scan_card(
    session: Session,
    ctx: RequestContext,
    *,
    image: bytes | None = None,
    text: str | None = None,
    suffix: str,
    clock: Clock | None = None,
) -> tuple[AbhaAccount, dict[str, str | None]]:
    """Read a card (an image, or the QR text) and find its account, in one audited step:
    an unreadable image is recorded as a failed scan like an unknown number."""
    with audited(
        session, ctx, action="abha.scan", resource_type="abha_account", clock=clock
    ) as target:
        payload = decode_card_image(image or b"") if text is None else parse_qr_text(text)
        account = _lookup_card(session, payload, suffix=suffix)
        target.resource_id = str(account.public_id)
        return account, payload


def card_file(
    session: Session,
    ctx: RequestContext,
    *,
    public_id: uuid.UUID,
    kind: Literal["pdf", "png"],
    suffix: str,
    clock: Clock | None = None,
) -> tuple[AbhaAccount, bytes]:
    """A staff download of someone's card (``abha.card.download``, audited)."""
    with audited(
        session,
        ctx,
        action="abha.card.download",
        resource_type="abha_account",
        resource_id=str(public_id),
        clock=clock,
    ):
        account = find_account(session, public_id=public_id)
        if account is None:
            raise NotFound(NO_SUCH_ACCOUNT, code="HS-1312")
        data = render_pdf(account, suffix) if kind == "pdf" else render_png(account, suffix)
        return account, data


def own_card_file(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    kind: Literal["png", "pdf", "qr"],
    suffix: str,
    clock: Clock | None = None,
) -> bytes:
    """The holder's own card (or its QR alone), audited as the holder's read."""
    action = "abha.card.qr" if kind == "qr" else "abha.card.download"
    with audited(
        session,
        ctx,
        action=action,
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    ):
        if kind == "qr":
            return qr_png(account, suffix)
        return render_pdf(account, suffix) if kind == "pdf" else render_png(account, suffix)


def card_differences(
    account: AbhaAccount, payload: dict[str, str | None], *, suffix: str
) -> list[str]:
    """Which of the QR's details differ from the record (field names only, no values):
    a card printed before a name correction, or a QR that is not this person's."""
    own = card_payload(account, suffix)
    differs = []
    if payload.get("hidn") and payload["hidn"] != own["hidn"]:
        differs.append("hidn")
    if payload.get("name") and name_key(payload["name"] or "") != name_key(own["name"] or ""):
        differs.append("name")
    if payload.get("gender") and payload["gender"] != own["gender"]:
        differs.append("gender")
    year = re.search(r"(\d{4})$", payload.get("dob") or "")
    if year and int(year.group(1)) != account.year_of_birth:
        differs.append("dob")
    return differs
