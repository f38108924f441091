"""The ABHA card service: QR payload, PNG and PDF rendering, reading a card back."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
import zxingcpp
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext, Role
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha import card
from tests.conftest import FACILITY_A
from tests.factories_card import make_account

SUFFIX = "sbx"
CTX = RequestContext(
    actor=Actor(
        kind=ActorKind.STAFF,
        id="desk-1",
        role=Role.REGISTRATION_DESK,
        facility_id=FACILITY_A,
        display="desk1",
    ),
    purpose=Purpose.IDENTITY_VERIFICATION,
)


def _png_photo(color: str = "orange") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), color).save(buf, format="PNG")
    return buf.getvalue()


def _qr_texts(png: bytes) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


# --------------------------------------------------------------------------- payload


def test_payload_has_abdm_card_keys_exactly(db, runtime):
    account = make_account(
        db,
        runtime,
        name="Mohammad Yousuf Dar",
        handles=("m.yousuf", "myd.1980"),
        preferred="myd.1980",
        birth_date=date(1980, 11, 4),
    )
    payload = card.card_payload(account, SUFFIX)
    assert (
        tuple(payload)
        == card.CARD_KEYS
        == ("hidn", "hid", "name", "gender", "statelgd", "distlgd", "dob", "address")
    )
    n = account.abha_number
    assert payload["hidn"] == f"{n[:2]}-{n[2:6]}-{n[6:10]}-{n[10:]}"
    assert payload["hid"] == "myd.1980@sbx"  # the preferred address, not the first one
    assert payload["name"] == "Mohammad Yousuf Dar"
    assert payload["gender"] == "M"
    assert (payload["statelgd"], payload["distlgd"]) == ("1", "632")
    assert payload["dob"] == "4/11/1980"  # d/m/yyyy, no zero padding, as ABDM writes it
    assert payload["address"] == "House 12, Lal Chowk, Srinagar, Jammu And Kashmir, 190001"
    text = card.qr_text(account, SUFFIX)
    assert json.loads(text) == payload
    assert ": " not in text and ', "' not in text  # compact JSON
    assert text.isascii()


def test_payload_defaults_address_year_only_and_missing_lgd(db, runtime):
    account = make_account(
        db,
        runtime,
        birth_date=None,
        year_of_birth=1962,
        district_lgd=None,
        state_lgd=None,
        address_line=None,
        pincode=None,
    )
    payload = card.card_payload(account, SUFFIX)
    assert payload["hid"] == f"{account.abha_number}@sbx"
    assert payload["dob"] == "1962"
    assert (payload["statelgd"], payload["distlgd"]) == ("-", "-")
    assert payload["address"] == "Srinagar, Jammu And Kashmir"


# --------------------------------------------------------------------------- PNG


def test_png_card_round_trip_finds_the_same_account(db, runtime):
    account = make_account(db, runtime, handles=("ravi.k",))
    make_account(db, runtime, name="Someone Else", mobile="9000000001")
    png = card.render_png(account, SUFFIX)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    assert img.size == card.CARD_SIZE == (1011, 638)
    assert [json.loads(t) for t in _qr_texts(png)] == [card.card_payload(account, SUFFIX)]

    payload = card.decode_card_image(png)
    assert payload == card.card_payload(account, SUFFIX)
    found = card.find_by_card(db, CTX, payload=payload, suffix=SUFFIX, clock=runtime.clock)
    assert found.id == account.id
    assert card.card_differences(found, payload, suffix=SUFFIX) == []
    db.flush()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "abha.scan")).one()
    assert (event.resource_id, event.outcome, event.facility_id, event.purpose) == (
        str(account.public_id),
        "success",
        FACILITY_A,
        "IDENTITY_VERIFICATION",
    )


def test_photo_of_a_card_tilted_and_compressed_still_reads(db, runtime):
    account = make_account(db, runtime, photo=_png_photo())
    png = card.render_png(account, SUFFIX)
    # As a phone sees it: on a desk, slightly turned, smaller, JPEG-compressed.
    cardimg = Image.open(io.BytesIO(png)).rotate(8, expand=True, fillcolor="white")
    desk = Image.new("RGB", (1500, 1200), (120, 110, 100))
    desk.paste(cardimg, (150, 180))
    desk = desk.resize((1200, 960))
    buf = io.BytesIO()
    desk.save(buf, format="JPEG", quality=70)
    assert card.decode_card_image(buf.getvalue()) == card.card_payload(account, SUFFIX)


def test_unreadable_photo_leaves_the_photo_out_not_the_card(db, runtime):
    account = make_account(db, runtime, photo=b"not a picture")
    png = card.render_png(account, SUFFIX)
    assert Image.open(io.BytesIO(png)).size == card.CARD_SIZE
    assert card.decode_card_image(png)["hidn"] == card.card_payload(account, SUFFIX)["hidn"]


def test_long_name_is_fitted_and_the_qr_keeps_it_whole(db, runtime):
    name = "Chaudhary Mohammad Abdul Rehman Shafi Qureshi Bhat Khan"
    account = make_account(db, runtime, name=name)
    assert card.decode_card_image(card.render_png(account, SUFFIX))["name"] == name


def test_qr_alone_png(db, runtime):
    account = make_account(db, runtime)
    png = card.qr_png(account, SUFFIX)
    assert [json.loads(t) for t in _qr_texts(png)] == [card.card_payload(account, SUFFIX)]


def test_card_uses_an_installed_truetype_font():
    if not card._installed_fonts():
        pytest.skip("no TrueType fonts under /usr/share/fonts; Pillow's own font is used")
    assert isinstance(card._font(30, True), ImageFont.FreeTypeFont)


# --------------------------------------------------------------------------- PDF


def _layout_text(box) -> list[str]:
    """The text WeasyPrint laid out (its box tree), to check what the PDF shows."""
    found = [box.text] if isinstance(getattr(box, "text", None), str) else []
    for child in getattr(box, "children", None) or []:
        found += _layout_text(child)
    return found


def test_pdf_is_one_card_sized_page_with_number_address_and_qr(db, runtime):
    account = make_account(db, runtime, handles=("ravi.k",), photo=_png_photo())
    document = card.card_document(account, SUFFIX)
    assert len(document.pages) == 1
    page = document.pages[0]
    # CR80: 85.6 x 54 mm in CSS pixels (96 per inch).
    assert page.width == pytest.approx(85.6 / 25.4 * 96, abs=0.5)
    assert page.height == pytest.approx(54 / 25.4 * 96, abs=0.5)
    text = " ".join(_layout_text(page._page_box))
    payload = card.card_payload(account, SUFFIX)
    for expected in (
        "ABHA Number",
        payload["hidn"],
        "ravi.k@sbx",
        "Ravi Kumar",
        "Male",
        "07-03-1985",
        "ABHA Address",
        "Date of Birth",
    ):
        assert expected in text
    assert "health id" not in text.lower()  # CRT_ABHA_208
    html = card.card_html(account, SUFFIX)
    assert html.count("data:image/svg+xml") == 1 and html.count("data:image/png;base64") == 1
    pdf = card.render_pdf(account, SUFFIX)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


# --------------------------------------------------------------------------- QR text

# ABDM's own examples (KD "By scanning PHR Address QR"): the card QR and the app QR.
ABDM_CARD_QR = json.dumps(
    {
        "hidn": "15-3638-0684-6247",
        "hid": "kiranma@abdm",
        "name": "Kiran Mandyam Anandampillai",
        "gender": "M",
        "statelgd": "29",
        "distlgd": "-",
        "dob": "xx/9/19xx",
        "state name": "Karnataka",
        "district_name": "Bengaluru",
        "mobile": "984x1x2x6x",
        "address": "C/O father name # door no, as from the KYC document",
    }
)
ABDM_APP_QR = json.dumps(
    {
        "hidn": "42-7175-8604-4553",
        "phr": "kiranma@sbx",
        "name": "Kiran Anandampillai",
        "gender": "M",
        "statelgd": "4",
        "distlgd": "44",
        "dob": "xx-9-19xx",
        "address": "As declared by the user",
    }
)


def test_parse_abdm_card_qr():
    assert card.parse_qr_text(ABDM_CARD_QR) == {
        "hidn": "15-3638-0684-6247",
        "hid": "kiranma@abdm",
        "name": "Kiran Mandyam Anandampillai",
        "gender": "M",
        "statelgd": "29",
        "distlgd": "-",
        "dob": "xx/9/19xx",
        "address": "C/O father name # door no, as from the KYC document",
    }


def test_parse_abdm_app_qr_with_phr_key():
    parsed = card.parse_qr_text(ABDM_APP_QR)
    assert parsed["hidn"] == "42-7175-8604-4553"
    assert parsed["hid"] == "kiranma@sbx"
    assert parsed["dob"] == "xx-9-19xx"
    assert (parsed["statelgd"], parsed["distlgd"]) == ("4", "44")


def test_parse_camel_and_snake_case_variants():
    camel = card.parse_qr_text(
        json.dumps(
            {
                "abhaNumber": "91123456789012",
                "abhaAddress": "Ravi.K@sbx",
                "name": " Ravi Kumar ",
                "gender": "male",
                "yob": 1985,
                "stateCode": 1,
                "districtCode": 632,
            }
        )
    )
    assert camel == {
        "hidn": "91-1234-5678-9012",
        "hid": "ravi.k@sbx",
        "name": "Ravi Kumar",
        "gender": "M",
        "statelgd": "1",
        "distlgd": "632",
        "dob": "1985",
        "address": "",
    }
    snake = card.parse_qr_text(
        json.dumps(
            {
                "abha_number": "91-1234-5678-9012",
                "phrAddress": "ravi.k@sbx",
                "date_of_birth": "7/3/1985",
            }
        )
    )
    assert (snake["hidn"], snake["hid"], snake["dob"]) == (
        "91-1234-5678-9012",
        "ravi.k@sbx",
        "7/3/1985",
    )
    address_only = card.parse_qr_text('{"phr": "ravi.k@sbx", "name": "Ravi"}')
    assert address_only["hidn"] is None and address_only["hid"] == "ravi.k@sbx"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "QR text is empty"),
        ("hello world", "not the text of an ABHA QR"),
        ("[1, 2, 3]", "not the text of an ABHA QR"),
        ('{"foo": "bar", "upi": "x@bank"}', "not the text of an ABHA QR"),
        ('{"hidn": "12-3456", "name": "X"}', "not 14 digits"),
        ('{"hid": "bad address!@sbx"}', "address in this QR code is not valid"),
        ('{"name": "Ravi Kumar", "gender": "M", "dob": "1/1/1990"}', "neither an ABHA Number"),
        ('{"hidn": "-", "hid": null, "name": "Ravi"}', "neither an ABHA Number"),
        ('{"hidn": "' + "9" * 5000 + '"}', "not the text of an ABHA QR"),
    ],
)
def test_junk_qr_text_is_refused_clearly(text, message):
    with pytest.raises(ValidationFailed, match=message) as err:
        card.parse_qr_text(text)
    assert err.value.field == "qr_text"


# --------------------------------------------------------------------------- images


def test_non_image_is_refused():
    for data in (b"", b"%PDF-1.7 not an image", b"\x89PNG\r\n\x1a\n truncated"):
        with pytest.raises(ValidationFailed, match="not an image we can read"):
            card.decode_card_image(data)


def test_image_with_too_many_pixels_is_refused_before_decoding():
    buf = io.BytesIO()
    Image.new("1", (8000, 6000), 1).save(buf, format="PNG")  # 48 Mpx, a few kB on disk
    with pytest.raises(ValidationFailed, match="too many pixels") as err:
        card.decode_card_image(buf.getvalue())
    assert err.value.code == "HS-1324"


def test_image_without_qr_says_what_to_do():
    img = Image.new("RGB", (800, 500), "white")
    ImageDraw.Draw(img).text((40, 40), "Just a photo of a wall", fill="black")
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    with pytest.raises(ValidationFailed) as err:
        card.decode_card_image(buf.getvalue())
    assert err.value.message == (
        "No QR code was found in this image. Photograph the card's QR code flat and in focus, "
        "or paste the QR text."
    )


def test_image_with_a_non_abha_qr_is_refused():
    import segno

    buf = io.BytesIO()
    segno.make("upi://pay?pa=shop@bank", error="m").save(buf, kind="png", scale=6)
    with pytest.raises(ValidationFailed, match="not the text of an ABHA QR"):
        card.decode_card_image(buf.getvalue())


# --------------------------------------------------------------------------- lookups


def test_find_by_address_only_app_qr_and_default_address(db, runtime):
    account = make_account(db, runtime, handles=("ravi.k",))
    by_handle = card.find_by_card(
        db, CTX, payload=card.parse_qr_text('{"phr": "RAVI.K@sbx"}'), suffix=SUFFIX
    )
    by_default = card.find_by_card(
        db,
        CTX,
        payload=card.parse_qr_text(json.dumps({"phr": f"{account.abha_number}@sbx"})),
        suffix=SUFFIX,
    )
    assert by_handle.id == by_default.id == account.id


def test_unknown_deleted_and_foreign_cards_are_not_found_and_audited(runtime):
    with unit_of_work(runtime.session_factory) as s:
        gone = make_account(s, runtime, status="DELETED")
        gone_payload = card.card_payload(gone, SUFFIX)
    cases = [
        (gone_payload, "No ABHA here matches"),
        ({"hidn": "91-0000-0000-0000", "hid": None}, "No ABHA here matches"),
        ({"hidn": None, "hid": "someone@abdm"}, "another ABHA registry"),
    ]
    for payload, message in cases:
        with pytest.raises(NotFound, match=message), unit_of_work(runtime.session_factory) as s:
            card.find_by_card(s, CTX, payload=payload, suffix=SUFFIX, clock=runtime.clock)
    with unit_of_work(runtime.session_factory) as s:
        outcomes = s.scalars(
            select(AuditEvent.outcome).where(AuditEvent.action == "abha.scan")
        ).all()
    assert outcomes == ["not_found"] * 3


def test_card_differences_name_fields_only(db, runtime):
    account = make_account(db, runtime)
    payload = card.card_payload(account, SUFFIX) | {"name": "Sunil Sharma", "dob": "1/1/1999"}
    assert card.card_differences(account, payload, suffix=SUFFIX) == ["name", "dob"]
    same = card.card_payload(account, SUFFIX) | {"name": "RAVI  kumar"}
    assert card.card_differences(account, same, suffix=SUFFIX) == []
