"""Contract: the HIE-CM v3 bodies of ``integrations/abdm/messages.py`` against the shared
ABDM specs.

- The link token against ``HIECM-LinkTokenService.yml`` (v3, the only official v3 spec
  of these flows).
- Consent, data flow, context notify, SMS notify, discover, link confirm and on-init
  against the ``ndhm-gateway-v1.yml`` schemas (v0.5), which v3 reuses with these
  changes, applied by ``to_v3`` (tests/factories_abdm_specs.py): ``requestId`` and
  ``timestamp`` left the body for the REQUEST-ID / TIMESTAMP headers, ``resp`` became
  ``response``, and an error's ``code`` is the string ``ABDM-xxxx`` (v0.5: an integer
  1000 / 10001).
- The data push against ``ndhm-hiu.yml`` ``DataNotification``.
- v3 linking bodies that changed shape from v0.5 (one ``patient`` entry per HI type)
  against the endpoint map's example bodies (``registries/abdm-endpoint-map.json``):
  every key we send must appear there with the same JSON type.

The converted schemas are *closed* (``additionalProperties: false`` on every object
with declared properties), so a misspelt alias fails. The spec's own defects and the
v3 additions are patched by name where they are used, each with its reason; the last
tests prove the check can fail.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from healthstack.protocol.abdm import messages as m
from healthstack.protocol.abdm.fidelius import generate_key_material
from tests.factories_abdm_specs import (
    check,
    component,
    link_token_schemas,
    schema_from_example,
    v3_component,
)

# --------------------------------------------------------------------------- the endpoint map


def _map_entry(endpoint_map: dict[str, Any], section: str, path: str) -> dict[str, Any]:
    for entry in endpoint_map[section]:
        if entry.get("path") == path:
            found: dict[str, Any] = entry
            return found
    raise AssertionError(f"{path} is not in the endpoint map's {section}")


# --------------------------------------------------------------------------- examples

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
RID = "5f7a535d-a3fd-416b-b069-c97d021fbacd"
TXN = "a1b2c3d4-0000-4000-8000-000000000001"
CONSENT_ID = "f29f0e59-8388-4698-9fe6-05db67aeac46"
RESP = m.RequestReference(request_id=RID)


def permission() -> m.Permission:
    return m.Permission(
        access_mode="VIEW",
        date_range=m.DateRange(
            from_=datetime(2020, 1, 1, tzinfo=UTC), to=datetime(2026, 11, 1, tzinfo=UTC)
        ),
        data_erase_at=datetime(2027, 1, 1, tzinfo=UTC),
        frequency=m.Frequency(unit="HOUR", value=1, repeats=0),
    )


def requester() -> m.Requester:
    return m.Requester(
        name="Dr. Manju",
        identifier=m.RequesterIdentifier(type="REGNO", value="MH1001", system="https://nmc.org"),
    )


def purpose() -> m.UsePurpose:
    return m.UsePurpose(text="Care Management", code="CAREMGT", ref_uri=m.PURPOSE_REF_URI)


def consent_detail() -> m.ConsentDetail:
    return m.ConsentDetail(
        consent_id=CONSENT_ID,
        created_at=NOW,
        patient=m.PatientId(id="ravi.kumar@sbx"),
        care_contexts=[
            m.CareContextRef(patient_reference="PT-1", care_context_reference="OPD-2026-1")
        ],
        purpose=purpose(),
        hip=m.OrgRef(id="IN0110000001"),
        hiu=m.OrgRef(id="IN0110000002"),
        consent_manager=m.OrgRef(id="sbx"),
        requester=requester(),
        hi_types=["OPConsultation", "Prescription"],
        permission=permission(),
    )


def key_material() -> m.KeyMaterial:
    return m.KeyMaterial.from_wire(generate_key_material().wire(NOW))


def hi_request() -> m.HiRequest:
    return m.HiRequest(
        consent=m.ArtefactRef(id=CONSENT_ID),
        date_range=permission().date_range,
        data_push_url="https://hiu.example.org/api/v3/hiu/data/push",
        key_material=key_material(),
    )


def hip_patient(*, display: bool = True) -> m.HipPatient:
    return m.HipPatient(
        reference_number="PT-1",
        display="Ravi Kumar" if display else None,
        care_contexts=[
            m.CareContext(reference_number="OPD-2026-1", display="OPD visit 1 Nov 2026")
            if display
            else m.CareContext(reference_number="OPD-2026-1")
        ],
        hi_type="OPConsultation",
        count=1,
    )


# --------------------------------------------------------------------------- link token (v3)


def test_generate_token_request(link_token_spec):
    schema, _ = link_token_schemas(link_token_spec)
    body = m.dump(
        m.GenerateTokenRequest(
            abha_number="91-1234-5678-9012",
            abha_address="ravi.kumar@sbx",
            name="Ravi Kumar",
            gender="M",
            year_of_birth=1990,
        )
    )
    assert body["abhaNumber"] == 91123456789012  # the spec's type: number
    check(schema, body)
    check(schema, m.dump(m.GenerateTokenRequest(name="R", gender="F", year_of_birth=1990)))
    # Read back: a number, a hyphenated string or bare digits are the same account.
    for raw in (91123456789012, "91-1234-5678-9012", "91123456789012"):
        parsed = m.GenerateTokenRequest.model_validate({**body, "abhaNumber": raw})
        assert parsed.abha_number == "91123456789012"


def test_on_generate_token(link_token_spec):
    _, variants = link_token_schemas(link_token_spec)
    success, *errors = variants
    check(
        success,
        m.dump(
            m.OnGenerateToken(abha_address="ravi.kumar@sbx", link_token="eyJ.x.y", response=RESP)
        ),
    )
    # The spec's error variants also require a top-level "message" beside error.message:
    # a copy-paste slip (no implementation sends it, and error.message says it); we
    # check the rest of the variant.
    for variant in errors:
        fixed = {**variant, "required": ["error"]}
        fixed["properties"] = {**variant["properties"]}
        fixed["properties"]["error"] = {
            **variant["properties"]["error"],
            "properties": {
                "code": {"type": "string", "pattern": "^ABDM-[0-9]{4}$"},
                "message": {"type": "string"},
            },
        }
        body = m.dump(
            m.ErrorCallback(
                error=m.ErrorDetail(
                    code="ABDM-1051", message="Invalid ABHA Number or ABHA Address"
                ),
                response=RESP,
            )
        )
        check(fixed, body)


# --------------------------------------------------------------------------- v3 linking (map)


def test_link_care_context_against_the_endpoint_map(endpoint_map):
    entry = next(e for e in endpoint_map["hip_outbound_v3"] if e["path"] == m.LINK_CARE_CONTEXT)
    body = m.dump(
        m.LinkCareContextRequest(
            abha_number="91-1234-5678-9012", abha_address="ravi.kumar@sbx", patient=[hip_patient()]
        )
    )
    assert body["abhaNumber"] == "91123456789012"  # 14 digits, no hyphens, as a string
    check(schema_from_example(entry["body"]), body)
    check(
        schema_from_example(entry["callback_body"]),
        m.dump(m.OnLinkCareContext(abha_address="ravi.kumar@sbx", status="SUCCESS", response=RESP)),
    )


def test_v3_discovery_and_link_bodies_against_the_endpoint_map(endpoint_map):
    outbound = {e["path"]: e for e in endpoint_map["hip_outbound_v3"]}
    inbound = {e["path"]: e for e in endpoint_map["hip_inbound_v3_callbacks_from_gateway"]}
    on_discover = m.OnDiscover(
        transaction_id=TXN, patient=[hip_patient()], matched_by=["MOBILE"], response=RESP
    )
    check(schema_from_example(outbound[m.ON_DISCOVER]["body"]), m.dump(on_discover))
    on_init = m.OnLinkInit(
        transaction_id=TXN,
        link=m.LinkReference(
            reference_number="LNK-1",
            authentication_type="DIRECT",
            meta=m.LinkMeta(
                communication_medium="MOBILE", communication_hint="OTP", communication_expiry=NOW
            ),
        ),
        response=RESP,
    )
    check(schema_from_example(outbound[m.ON_LINK_INIT]["body"]), m.dump(on_init))
    on_confirm = m.OnLinkConfirm(patient=[hip_patient()], response=RESP)
    schema = schema_from_example(outbound[m.ON_LINK_CONFIRM]["body"])
    # The map shows an empty careContexts list: its items are the discover answer's.
    schema["properties"]["patient"]["items"]["properties"]["careContexts"] = schema_from_example(
        outbound[m.ON_DISCOVER]["body"]
    )["properties"]["patient"]["items"]["properties"]["careContexts"]
    check(schema, m.dump(on_confirm))
    discover = m.DiscoverRequest(
        transaction_id=TXN,
        patient=m.DiscoverPatient(
            id="ravi.kumar@sbx",
            verified_identifiers=[m.Identifier(type="MOBILE", value="9800083232")],
            unverified_identifiers=[m.Identifier(type="MR", value="PT-1")],
            name="Ravi Kumar",
            gender="M",
            year_of_birth=1990,
        ),
    )
    check(schema_from_example(inbound[m.DISCOVER]["body"]), m.dump(discover))
    init = m.LinkInitRequest(
        transaction_id=TXN, abha_address="ravi.kumar@sbx", patient=[hip_patient(display=False)]
    )
    check(schema_from_example(inbound[m.LINK_INIT]["body"]), m.dump(init))
    confirm = m.LinkConfirmRequest(
        confirmation=m.LinkConfirmation(link_ref_number="LNK-1", token="123456")
    )
    check(schema_from_example(inbound[m.LINK_CONFIRM]["body"]), m.dump(confirm))
    hip_request = m.HipHiRequest(transaction_id=TXN, hi_request=hi_request())
    check(schema_from_example(inbound[m.HIP_HI_REQUEST]["body"]), m.dump(hip_request))


def test_v3_bodies_also_fit_the_v0_5_schemas_they_came_from(gateway_spec):
    """Discover, link confirm and on-init kept their v0.5 shape."""
    discover = v3_component(gateway_spec, "PatientDiscoveryRequest")
    # v3 names the ABHA identifiers ABHA_NUMBER / ABHA_ADDRESS (v0.5: NDHM_HEALTH_NUMBER /
    # HEALTH_ID).
    identifier = discover["properties"]["patient"]["properties"]["verifiedIdentifiers"]["items"]
    identifier["properties"]["type"]["enum"] += ["ABHA_NUMBER", "ABHA_ADDRESS"]
    body = m.dump(
        m.DiscoverRequest(
            transaction_id=TXN,
            patient=m.DiscoverPatient(
                id="ravi.kumar@sbx",
                verified_identifiers=[
                    m.Identifier(type="MOBILE", value="9800083232"),
                    m.Identifier(type="ABHA_NUMBER", value="91123456789012"),
                ],
                name="Ravi Kumar",
                gender="M",
                year_of_birth=1990,
            ),
        )
    )
    check(discover, body)
    check(
        v3_component(gateway_spec, "LinkConfirmationRequest"),
        m.dump(
            m.LinkConfirmRequest(confirmation=m.LinkConfirmation(link_ref_number="L", token="1"))
        ),
    )
    on_init = v3_component(gateway_spec, "PatientLinkReferenceResult")
    # Meta requires "mode" and "value", which it does not declare: a spec slip.
    on_init["properties"]["link"]["properties"]["meta"].pop("required")
    check(
        on_init,
        m.dump(
            m.OnLinkInit(
                transaction_id=TXN,
                link=m.LinkReference(
                    reference_number="LNK-1",
                    meta=m.LinkMeta(communication_medium="MOBILE", communication_expiry=NOW),
                ),
                response=RESP,
            )
        ),
    )


# --------------------------------------------------------------------------- notify (v0.5)


def test_context_and_sms_notify(gateway_spec):
    check(
        v3_component(gateway_spec, "HipDataNotificationRequest"),
        m.dump(
            m.ContextNotifyRequest(
                notification=m.ContextNotification(
                    patient=m.PatientId(id="ravi.kumar@sbx"),
                    care_context=m.CareContextRef(
                        patient_reference="PT-1", care_context_reference="OPD-2026-1"
                    ),
                    hi_types=["Prescription"],
                    date=NOW,
                    hip=m.OrgRef(id="IN0110000001"),
                )
            )
        ),
    )
    check(
        v3_component(gateway_spec, "HipDataNotificationAcknowledgement"),
        m.dump(
            m.OnContextNotify(acknowledgement=m.Acknowledgement(status="SUCCESS"), response=RESP)
        ),
    )
    check(
        v3_component(gateway_spec, "PatientSMSNotifcationRequest"),
        m.dump(
            m.SmsNotifyRequest(
                notification=m.SmsNotification(
                    phone_no="+91-9800083232",
                    care_context_info="OPD visit 1 Nov 2026",
                    deeplink_url="https://phr.example.org/phr",
                    hip=m.OrgRef(id="IN0110000001", name="PHC Khag"),
                )
            )
        ),
    )
    check(
        v3_component(gateway_spec, "PatientSMSNotifcationResponse"),
        m.dump(m.OnSmsNotify(status="ACKNOWLEDGED", response=RESP)),
    )


# --------------------------------------------------------------------------- consent (v0.5)


def test_consent_request_init_and_status(gateway_spec):
    init = v3_component(gateway_spec, "ConsentRequest")
    # v0.5 lists a consentNotificationUrl as required without declaring it; v3 does not
    # carry it (notifications go to the HIU's bridge).
    init["properties"]["consent"]["required"].remove("consentNotificationUrl")
    body = m.dump(
        m.ConsentInitRequest(
            consent=m.ConsentRequestDetail(
                purpose=purpose(),
                patient=m.PatientId(id="ravi.kumar@sbx"),
                hiu=m.OrgRef(id="IN0110000002"),
                requester=requester(),
                hi_types=["OPConsultation", "DiagnosticReport"],
                permission=permission(),
            )
        )
    )
    assert body["consent"]["permission"]["dateRange"]["from"] == "2020-01-01T00:00:00.000Z"
    check(init, body)
    check(
        v3_component(gateway_spec, "ConsentRequestInitResponse"),
        m.dump(m.OnConsentInit(consent_request=m.ConsentRequestRef(id=CONSENT_ID), response=RESP)),
    )
    check(
        v3_component(gateway_spec, "ConsentRequestInitResponse"),
        m.dump(
            m.OnConsentInit(
                error=m.ErrorDetail(code="ABDM-1201", message="Unknown purpose."), response=RESP
            )
        ),
    )
    check(
        v3_component(gateway_spec, "ConsentRequestStatusRequest"),
        m.dump(m.ConsentStatusRequest(consent_request_id=CONSENT_ID)),
    )
    check(
        v3_component(gateway_spec, "HIUConsentRequestStatus"),
        m.dump(
            m.OnConsentStatus(
                consent_request=m.ConsentRequestState(
                    id=CONSENT_ID, status="GRANTED", consent_artefacts=[m.ArtefactRef(id="a-1")]
                ),
                response=RESP,
            )
        ),
    )


def test_hip_notify_carries_the_whole_artefact(gateway_spec):
    schema = v3_component(gateway_spec, "HIPConsentNotification")
    notification = schema["properties"]["notification"]
    # v3 sends the HIP the same signed consentDetail the HIU fetches (one artefact, one
    # signature), so hiu and requester are there too, and grantAcknowledgement.
    fetched = component(gateway_spec, "ConsentArtefactResponse")["properties"]["consent"]
    detail_props = fetched["properties"]["consentDetail"]["properties"]
    notification["properties"]["consentDetail"]["properties"]["hiu"] = detail_props["hiu"]
    notification["properties"]["consentDetail"]["properties"]["requester"] = detail_props[
        "requester"
    ]
    notification["properties"]["grantAcknowledgement"] = {"type": "boolean"}
    granted = m.HipConsentNotify(
        notification=m.HipConsentNotification(
            status="GRANTED",
            consent_id=CONSENT_ID,
            consent_detail=consent_detail(),
            signature="eyJhbGciOiJSUzI1NiJ9..c2ln",
            grant_acknowledgement=False,
        )
    )
    check(schema, m.dump(granted))
    # A revocation carries only the id: the v0.5 schema insists on detail and signature,
    # which v3 drops for REVOKED / EXPIRED (REFERENCE §4.4).
    notification["required"] = ["status", "consentId"]
    revoked = m.HipConsentNotify(
        notification=m.HipConsentNotification(status="REVOKED", consent_id=CONSENT_ID)
    )
    check(schema, m.dump(revoked))
    check(
        v3_component(gateway_spec, "HIPConsentNotificationResponse"),
        m.dump(
            m.OnHipConsentNotify(
                acknowledgement=m.ConsentAcknowledgement(status="OK", consent_id=CONSENT_ID),
                response=RESP,
            )
        ),
    )


def test_hiu_notify_fetch_and_acks(gateway_spec):
    check(
        v3_component(gateway_spec, "HIUConsentNotificationEvent"),
        m.dump(
            m.HiuConsentNotify(
                notification=m.HiuConsentNotification(
                    consent_request_id=CONSENT_ID,
                    status="GRANTED",
                    consent_artefacts=[m.ArtefactRef(id="a-1"), m.ArtefactRef(id="a-2")],
                )
            )
        ),
    )
    check(
        v3_component(gateway_spec, "HIUConsentNotificationResponse"),
        m.dump(
            m.OnHiuConsentNotify(
                acknowledgement=[m.ConsentAcknowledgement(status="OK", consent_id="a-1")],
                response=RESP,
            )
        ),
    )
    check(
        v3_component(gateway_spec, "ConsentFetchRequest"),
        m.dump(m.ConsentFetchRequest(consent_id=CONSENT_ID)),
    )
    check(
        v3_component(gateway_spec, "ConsentArtefactResponse"),
        m.dump(
            m.OnConsentFetch(
                consent=m.FetchedConsent(
                    status="GRANTED", consent_detail=consent_detail(), signature="x..y"
                ),
                response=RESP,
            )
        ),
    )


def test_every_hi_type_and_purpose_is_abdm_s(gateway_spec):
    listed = set(gateway_spec["components"]["schemas"]["HITypeEnum"]["enum"])
    # Invoice is the v3 addition (NRCeS IG 6.0.0); the other seven are v0.5's.
    assert {t.value for t in m.HiType} - listed == {"Invoice"}
    assert {p.value for p in m.PurposeCode} == {
        "CAREMGT",
        "BTG",
        "PUBHLTH",
        "HPAYMT",
        "DSRCH",
        "PATRQT",
    }
    statuses = set(gateway_spec["components"]["schemas"]["ConsentStatus"]["enum"])
    assert {s.value for s in m.ConsentStatus} == statuses
    permission_schema = gateway_spec["components"]["schemas"]["Permission"]["properties"]
    assert {a.value for a in m.AccessMode} == set(permission_schema["accessMode"]["enum"])
    units = permission_schema["frequency"]["properties"]["unit"]["enum"]
    assert {u.value for u in m.FrequencyUnit} == set(units)


# --------------------------------------------------------------------------- data flow


def test_health_information_request_and_answers(gateway_spec):
    body = m.dump(m.HiRequestBody(hi_request=hi_request()))
    check(v3_component(gateway_spec, "HIRequest"), body)
    # The keyMaterial is exactly the Fidelius wire form, both ways.
    wire = m.HiRequestBody.model_validate(body).hi_request.key_material.to_wire()
    assert wire.to_dict() == body["hiRequest"]["keyMaterial"]
    check(
        v3_component(gateway_spec, "HIUHealthInformationRequestResponse"),
        m.dump(
            m.OnHiRequest(
                hi_request=m.HiRequestState(transaction_id=TXN, session_status="REQUESTED"),
                response=RESP,
            )
        ),
    )
    check(
        v3_component(gateway_spec, "HIPHIRequest"),
        m.dump(m.HipHiRequest(transaction_id=TXN, hi_request=hi_request())),
    )
    check(
        v3_component(gateway_spec, "HIPHealthInformationRequestAcknowledgement"),
        m.dump(
            m.OnHiRequest(
                hi_request=m.HiRequestState(transaction_id=TXN, session_status="ACKNOWLEDGED"),
                response=RESP,
            )
        ),
    )
    check(
        v3_component(gateway_spec, "HealthInformationNotification"),
        m.dump(
            m.HiNotify(
                notification=m.HiNotification(
                    consent_id=CONSENT_ID,
                    transaction_id=TXN,
                    done_at=NOW,
                    notifier=m.Notifier(type="HIP", id="IN0110000001"),
                    status_notification=m.StatusNotification(
                        session_status="TRANSFERRED",
                        hip_id="IN0110000001",
                        status_responses=[
                            m.StatusResponse(
                                care_context_reference="OPD-2026-1",
                                hi_status="DELIVERED",
                                description="pushed",
                            )
                        ],
                    ),
                )
            )
        ),
    )


def test_data_push(hiu_spec):
    schema = component(hiu_spec, "DataNotification")
    body = m.dump(
        m.DataPush(
            page_number=1,
            page_count=1,
            transaction_id=TXN,
            entries=[
                m.DataEntry(
                    content="Y2lwaGVy",
                    checksum="0CC175B9C0F1B6A831C399E269772661",
                    care_context_reference="OPD-2026-1",
                )
            ],
            key_material=key_material(),
        )
    )
    check(schema, body)


def test_error_callbacks_fit_every_v3_answer(gateway_spec):
    error = m.dump(
        m.ErrorCallback(
            error=m.ErrorDetail(code="ABDM-1010", message="Patient not found."), response=RESP
        )
    )
    for name in (
        "ConsentRequestInitResponse",
        "HIUConsentRequestStatus",
        "ConsentArtefactResponse",
        "HIUHealthInformationRequestResponse",
        "HIPConsentNotificationResponse",
        "HIUConsentNotificationResponse",
    ):
        check(v3_component(gateway_spec, name), error)
    # Answers in a discovery or link transaction name it even when they refuse.
    with_txn = m.dump(
        m.ErrorCallback(
            transaction_id=TXN,
            error=m.ErrorDetail(code="ABDM-1035", message="Incorrect OTP"),
            response=RESP,
        )
    )
    check(v3_component(gateway_spec, "PatientLinkReferenceResult"), with_txn)
    check(v3_component(gateway_spec, "PatientDiscoveryResult"), with_txn)


# --------------------------------------------------------------------------- signature


def test_consent_signature_round_trip():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    detail = m.dump(consent_detail())
    import jwt

    signature = jwt.api_jws.encode(
        m.consent_signing_input(detail),
        key,
        algorithm="RS256",
        headers={"kid": "k1"},
        is_payload_detached=True,
    )
    assert signature.count(".") == 2 and ".." in signature
    assert m.consent_signature_kid(signature) == "k1"
    assert m.verify_consent_signature(detail, signature, key.public_key())
    assert m.verify_consent_signature(consent_detail(), signature, key.public_key())
    # Key order does not matter, any change of content does.
    assert m.verify_consent_signature(dict(reversed(detail.items())), signature, key.public_key())
    tampered = copy.deepcopy(detail)
    tampered["hiTypes"].append("DischargeSummary")
    assert not m.verify_consent_signature(tampered, signature, key.public_key())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not m.verify_consent_signature(detail, signature, other.public_key())
    assert not m.verify_consent_signature(detail, "not a jws", key.public_key())


# --------------------------------------------------------------------------- the check fails


def test_a_wrong_alias_or_type_fails_the_check(gateway_spec, link_token_spec):
    body = m.dump(m.ConsentFetchRequest(consent_id=CONSENT_ID))
    with pytest.raises(AssertionError):
        check(v3_component(gateway_spec, "ConsentFetchRequest"), {"consent_id": CONSENT_ID})
    with pytest.raises(AssertionError):
        check(v3_component(gateway_spec, "ConsentFetchRequest"), {**body, "extra": 1})
    schema, _ = link_token_schemas(link_token_spec)
    with pytest.raises(AssertionError):
        check(
            schema, {"abhaNumber": "91123456789012", "name": "R", "gender": "M", "yearOfBirth": 1}
        )
    granted = m.dump(m.OnConsentInit(consent_request=m.ConsentRequestRef(id="x"), response=RESP))
    granted["response"] = {"request_id": RID}
    with pytest.raises(AssertionError):
        check(v3_component(gateway_spec, "ConsentRequestInitResponse"), granted)
