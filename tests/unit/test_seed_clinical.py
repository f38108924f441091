"""The demo's clinical records are coherent for the patient's age and sex: rules a
clinician would check, applied to every record the seed's planner makes for a
population of patients of every age from 3 to 95, of each sex, over many seeds.

The rules are written here, independently of ``seed.clinical``'s own tables: no type 2
diabetes under 25, no pregnancy for men, under 15 or over 50; the imaging study and
its conclusion agree with the discharge diagnosis (no "lungs clear" for a pneumonia);
every medicine is given for a diagnosis of the record that it treats, a prescription
is its consultation's medicines; no adult presentation or dose for a child (weight-
based doses within their mg/kg limits); a laboratory flag and conclusion agree with
the value (WHO's anaemia thresholds); nobody allergic to penicillin gets amoxicillin.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from healthstack.protocol.fhir.documents.model import (
    Attachment,
    Concept,
    Condition,
    Diagnosis,
    DischargeSummary,
    ImagingReport,
    LabReport,
    MedicationOrder,
    Observation,
    OPConsultation,
    Prescription,
    Quantity,
    Wellness,
)
from healthstack.protocol.fhir.terminology import loinc, snomed
from healthstack.seed.clinical import Person, Profile, Visit, plan_patient

IST = timezone(timedelta(hours=5, minutes=30))
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=IST)

T2DM = "44054006"
PREGNANCY = "72892002"
PENICILLIN_ALLERGY = "91936005"
PNEUMONIA, COPD_EXACERBATION, HEART_FAILURE = "385093006", "195951007", "84114007"
APPENDICITIS, CHOLECYSTITIS = "85189001", "65275009"
CHEST_XR, US_ABDOMEN = "36643-5", "24558-9"

# Discharge diagnosis -> (study, what the conclusion must say, what it must not).
IMAGING = {
    PNEUMONIA: (CHEST_XR, r"consolidation", r"clear|no active|normal"),
    COPD_EXACERBATION: (CHEST_XR, r"hyperinflat", r"consolidation of"),
    HEART_FAILURE: (CHEST_XR, r"cardiomegaly", r"normal heart|no cardiomegaly"),
    APPENDICITIS: (US_ABDOMEN, r"appendicitis", r"normal appendix"),
    CHOLECYSTITIS: (US_ABDOMEN, r"cholecystitis.*|calculi", r"normal gallbladder"),
}
# The youngest age at which each condition is plausible here.
MIN_AGE = {
    T2DM: 25,
    "59621000": 18,  # essential hypertension
    "239873007": 40,  # osteoarthritis of the knee
    "13645005": 40,  # COPD
    COPD_EXACERBATION: 40,
    HEART_FAILURE: 40,
}
# A medicine (by its name) and the diagnoses it may be given for.
INDICATIONS = {
    "paracetamol": {
        "195662009",
        PNEUMONIA,
        APPENDICITIS,
        CHOLECYSTITIS,
        "239873007",
        "68566005",
    },
    "amoxicillin": {PNEUMONIA, APPENDICITIS, CHOLECYSTITIS},
    "doxycycline": {PNEUMONIA},
    "ciprofloxacin": {APPENDICITIS, CHOLECYSTITIS},
    "metronidazole": {APPENDICITIS, CHOLECYSTITIS},
    "cetirizine": {"61582004"},
    "pantoprazole": {"235595009", CHOLECYSTITIS},
    "metformin": {T2DM},
    "atorvastatin": {T2DM},
    "amlodipine": {"59621000"},
    "levothyroxine": {"40930008"},
    "ferrous": {"87522002", PREGNANCY},
    "calcium": {PREGNANCY},
    "nitrofurantoin": {"68566005"},
    "oral rehydration": {"25374005"},
    "zinc": {"25374005"},
    "ondansetron": {"25374005", APPENDICITIS, CHOLECYSTITIS},
    "salbutamol": {"195967001", "13645005", COPD_EXACERBATION},
    "budesonide": {"195967001", "13645005", COPD_EXACERBATION},
    "prednisolone": {COPD_EXACERBATION},
    "furosemide": {HEART_FAILURE},
    "enalapril": {HEART_FAILURE},
    "bisoprolol": {HEART_FAILURE},
    "diclofenac": {"239873007"},
}
# Adult presentations no child (under 12, or under 40 kg) is given.
ADULT_ONLY = re.compile(
    r"Paracetamol 500 mg tablet|clavulanic acid 125 mg tablet|Cetirizine 10 mg|Pantoprazole|"
    r"Metformin|Atorvastatin|Amlodipine|Nitrofurantoin|Prednisolone|Furosemide|Enalapril|"
    r"Bisoprolol|Diclofenac|Budesonide|Doxycycline|Ciprofloxacin|Metronidazole|Calcium|"
    r"Levothyroxine|\(elemental iron 60 mg\)"
)
# Children's liquids: the drug, and the largest dose per kg of body weight.
CHILD_MG_PER_KG = {"paracetamol": 15.0, "amoxicillin": 25.0, "ondansetron": 0.15, "iron": 3.0}
_STRENGTH = re.compile(
    r"(?:(?:elemental iron|Amoxicillin|Paracetamol|Ondansetron) )?(\d+) mg/(\d+) ml"
)


def hb_threshold(person: Person, on: date, pregnant: bool) -> Decimal:
    age = person.age(on)
    if age < 5:
        return Decimal(11)
    if age < 12:
        return Decimal("11.5")
    if age < 15:
        return Decimal(12)
    if person.gender == "F":
        return Decimal(11) if pregnant else Decimal(12)
    return Decimal(13)


def _codes(concept) -> set[str]:  # type: ignore[no-untyped-def]
    return {c.code for c in concept.codings}


def _people(count: int) -> list[tuple[int, Person]]:
    out = []
    for i in range(count):
        rng = random.Random(f"people:{i}")
        age = 5 + i % 91  # 3 or more at a visit up to two years back
        gender = ("M", "F", "F", "M", "O")[i % 5]
        born = date(NOW.year - age, 1, 1) + timedelta(days=int(rng.random() * 364))
        out.append((i, Person(gender, born)))
    return out


def _plans(count: int = 600):  # type: ignore[no-untyped-def]
    for i, person in _people(count):
        rng = random.Random(f"plan:{i}")
        starts = [NOW - timedelta(days=rng.randint(300, 700)) for _ in range(3)]
        later = NOW - timedelta(days=rng.randint(20, 60))
        plan = plan_patient(
            rng,
            person,
            starts=starts,
            later=later,
            today=NOW.date(),
            invoice_numbers=[("OPD/1", "IPD/1")] * 3,
            n=i,
        )
        yield person, plan


@pytest.fixture(scope="module")
def plans():  # type: ignore[no-untyped-def]
    return list(_plans())


def _weight(observations) -> float | None:  # type: ignore[no-untyped-def]
    for o in observations:
        if "29463-7" in _codes(o.code) and isinstance(o.value, Quantity):
            return float(o.value.value)
    return None


def _check_medicine(
    med: MedicationOrder, allowed_reasons: set[str], age: int, weight: float | None, allergic: bool
) -> None:
    name = med.medicine.text or ""
    assert med.reason is not None, name
    reason = _codes(med.reason)
    assert reason & allowed_reasons, f"{name} for {reason}, not a diagnosis of the record"
    key = next((k for k in INDICATIONS if k in name.lower()), None)
    assert key is not None, f"{name}: no indication known"
    assert reason & INDICATIONS[key], f"{name} is not given for {reason}"
    if allergic:
        assert "amoxicillin" not in name.lower(), "amoxicillin for a penicillin allergy"
    liquid = " ml oral" in name and "rehydration" not in name
    if age >= 12 and not liquid:
        return  # an adult's presentation at an adult's age
    if age < 12:
        assert not ADULT_ONLY.search(name), f"{name} at {age} years"
    # A liquid is dosed by weight: the record holds the weight and the dose keeps to it.
    assert weight is not None, f"no weight recorded for {name} at {age}"
    strength = _STRENGTH.search(name)
    if strength and med.dosage.dose is not None and med.dosage.dose.unit == "mL":
        mg = float(med.dosage.dose.value) * int(strength.group(1)) / int(strength.group(2))
        drug = next((k for k in CHILD_MG_PER_KG if k in name.lower()), None)
        if drug is not None:  # cetirizine: a fixed dose by age, below
            assert mg / weight <= CHILD_MG_PER_KG[drug] + 1e-9, f"{name}: {mg / weight:.2f} mg/kg"
    if "Cetirizine" in name:
        assert med.dosage.dose is not None
        assert float(med.dosage.dose.value) <= (2.5 if age < 6 else 5), "cetirizine dose"


def check_visit(person: Person, profile, visit, seen: Counter[str]) -> None:  # type: ignore[no-untyped-def]
    """Every rule over one visit's records."""
    allergic = profile.penicillin_allergy
    day = visit.start.date()
    age = person.age(day)
    contents = [c for c, _ in visit.records]
    notes = [c for c in contents if isinstance(c, OPConsultation | DischargeSummary)]
    diagnoses = {code for n in notes for d in n.diagnoses for code in _codes(d.code)}
    history = {code for n in notes for h in n.medical_history for code in _codes(h.code)}
    weight = next(
        (w for n in notes if (w := _weight(n.physical_examination)) is not None),
        None,
    )
    conditions = diagnoses | history
    # Age and sex.
    for code, youngest in MIN_AGE.items():
        if code in conditions:
            assert age >= youngest, f"{code} at {age}"
    if PREGNANCY in conditions:
        assert person.gender == "F" and 15 <= age <= 50, (person, age)
    for n in notes:
        for h in n.medical_history:
            assert h.onset is None or h.onset <= day
        if allergic:
            assert any(PENICILLIN_ALLERGY in _codes(a.substance) for a in n.allergies)
    for content in contents:
        seen[type(content).__name__] += 1
        if isinstance(content, OPConsultation | DischargeSummary):
            for med in content.medications:
                _check_medicine(med, conditions, age, weight, allergic)
        if isinstance(content, Prescription):
            consult = next(c for c in contents if isinstance(c, OPConsultation))
            assert content.medications == consult.medications
        if isinstance(content, LabReport):
            _check_lab(content, person, day, pregnant=PREGNANCY in diagnoses)
        if isinstance(content, Wellness):
            _check_wellness(content, person, profile, day)
    if visit.kind == "IPD":
        (summary,) = [c for c in contents if isinstance(c, DischargeSummary)]
        (imaging,) = [c for c in contents if isinstance(c, ImagingReport)]
        assert summary.investigations == (imaging,)
        (final,) = [d for d in summary.diagnoses if d.final]
        (dx,) = _codes(final.code)
        study, must, must_not = IMAGING[dx]
        assert study in _codes(imaging.code), (dx, imaging.code)
        assert re.search(must, imaging.conclusion, re.I), imaging.conclusion
        assert not re.search(must_not, imaging.conclusion, re.I), imaging.conclusion
        assert imaging.modality == ("DX" if study == CHEST_XR else "US")
        seen[f"admission {dx}"] += 1


def test_every_record_is_coherent_for_the_patient(plans):  # type: ignore[no-untyped-def]
    seen: Counter[str] = Counter()
    for person, plan in plans:
        for visits in plan.slots:
            for visit in visits:
                check_visit(person, plan.profile, visit, seen)
    # The population exercised what the rules are about.
    for kind in ("OPConsultation", "Prescription", "LabReport", "DischargeSummary", "Wellness"):
        assert seen[kind] > 100, seen
    for dx in IMAGING:
        assert seen[f"admission {dx}"] > 5, seen


def test_the_rules_reject_what_the_old_seed_wrote():
    """The review's two examples: a patient born in 2008 with type 2 diabetes, and a
    pneumonia discharged with a chest X-ray that says the lungs are clear."""
    person = Person("M", date(2008, 3, 1))
    at = datetime(2026, 6, 1, 10, tzinfo=IST)
    xray = ImagingReport(
        code=Concept.of(loinc("36643-5", "XR Chest 2 Views")),
        modality="DX",
        study_uid="1.2.3",
        conclusion="Mild cardiomegaly; lungs clear.",
        issued=at,
        key_image=Attachment("image/png", b"\x89PNG\r\n\x1a\n", "image"),
    )

    def stay(history: tuple[Condition, ...]) -> Visit:
        summary = DischargeSummary(
            medical_history=history,
            investigations=(xray,),
            diagnoses=(Diagnosis(Concept.of(snomed(PNEUMONIA, "Pneumonia")), final=True),),
        )
        return Visit("IPD", at, at + timedelta(days=4), [(xray, at), (summary, at)])

    diabetes = (Condition(Concept.of(snomed(T2DM, "Diabetes mellitus type 2"))),)
    with pytest.raises(AssertionError, match=T2DM):
        check_visit(person, Profile(person), stay(diabetes), Counter())
    with pytest.raises(AssertionError, match="lungs clear"):
        check_visit(person, Profile(person), stay(()), Counter())


def _check_lab(report: LabReport, person: Person, day: date, *, pregnant: bool) -> None:
    for o in report.results:
        if isinstance(o.value, Quantity) and o.reference_range is not None:
            value = Decimal(str(o.value.value))
            low = o.reference_range.low
            high = o.reference_range.high
            if high is not None and value > Decimal(str(high.value)):
                assert o.interpretation == "H", (o.code, value)
            elif low is not None and value < Decimal(str(low.value)):
                assert o.interpretation == "L", (o.code, value)
            else:
                assert o.interpretation == "N", (o.code, value)
        if "718-7" in _codes(o.code):
            assert isinstance(o.value, Quantity)
            anaemic = Decimal(str(o.value.value)) < hb_threshold(person, day, pregnant)
            assert (o.interpretation == "L") == anaemic
            assert ("anaemia" in report.conclusion.lower()) == anaemic, report.conclusion


def _check_wellness(record: Wellness, person: Person, profile, day: date) -> None:  # type: ignore[no-untyped-def]
    age = person.age(day)
    smoking = next(
        o.value for o in record.lifestyle if isinstance(o, Observation) and o.value is not None
    )
    if age < 18:
        assert "266919005" in _codes(smoking), "a child recorded as a smoker"
    glucose = next(o for o in record.general_assessment)
    assert isinstance(glucose.value, Quantity)
    if float(glucose.value.value) > 140:
        assert profile.has("t2dm", day), "high glucose without diabetes"
    pressure = [o for o in record.vital_signs if "85354-9" in _codes(o.code)]
    assert bool(pressure) == (age >= 12)


def test_children_get_childrens_medicines(plans):  # type: ignore[no-untyped-def]
    """The population has children treated with weight-based liquids (the dose rules
    above are not vacuous)."""
    liquids = 0
    for person, plan in plans:
        for visits in plan.slots:
            for visit in visits:
                if person.age(visit.start.date()) >= 12:
                    continue
                for content, _ in visit.records:
                    if isinstance(content, OPConsultation | DischargeSummary):
                        liquids += sum(
                            " ml oral" in (m.medicine.text or "") for m in content.medications
                        )
    assert liquids > 20


def test_the_plan_is_deterministic():
    first = [plan.profile for _, plan in _plans(20)]
    assert first == [plan.profile for _, plan in _plans(20)]
