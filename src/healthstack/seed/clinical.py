"""Clinically coherent demo records: what a patient of a given age and sex plausibly
has, and records that agree with it and with each other.

- A patient's profile (``make_profile``): long-term conditions by age band and sex
  (hypertension and type 2 diabetes from 30, hypothyroidism mostly in women, COPD
  only in smokers from 45, osteoarthritis of the knee from 50, asthma from 5), each
  with an onset before the first visit; smoking status (adults only); a penicillin
  allergy now and then (adults).
- A visit's problem (``OPD_PROBLEMS``, ``ADMISSIONS``) is drawn from those the
  patient qualifies for on that day: antenatal care only for women of 18 to 40,
  anaemia with the WHO's thresholds by age, sex and pregnancy, a diabetes review only
  for a diabetic, heart failure from 55, appendicitis from 5 to 45.
- Medicines (``FORMULARY``) follow the diagnosis they are given for (their
  ``reason``): children under 12 get paediatric formulations dosed by weight (which
  their consultation records), adults the adult presentation; a penicillin-allergic
  patient gets an alternative to amoxicillin. A consultation's prescription is its
  own medicines.
- Investigations agree with the diagnosis: the laboratory result and its conclusion
  follow from the value (a low haemoglobin is flagged and called anaemia), the
  imaging study and its conclusion from the admission (a pneumonia's chest X-ray
  shows consolidation, an appendicitis gets an abdominal ultrasound), and the
  discharge summary carries the admission's complaints, findings, diagnosis,
  procedure, the medicines to continue and advice for that diagnosis.
- Wellness records agree with the profile: blood pressure with hypertension, blood
  glucose with diabetes, smoking status, weight and height for age and sex.

Codes are SNOMED CT (conditions, findings, procedures, investigations advised) and
LOINC (laboratory and imaging reports), as the NRCeS IG binds them. Pure functions
of an RNG: ``seed.records`` writes what ``plan_patient`` returns.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from PIL import Image

from healthstack.protocol.fhir.documents.model import (
    Allergy,
    Attachment,
    CarePlan,
    Concept,
    Condition,
    Diagnosis,
    DischargeSummary,
    Document,
    Dosage,
    FollowUp,
    HealthDocuments,
    ImagingReport,
    Immunizations,
    Investigation,
    Invoice,
    InvoiceLine,
    LabReport,
    MedicationOrder,
    Observation,
    ObservationComponent,
    OPConsultation,
    Prescription,
    Procedure,
    Quantity,
    RecordContent,
    ReferenceRange,
    Specimen,
    Vaccination,
    VaccineRecommendation,
    Wellness,
)
from healthstack.protocol.fhir.terminology import (
    BLOOD_PRESSURE_PANEL,
    BODY_MEASUREMENTS,
    DIASTOLIC,
    EX_SMOKER,
    GENERAL_ASSESSMENT,
    NEVER_SMOKED,
    PHYSICAL_ACTIVITY,
    ROUTE_INTRAMUSCULAR,
    ROUTE_ORAL,
    SITE_LEFT_UPPER_ARM,
    SMOKER,
    SPECIMEN_BLOOD,
    SPECIMEN_SERUM,
    SPECIMEN_URINE,
    SYSTOLIC,
    TOBACCO_SMOKING,
    VITAL_SIGNS,
    BillingCode,
    Coding,
    loinc,
    snomed,
)

CHILD_UNDER = 12  # paediatric formulations and weight-based doses below this age
HEP_B = snomed("836374004", "Hepatitis B virus antigen-containing vaccine product")
PENICILLIN_ALLERGY = snomed("91936005", "Allergy to penicillin")

SAMPLE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def image(fmt: str, shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (shade, shade, shade)).save(buf, format=fmt)
    return buf.getvalue()


# --------------------------------------------------------------------------- the person


@dataclass(frozen=True)
class Person:
    gender: str  # M, F, O
    birth_date: date

    def age(self, on: date) -> int:
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    @property
    def female(self) -> bool:
        return self.gender == "F"


# Median-ish weight (kg) and height (cm) of Indian children by completed year of age.
_CHILD_WEIGHT = (3.3, 9.5, 11.5, 13.5, 15.5, 17.5, 19.5, 21.5, 24, 26.5, 29, 32, 36, 40, 44, 48)
_CHILD_HEIGHT = (50, 75, 86, 95, 102, 109, 115, 121, 127, 132, 137, 142, 148, 154, 159, 163)


@dataclass
class Profile:
    """What the patient has, as the records must agree with it."""

    person: Person
    conditions: dict[str, date] = field(default_factory=dict)  # key -> onset
    smoking: str = "never"  # never | current | ex
    penicillin_allergy: bool = False
    adult_weight: float = 60.0  # kg, for an adult
    adult_height: int = 165  # cm

    def has(self, key: str, on: date) -> bool:
        onset = self.conditions.get(key)
        return onset is not None and onset < on

    def weight(self, on: date) -> float:
        age = self.person.age(on)
        if age >= len(_CHILD_WEIGHT):
            return self.adult_weight
        return float(_CHILD_WEIGHT[age])

    def height(self, on: date) -> int:
        age = self.person.age(on)
        return self.adult_height if age >= len(_CHILD_HEIGHT) else _CHILD_HEIGHT[age]


@dataclass(frozen=True)
class Chronic:
    key: str
    code: Coding
    min_onset: int  # youngest age at onset
    chance: Callable[[Person, int], float]  # by the person and their age now


def _by_age(*bands: tuple[int, float]) -> Callable[[Person, int], float]:
    """The chance from each band's age on (bands in increasing age)."""

    def chance(person: Person, age: int) -> float:
        p = 0.0
        for start, share in bands:
            if age >= start:
                p = share
        return p

    return chance


CHRONIC: dict[str, Chronic] = {
    c.key: c
    for c in (
        Chronic(
            "hypertension",
            snomed("59621000", "Essential hypertension"),
            30,
            _by_age((30, 0.08), (40, 0.2), (50, 0.32), (60, 0.42)),
        ),
        # Type 2 diabetes: never before 25 (here not before 30).
        Chronic(
            "t2dm",
            snomed("44054006", "Diabetes mellitus type 2"),
            30,
            _by_age((30, 0.04), (40, 0.1), (50, 0.16), (60, 0.2)),
        ),
        Chronic(
            "hypothyroidism",
            snomed("40930008", "Hypothyroidism"),
            20,
            lambda p, age: (0.08 if p.female else 0.015) if age >= 20 else 0.0,
        ),
        Chronic("asthma", snomed("195967001", "Asthma"), 5, _by_age((5, 0.04))),
        Chronic(
            "oa_knee",
            snomed("239873007", "Osteoarthritis of knee"),
            50,
            lambda p, age: (0.22 if p.female else 0.14) if age >= 50 else 0.0,
        ),
        # COPD: smokers only (make_profile), from 45.
        Chronic(
            "copd",
            snomed("13645005", "Chronic obstructive lung disease"),
            45,
            _by_age((45, 0.3)),
        ),
    )
}


def make_profile(rng: random.Random, person: Person, *, today: date, first_visit: date) -> Profile:
    """The patient's long-term conditions (each with an onset before the first
    visit), smoking, allergy and build, by age band and sex."""
    r = rng.random
    age_first = person.age(first_visit)
    profile = Profile(person)
    if age_first >= 18:
        if person.gender == "M":
            profile.smoking = "current" if r() < 0.3 else "ex" if r() < 0.15 else "never"
        else:
            profile.smoking = "current" if r() < 0.03 else "never"
        profile.penicillin_allergy = r() < 0.08
        if person.female:
            profile.adult_weight = float(45 + int(r() * 30))
            profile.adult_height = 148 + int(r() * 20)
        else:
            profile.adult_weight = float(55 + int(r() * 32))
            profile.adult_height = 160 + int(r() * 22)
    age_now = person.age(today)
    for c in CHRONIC.values():
        if c.key == "copd" and profile.smoking == "never":
            continue
        if r() >= c.chance(person, age_now) or age_first <= c.min_onset:
            continue
        onset_age = c.min_onset + int(r() * (age_first - c.min_onset))
        onset = person.birth_date + timedelta(days=int(onset_age * 365.25 + r() * 300))
        if onset < first_visit:
            profile.conditions[c.key] = onset
    return profile


# --------------------------------------------------------------------------- medicines


@dataclass(frozen=True)
class Drug:
    """A medicine as prescribed to an adult and, when children take it, to a child.

    ``child`` is (presentation, mg per kg per dose, mg per ml, max mg per dose) for a
    liquid dosed by weight; ``child_fixed`` a fixed dose in ml by age."""

    key: str
    adult: str  # the presentation
    adult_dose: str  # the instruction, "1 tablet"
    adult_units: Decimal
    unit: str  # UCUM of the dose
    unit_display: str
    per_day: int | None
    days: int | None
    for_: frozenset[str]  # the problems and conditions it treats
    min_age: int = 0  # no presentation below this age
    child: tuple[str, float, float, float] | None = None
    child_fixed: Callable[[int], tuple[str, Decimal]] | None = None
    as_needed: bool = False
    note: str = ""


def _cetirizine_child(age: int) -> tuple[str, Decimal]:
    # 5 mg/5 ml: 2.5 mg (2.5 ml) from 2 to 5 years, 5 mg (5 ml) from 6 to 11.
    return ("Cetirizine 5 mg/5 ml oral solution", Decimal("2.5") if age < 6 else Decimal(5))


FORMULARY: dict[str, Drug] = {
    d.key: d
    for d in (
        Drug(
            "paracetamol",
            "Paracetamol 500 mg tablet",
            "1 tablet",
            Decimal(1),
            "{tbl}",
            "tablet",
            3,
            5,
            frozenset(
                {"pharyngitis", "pneumonia", "appendicitis", "cholecystitis", "oa_knee", "uti"}
            ),
            child=("Paracetamol 250 mg/5 ml oral suspension", 15.0, 50.0, 500.0),
            as_needed=True,
            note="for fever or pain, at least 6 hours apart",
        ),
        Drug(
            "amox_clav",
            "Amoxicillin 500 mg + clavulanic acid 125 mg tablet",
            "1 tablet",
            Decimal(1),
            "{tbl}",
            "tablet",
            3,
            7,
            frozenset({"pneumonia", "appendicitis", "cholecystitis"}),
            # 45 mg/kg/day of amoxicillin in two doses (400 mg/5 ml).
            child=(
                "Amoxicillin 400 mg + clavulanic acid 57 mg/5 ml oral suspension",
                22.5,
                80.0,
                875.0,
            ),
        ),
        Drug(
            "doxycycline",
            "Doxycycline 100 mg capsule",
            "1 capsule",
            Decimal(1),
            "{cap}",
            "capsule",
            2,
            7,
            frozenset({"pneumonia"}),
            min_age=12,
            note="penicillin allergy: instead of amoxicillin",
        ),
        Drug(
            "ciprofloxacin",
            "Ciprofloxacin 500 mg tablet",
            "1 tablet",
            Decimal(1),
            "{tbl}",
            "tablet",
            2,
            5,
            frozenset({"appendicitis", "cholecystitis"}),
            min_age=18,
            note="penicillin allergy: with metronidazole instead of amoxicillin",
        ),
        Drug(
            "metronidazole",
            "Metronidazole 400 mg tablet",
            "1 tablet after food",
            Decimal(1),
            "{tbl}",
            "tablet",
            3,
            5,
            frozenset({"appendicitis", "cholecystitis"}),
            min_age=18,
        ),
        Drug(
            "cetirizine",
            "Cetirizine 10 mg tablet",
            "1 tablet",
            Decimal(1),
            "{tbl}",
            "tablet",
            1,
            10,
            frozenset({"allergic_rhinitis"}),
            min_age=2,
            child_fixed=_cetirizine_child,
        ),
        Drug(
            "pantoprazole",
            "Pantoprazole 40 mg tablet",
            "1 tablet before breakfast",
            Decimal(1),
            "{tbl}",
            "tablet",
            1,
            28,
            frozenset({"gerd", "cholecystitis"}),
            min_age=18,
        ),
        Drug(
            "metformin",
            "Metformin 500 mg tablet",
            "1 tablet after meals",
            Decimal(1),
            "{tbl}",
            "tablet",
            2,
            30,
            frozenset({"t2dm"}),
            min_age=18,
        ),
        Drug(
            "atorvastatin",
            "Atorvastatin 10 mg tablet",
            "1 tablet at night",
            Decimal(1),
            "{tbl}",
            "tablet",
            1,
            30,
            frozenset({"t2dm"}),
            min_age=40,
        ),
        Drug(
            "amlodipine",
            "Amlodipine 5 mg tablet",
            "1 tablet",
            Decimal(1),
            "{tbl}",
            "tablet",
            1,
            30,
            frozenset({"hypertension"}),
            min_age=18,
        ),
        Drug(
            "levothyroxine",
            "Levothyroxine 50 microgram tablet",
            "1 tablet on an empty stomach",
            Decimal(1),
            "{tbl}",
            "tablet",
            1,
            30,
            frozenset({"hypothyroidism"}),
            min_age=18,
        ),
        Drug(
            "iron_folic",
            "Ferrous sulphate (elemental iron 60 mg) + folic acid 500 microgram tablet",
            "1 tablet after food",
            Decimal(1),
            "{tbl}",
            "tablet",
            1,
            90,
            frozenset({"ida", "anc"}),
            min_age=2,
            # 3 mg/kg/day of elemental iron (30 mg/5 ml).
            child=("Ferrous sulphate oral solution (elemental iron 30 mg/5 ml)", 3.0, 6.0, 60.0),
        ),
        Drug(
            "calcium",
            "Calcium carbonate 1.25 g (elemental calcium 500 mg) tablet",
            "1 tablet",
            Decimal(1),
            "{tbl}",
            "tablet",
            2,
            90,
            frozenset({"anc"}),
            min_age=18,
        ),
        Drug(
            "nitrofurantoin",
            "Nitrofurantoin 100 mg capsule",
            "1 capsule after food",
            Decimal(1),
            "{cap}",
            "capsule",
            2,
            5,
            frozenset({"uti"}),
            min_age=18,
        ),
        Drug(
            "ors",
            "Oral rehydration salts (WHO low-osmolarity), 1 sachet in 1 litre of water",
            "200 ml after each loose stool",
            Decimal(200),
            "mL",
            "ml",
            None,
            3,
            frozenset({"gastroenteritis"}),
            child_fixed=lambda age: (
                "Oral rehydration salts (WHO low-osmolarity), 1 sachet in 1 litre of water",
                Decimal(100),
            ),
            as_needed=True,
        ),
        Drug(
            "zinc",
            "Zinc sulphate 20 mg dispersible tablet",
            "1 tablet dissolved in water",
            Decimal(1),
            "{tbl}",
            "tablet",
            1,
            14,
            frozenset({"gastroenteritis"}),
        ),
        Drug(
            "ondansetron",
            "Ondansetron 4 mg tablet",
            "1 tablet",
            Decimal(1),
            "{tbl}",
            "tablet",
            3,
            3,
            frozenset({"gastroenteritis", "appendicitis", "cholecystitis"}),
            min_age=1,
            child=("Ondansetron 2 mg/5 ml oral solution", 0.15, 0.4, 4.0),
            as_needed=True,
            note="for vomiting",
        ),
        Drug(
            "salbutamol",
            "Salbutamol 100 microgram/dose inhaler",
            "2 puffs",
            Decimal(2),
            "{puff}",
            "puff",
            4,
            30,
            frozenset({"asthma", "copd"}),
            min_age=5,
            as_needed=True,
            note="for breathlessness; children with a spacer",
        ),
        Drug(
            "budesonide_formoterol",
            "Budesonide 200 microgram + formoterol 6 microgram inhaler",
            "1 puff",
            Decimal(1),
            "{puff}",
            "puff",
            2,
            30,
            frozenset({"asthma", "copd"}),
            min_age=12,
        ),
        Drug(
            "prednisolone",
            "Prednisolone 5 mg tablet",
            "8 tablets (40 mg) in the morning",
            Decimal(8),
            "{tbl}",
            "tablet",
            1,
            5,
            frozenset({"copd"}),
            min_age=18,
        ),
        Drug(
            "furosemide",
            "Furosemide 40 mg tablet",
            "1 tablet in the morning",
            Decimal(1),
            "{tbl}",
            "tablet",
            1,
            30,
            frozenset({"heart_failure"}),
            min_age=18,
        ),
        Drug(
            "enalapril",
            "Enalapril 5 mg tablet",
            "1 tablet",
            Decimal(1),
            "{tbl}",
            "tablet",
            2,
            30,
            frozenset({"heart_failure"}),
            min_age=18,
        ),
        Drug(
            "bisoprolol",
            "Bisoprolol 2.5 mg tablet",
            "1 tablet",
            Decimal(1),
            "{tbl}",
            "tablet",
            1,
            30,
            frozenset({"heart_failure"}),
            min_age=18,
        ),
        Drug(
            "diclofenac_gel",
            "Diclofenac 1 % gel",
            "apply a thin layer to the knee",
            Decimal(1),
            "{application}",
            "application",
            3,
            14,
            frozenset({"oa_knee"}),
            min_age=18,
        ),
    )
}
_TIMES = {1: "once", 2: "twice", 3: "three times", 4: "four times"}
# The one presentation for every age: a dispersible zinc tablet, an inhaler (with a
# spacer for a child).
_SAME_FOR_CHILDREN = frozenset({"zinc", "salbutamol"})


def prescribe(key: str, profile: Profile, on: date, reason: Coding) -> MedicationOrder:
    """``key`` for this patient on this day: the child's formulation and dose below
    ``CHILD_UNDER`` (by the weight the visit records), else the adult's."""
    drug = FORMULARY[key]
    age = profile.person.age(on)
    if age < drug.min_age:
        raise ValueError(f"{key} is not given at {age}")
    name, amount, unit, unit_display, how = (
        drug.adult,
        drug.adult_units,
        drug.unit,
        drug.unit_display,
        drug.adult_dose,
    )
    # Children, and adolescents under 40 kg, get the liquid dosed by their weight.
    light = age < CHILD_UNDER or profile.weight(on) < 40
    if light and drug.child is not None:
        name, per_kg, per_ml, most = drug.child
        mg = min(per_kg * profile.weight(on), most)
        # Down to the half millilitre the syringe measures: never above the dose.
        ml = (Decimal(str(mg / per_ml)) * 2).to_integral_value(ROUND_FLOOR) / 2
        amount, unit, unit_display = max(ml, Decimal("0.5")), "mL", "ml"
        how = f"{amount} ml"
    elif age < CHILD_UNDER and drug.child_fixed is not None:
        name, amount = drug.child_fixed(age)
        unit, unit_display, how = "mL", "ml", f"{amount} ml"
    elif age < CHILD_UNDER and key not in _SAME_FOR_CHILDREN:
        raise ValueError(f"{key} has no children's presentation")
    if key == "zinc" and age >= 5:
        raise ValueError("zinc is for children under five with diarrhoea")
    parts = [how]
    if drug.per_day:
        parts.append(f"{'up to ' if drug.as_needed else ''}{_TIMES[drug.per_day]} a day")
    if drug.days:
        parts.append(f"for {drug.days} days")
    if drug.note:
        parts.append(f"({drug.note})")
    coding = (
        snomed("322236009", "Acetaminophen 500 mg oral tablet")
        if name == "Paracetamol 500 mg tablet"
        else None
    )
    return MedicationOrder(
        Concept.of(coding, text=name) if coding else Concept(name),
        Dosage(
            " ".join(parts),
            dose=Quantity(amount, unit, unit_display),
            frequency=drug.per_day,
            duration_days=drug.days,
            route=Concept.of(ROUTE_ORAL) if "inhaler" not in name and "gel" not in name else None,
            as_needed=drug.as_needed,
        ),
        reason=Concept.of(reason),
    )


# --------------------------------------------------------------------------- findings


def _q(value: Decimal | int | float, measure_unit: str, display: str) -> Quantity:
    return Quantity(value, measure_unit, display)


def vitals(
    rng: random.Random,
    profile: Profile,
    at: datetime,
    *,
    fever: bool = False,
    breathless: bool = False,
    hypertensive: bool = False,
) -> tuple[Observation, ...]:
    """Pulse, temperature, breathing and oxygen when unwell, blood pressure for
    adults (high in an untreated or uncontrolled hypertensive), weight for a child."""
    r = rng.randint
    day = at.date()
    age = profile.person.age(day)
    child = age < CHILD_UNDER
    pulse = r(90, 120) if child else r(64, 92)
    if fever or breathless:
        pulse += 14
    out = [
        Observation(
            Concept.of(VITAL_SIGNS["heart_rate"].coding, text="Pulse"),
            _q(pulse, "/min", "beats/min"),
            effective=at,
        )
    ]
    if fever:
        out.append(
            Observation(
                Concept.of(VITAL_SIGNS["body_temperature"].coding, text="Temperature"),
                _q(Decimal(r(1006, 1030)) / 10, "[degF]", "°F"),
                effective=at,
            )
        )
    if breathless:
        out += [
            Observation(
                Concept.of(VITAL_SIGNS["respiratory_rate"].coding, text="Respiratory rate"),
                _q(r(26, 34) if child else r(22, 30), "/min", "breaths/min"),
                effective=at,
            ),
            Observation(
                Concept.of(VITAL_SIGNS["oxygen_saturation"].coding, text="SpO2 on room air"),
                _q(r(88, 93), "%", "%"),
                effective=at,
            ),
        ]
    if not child:
        systolic, diastolic = (
            (r(142, 164), r(90, 100)) if hypertensive else (r(106, 132), r(66, 84))
        )
        out.append(
            Observation(
                Concept.of(BLOOD_PRESSURE_PANEL, text="Blood pressure"),
                components=(
                    ObservationComponent(
                        Concept.of(SYSTOLIC.coding), _q(systolic, "mm[Hg]", "mmHg")
                    ),
                    ObservationComponent(
                        Concept.of(DIASTOLIC.coding), _q(diastolic, "mm[Hg]", "mmHg")
                    ),
                ),
                effective=at,
            )
        )
    if child or profile.weight(day) < 40:
        # Their medicines are dosed by weight: the visit records it.
        out.append(
            Observation(
                Concept.of(BODY_MEASUREMENTS["body_weight"].coding, text="Weight"),
                _q(Decimal(str(profile.weight(day))), "kg", "kg"),
                effective=at,
            )
        )
    return tuple(out)


def anaemia_threshold(person: Person, on: date, *, pregnant: bool) -> Decimal:
    """WHO's haemoglobin cut-off (g/dL) below which a person is anaemic."""
    age = person.age(on)
    if age < 5:
        return Decimal(11)
    if age < 12:
        return Decimal("11.5")
    if age < 15:
        return Decimal(12)
    if person.female:
        return Decimal(11) if pregnant else Decimal(12)
    return Decimal(13)


def cbc(
    rng: random.Random,
    profile: Profile,
    at: datetime,
    *,
    low: bool = False,
    pregnant: bool = False,
    infection: bool = False,
) -> LabReport:
    """A complete blood count whose flags and conclusion follow from its values."""
    cut = anaemia_threshold(profile.person, at.date(), pregnant=pregnant)
    step = Decimal(rng.randint(8, 30) if low else rng.randint(3, 25)) / 10
    hb = cut - step if low else cut + step
    wbc = Decimal(rng.randint(125, 180) if infection else rng.randint(50, 100)) / 10
    anaemic = hb < cut
    if anaemic:
        conclusion = (
            "Microcytic hypochromic anaemia, consistent with iron deficiency."
            if low
            else "Mild anaemia."
        )
    else:
        conclusion = "Haemoglobin within normal limits."
    conclusion += " Raised white cell count." if infection else " White cell count normal."
    return LabReport(
        code=Concept.of(loinc("58410-2", "CBC panel - Blood by Automated count")),
        results=(
            Observation(
                Concept.of(loinc("718-7", "Hemoglobin [Mass/volume] in Blood"), text="Haemoglobin"),
                _q(hb, "g/dL", "g/dL"),
                reference_range=ReferenceRange(_q(cut, "g/dL", "g/dL"), None),
                interpretation="L" if anaemic else "N",
            ),
            Observation(
                Concept.of(
                    loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count"),
                    text="White cell count",
                ),
                _q(wbc, "10*3/uL", "×10³/µL"),
                reference_range=ReferenceRange(
                    _q(4, "10*3/uL", "×10³/µL"), _q(11, "10*3/uL", "×10³/µL")
                ),
                interpretation="H" if wbc > 11 else "N",
            ),
            Observation(
                Concept.of(loinc("777-3", "Platelets [#/volume] in Blood by Automated count")),
                _q(rng.randint(160, 390), "10*3/uL", "×10³/µL"),
                reference_range=ReferenceRange(
                    _q(150, "10*3/uL", "×10³/µL"), _q(410, "10*3/uL", "×10³/µL")
                ),
                interpretation="N",
            ),
        ),
        conclusion=conclusion,
        issued=at + timedelta(hours=4),
        specimen=Specimen(
            Concept.of(SPECIMEN_BLOOD), at + timedelta(hours=1), at + timedelta(hours=2)
        ),
        pdf=Attachment("application/pdf", SAMPLE_PDF, "Complete blood count report"),
    )


def _single(
    code: Coding,
    label: str,
    value: Decimal,
    unit: tuple[str, str],
    low: Decimal | None,
    high: Decimal | None,
    conclusion: str,
    at: datetime,
    specimen: Coding,
) -> LabReport:
    flag = (
        "H"
        if high is not None and value > high
        else "L"
        if low is not None and value < low
        else "N"
    )
    return LabReport(
        code=Concept.of(code),
        results=(
            Observation(
                Concept.of(code, text=label),
                _q(value, *unit),
                reference_range=ReferenceRange(
                    _q(low, *unit) if low is not None else None,
                    _q(high, *unit) if high is not None else None,
                ),
                interpretation=flag,
            ),
        ),
        conclusion=conclusion,
        issued=at + timedelta(hours=5),
        specimen=Specimen(Concept.of(specimen), at + timedelta(hours=1), at + timedelta(hours=2)),
        pdf=Attachment("application/pdf", SAMPLE_PDF, f"{label} report"),
    )


def hba1c(rng: random.Random, profile: Profile, at: datetime) -> LabReport:
    value = Decimal(rng.randint(72, 94)) / 10
    return _single(
        loinc("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
        "HbA1c",
        value,
        ("%", "%"),
        None,
        Decimal("6.4"),
        f"HbA1c {value} %: diabetes above the treatment target (below 7 %).",
        at,
        SPECIMEN_BLOOD,
    )


def creatinine(rng: random.Random, profile: Profile, at: datetime) -> LabReport:
    value = Decimal(rng.randint(6, 11)) / 10
    high = Decimal("1.1") if profile.person.female else Decimal("1.3")
    return _single(
        loinc("2160-0", "Creatinine [Mass/volume] in Serum or Plasma"),
        "Serum creatinine",
        value,
        ("mg/dL", "mg/dL"),
        Decimal("0.5"),
        high,
        "Serum creatinine within normal limits: no evidence of renal impairment.",
        at,
        SPECIMEN_SERUM,
    )


def tsh(rng: random.Random, profile: Profile, at: datetime) -> LabReport:
    value = Decimal(rng.randint(12, 38)) / 10
    return _single(
        loinc("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma"),
        "TSH",
        value,
        ("m[IU]/L", "mIU/L"),
        Decimal("0.4"),
        Decimal("4.5"),
        "TSH within the reference range on levothyroxine: the dose is adequate.",
        at,
        SPECIMEN_SERUM,
    )


def urinalysis(rng: random.Random, profile: Profile, at: datetime) -> LabReport:
    def strip(code: Coding, label: str) -> Observation:
        return Observation(Concept.of(code, text=label), "Positive", interpretation="A")

    return LabReport(
        code=Concept.of(loinc("24356-8", "Urinalysis complete panel - Urine")),
        results=(
            strip(
                loinc("5799-2", "Leukocyte esterase [Presence] in Urine by Test strip"),
                "Leukocyte esterase",
            ),
            strip(loinc("5802-4", "Nitrite [Presence] in Urine by Test strip"), "Nitrite"),
        ),
        conclusion="Leukocyte esterase and nitrite positive: consistent with urinary tract "
        "infection. Urine sent for culture.",
        issued=at + timedelta(hours=2),
        specimen=Specimen(
            Concept.of(SPECIMEN_URINE), at + timedelta(minutes=30), at + timedelta(hours=1)
        ),
        pdf=Attachment("application/pdf", SAMPLE_PDF, "Urinalysis report"),
    )


# --------------------------------------------------------------------------- problems

_CBC_ADVICE = snomed("26604007", "Complete blood count")


@dataclass(frozen=True)
class Problem:
    """An outpatient problem: who may have it, what they complain of, what is done."""

    key: str
    diagnosis: Coding
    complaints: tuple[Coding, ...]
    eligible: Callable[[Profile, date], bool]
    drugs: Callable[[Profile, date], tuple[str, ...]]
    advice: Coding | None  # investigation advised
    lab: Callable[[random.Random, Profile, datetime], LabReport] | None
    follow_up: str
    fever: bool = False
    hypertensive: bool = False  # the visit's blood pressure is high


def _age_between(low: int, high: int, *, female: bool = False) -> Callable[[Profile, date], bool]:
    def ok(p: Profile, on: date) -> bool:
        return low <= p.person.age(on) <= high and (p.person.female or not female)

    return ok


def _having(key: str) -> Callable[[Profile, date], bool]:
    return lambda p, on: p.has(key, on)


def _pregnant_possible(p: Profile, on: date) -> bool:
    # No other problem of an antenatal patient is modelled as chronic.
    return p.person.female and 18 <= p.person.age(on) <= 40


OPD_PROBLEMS: tuple[Problem, ...] = (
    Problem(
        "pharyngitis",
        snomed("195662009", "Acute viral pharyngitis"),
        (snomed("162397003", "Pain in throat"), snomed("386661006", "Fever")),
        _age_between(2, 95),
        lambda p, on: ("paracetamol",),
        _CBC_ADVICE,
        lambda rng, p, at: cbc(rng, p, at),
        "Review if fever persists beyond 3 days",
        fever=True,
    ),
    Problem(
        "allergic_rhinitis",
        snomed("61582004", "Allergic rhinitis"),
        (snomed("76067001", "Sneezing"),),
        _age_between(3, 95),
        lambda p, on: ("cetirizine",),
        None,
        None,
        "Review in 2 weeks if not better",
    ),
    Problem(
        "gerd",
        snomed("235595009", "Gastroesophageal reflux disease"),
        (snomed("16331000", "Heartburn"),),
        _age_between(18, 95),
        lambda p, on: ("pantoprazole",),
        None,
        None,
        "Review after 4 weeks of treatment",
    ),
    Problem(
        "ida",
        snomed("87522002", "Iron deficiency anemia"),
        (snomed("84229001", "Fatigue"),),
        lambda p, on: (
            (p.person.female and 12 <= p.person.age(on) <= 50) or 2 <= p.person.age(on) < 12
        ),
        lambda p, on: ("iron_folic",),
        _CBC_ADVICE,
        lambda rng, p, at: cbc(rng, p, at, low=True),
        "Repeat haemoglobin after 4 weeks of iron",
    ),
    Problem(
        "uti",
        snomed("68566005", "Urinary tract infectious disease"),
        (snomed("49650001", "Dysuria"),),
        _age_between(18, 65, female=True),
        lambda p, on: ("nitrofurantoin", "paracetamol"),
        snomed("27171005", "Urinalysis"),
        urinalysis,
        "Review with the urine culture report",
    ),
    Problem(
        "gastroenteritis",
        snomed("25374005", "Gastroenteritis"),
        (snomed("62315008", "Diarrhea"), snomed("422400008", "Vomiting")),
        _age_between(1, 95),
        lambda p, on: (
            ("ors", "zinc", "ondansetron") if p.person.age(on) < 5 else ("ors", "ondansetron")
        ),
        _CBC_ADVICE,
        lambda rng, p, at: cbc(rng, p, at, infection=True),
        "Return at once if unable to drink or passing little urine",
    ),
    Problem(
        "anc",
        snomed("72892002", "Normal pregnancy"),
        (snomed("14302001", "Amenorrhea"),),
        _pregnant_possible,
        lambda p, on: ("iron_folic", "calcium"),
        _CBC_ADVICE,
        lambda rng, p, at: cbc(rng, p, at, pregnant=True),
        "Next antenatal visit in 4 weeks",
    ),
    Problem(
        "hypertension",
        CHRONIC["hypertension"].code,
        (),
        _having("hypertension"),
        lambda p, on: ("amlodipine",),
        snomed("113075003", "Creatinine measurement, serum"),
        creatinine,
        "Blood pressure review in 4 weeks",
        hypertensive=True,
    ),
    Problem(
        "t2dm",
        CHRONIC["t2dm"].code,
        (),
        _having("t2dm"),
        lambda p, on: ("metformin", "atorvastatin") if p.person.age(on) >= 40 else ("metformin",),
        snomed("43396009", "Hemoglobin A1c measurement"),
        hba1c,
        "Diabetes review in 3 months with HbA1c",
    ),
    Problem(
        "hypothyroidism",
        CHRONIC["hypothyroidism"].code,
        (),
        _having("hypothyroidism"),
        lambda p, on: ("levothyroxine",),
        snomed("61167004", "Thyroid stimulating hormone measurement"),
        tsh,
        "Thyroid review in 6 months",
    ),
    Problem(
        "oa_knee",
        CHRONIC["oa_knee"].code,
        (snomed("30989003", "Knee pain"),),
        _having("oa_knee"),
        lambda p, on: ("paracetamol", "diclofenac_gel"),
        None,
        None,
        "Physiotherapy; review in 6 weeks",
    ),
    Problem(
        "asthma",
        CHRONIC["asthma"].code,
        (snomed("56018004", "Wheezing"),),
        _having("asthma"),
        lambda p, on: (
            ("salbutamol", "budesonide_formoterol") if p.person.age(on) >= 12 else ("salbutamol",)
        ),
        None,
        None,
        "Asthma review in 3 months; bring the inhaler",
    ),
)
PROBLEMS = {p.key: p for p in OPD_PROBLEMS}


@dataclass(frozen=True)
class Admission:
    """An inpatient stay: who is admitted for it, the imaging that shows it, the
    operation if any, the medicines to go home with and the advice."""

    key: str
    diagnosis: Coding
    complaints: tuple[Coding, ...]
    eligible: Callable[[Profile, date], bool]
    imaging: tuple[Coding, str, str, Coding]  # study (LOINC), modality, conclusion, procedure
    drugs: Callable[[Profile, date], tuple[str, ...]]
    advice: str
    days: int
    procedure: Coding | None = None
    fever: bool = False
    breathless: bool = False


_CHEST_XR = loinc("36643-5", "XR Chest 2 Views")
_US_ABDOMEN = loinc("24558-9", "US Abdomen")
_PLAIN_CHEST = snomed("399208008", "Plain chest X-ray")
_US_PROCEDURE = snomed("45036003", "Ultrasonography of abdomen")


def _antibiotic(p: Profile, on: date) -> str:
    return "doxycycline" if p.penicillin_allergy else "amox_clav"


def _abdominal_antibiotics(p: Profile) -> tuple[str, ...]:
    return ("ciprofloxacin", "metronidazole") if p.penicillin_allergy else ("amox_clav",)


ADMISSIONS: tuple[Admission, ...] = (
    Admission(
        "pneumonia",
        snomed("385093006", "Community acquired pneumonia"),
        (
            snomed("49727002", "Cough"),
            snomed("386661006", "Fever"),
            snomed("267036007", "Dyspnea"),
        ),
        _age_between(3, 95),
        (
            _CHEST_XR,
            "DX",
            "Consolidation of the right lower zone with air bronchograms, consistent with "
            "pneumonia. No pleural effusion.",
            _PLAIN_CHEST,
        ),
        lambda p, on: (_antibiotic(p, on), "paracetamol"),
        "Complete the antibiotic course; plenty of fluids; review in OPD after one week, "
        "sooner if breathlessness returns.",
        4,
        fever=True,
        breathless=True,
    ),
    Admission(
        "copd",
        snomed("195951007", "Acute exacerbation of chronic obstructive airways disease"),
        (snomed("267036007", "Dyspnea"), snomed("56018004", "Wheezing")),
        lambda p, on: p.has("copd", on),
        (
            _CHEST_XR,
            "DX",
            "Hyperinflated lung fields with flattened hemidiaphragms. No consolidation, "
            "effusion or pneumothorax.",
            _PLAIN_CHEST,
        ),
        lambda p, on: ("salbutamol", "budesonide_formoterol", "prednisolone"),
        "Stop smoking (the cessation clinic is on Tuesdays); use the inhalers as shown; "
        "pulmonary rehabilitation; review in OPD after two weeks.",
        5,
        breathless=True,
    ),
    Admission(
        "heart_failure",
        snomed("84114007", "Heart failure"),
        (snomed("267036007", "Dyspnea"), snomed("267038008", "Edema")),
        _age_between(55, 95),
        (
            _CHEST_XR,
            "DX",
            "Cardiomegaly (cardiothoracic ratio 0.6) with upper lobe venous diversion and "
            "small bilateral pleural effusions, in keeping with cardiac failure.",
            _PLAIN_CHEST,
        ),
        lambda p, on: ("furosemide", "enalapril", "bisoprolol"),
        "Salt under 5 g a day, fluids up to 1.5 litres; weigh daily and report a gain of "
        "2 kg in 3 days; review in the cardiology OPD after two weeks.",
        6,
        breathless=True,
    ),
    Admission(
        "appendicitis",
        snomed("85189001", "Acute appendicitis"),
        (snomed("21522001", "Abdominal pain"), snomed("422400008", "Vomiting")),
        _age_between(5, 45),
        (
            _US_ABDOMEN,
            "US",
            "Non-compressible blind-ending tubular structure in the right iliac fossa, "
            "9 mm in diameter, with periappendiceal fat stranding: acute appendicitis.",
            _US_PROCEDURE,
        ),
        lambda p, on: (*_abdominal_antibiotics(p), "paracetamol"),
        "Keep the wound dry; sutures out on day 8 at the nearest health centre; no heavy "
        "lifting for 4 weeks.",
        3,
        procedure=snomed("80146002", "Appendectomy"),
        fever=True,
    ),
    Admission(
        "cholecystitis",
        snomed("65275009", "Acute cholecystitis"),
        (snomed("21522001", "Abdominal pain"), snomed("422400008", "Vomiting")),
        _age_between(30, 80),
        (
            _US_ABDOMEN,
            "US",
            "Distended gallbladder with multiple calculi, wall thickening of 5 mm and a "
            "positive sonographic Murphy's sign: acute calculous cholecystitis. Common "
            "bile duct not dilated.",
            _US_PROCEDURE,
        ),
        lambda p, on: (*_abdominal_antibiotics(p), "paracetamol", "pantoprazole"),
        "Low-fat diet; laparoscopic cholecystectomy planned after 6 weeks (surgical OPD).",
        4,
        fever=True,
    ),
)
ADMISSION_BY_KEY = {a.key: a for a in ADMISSIONS}

# Long-term medicines continued at discharge, per condition (not in heart failure,
# whose own medicines replace the blood-pressure tablet).
_CONTINUE = {"t2dm": "metformin", "hypothyroidism": "levothyroxine", "hypertension": "amlodipine"}


def _history(profile: Profile, on: date) -> tuple[Condition, ...]:
    return tuple(
        Condition(Concept.of(CHRONIC[key].code), onset=onset)
        for key, onset in sorted(profile.conditions.items(), key=lambda kv: kv[1])
        if onset < on
    )


def _allergies(profile: Profile) -> tuple[Allergy, ...]:
    return (Allergy(Concept.of(PENICILLIN_ALLERGY)),) if profile.penicillin_allergy else ()


# --------------------------------------------------------------------------- records


def consultation(
    rng: random.Random, profile: Profile, at: datetime, problem: Problem
) -> tuple[OPConsultation, Prescription, LabReport | None]:
    """The consultation for ``problem``, its prescription (the same medicines) and the
    lab report of the investigation it advises."""
    day = at.date()
    meds = tuple(prescribe(k, profile, day, problem.diagnosis) for k in problem.drugs(profile, day))
    history = tuple(
        c for c in _history(profile, day) if c.code.codings[0].code != problem.diagnosis.code
    )
    note = OPConsultation(
        chief_complaints=tuple(
            Condition(Concept.of(c), onset=(at - timedelta(days=3)).date())
            for c in problem.complaints
        ),
        physical_examination=vitals(
            rng, profile, at, fever=problem.fever, hypertensive=problem.hypertensive
        ),
        allergies=_allergies(profile),
        medical_history=history,
        investigation_advice=(Investigation(Concept.of(problem.advice)),) if problem.advice else (),
        medications=meds,
        follow_up=FollowUp(at + timedelta(days=14), problem.follow_up),
        diagnoses=(Diagnosis(Concept.of(problem.diagnosis)),),
    )
    lab = problem.lab(rng, profile, at) if problem.lab is not None else None
    return note, Prescription(medications=meds), lab


def admission(
    rng: random.Random,
    profile: Profile,
    start: datetime,
    end: datetime,
    stay: Admission,
    n: int,
) -> tuple[ImagingReport, DischargeSummary]:
    """The imaging study of the admission and its discharge summary."""
    code, modality, conclusion, procedure = stay.imaging
    imaging = ImagingReport(
        code=Concept.of(code),
        modality=modality,
        study_uid=f"1.2.826.0.1.3680043.8.498.{1000 + n}{rng.randint(10**9, 10**10 - 1)}",
        conclusion=conclusion,
        issued=start + timedelta(hours=6),
        key_image=Attachment("image/jpeg", image("JPEG", 40 + n % 150), "Key image"),
        pdf=Attachment("application/pdf", SAMPLE_PDF, "Imaging report"),
        procedure=Concept.of(procedure),
    )
    # Dosed for the patient as examined on admission (their weight, their age).
    day = start.date()
    keys = list(stay.drugs(profile, day))
    reasons = dict.fromkeys(keys, stay.diagnosis)
    for condition, drug in _CONTINUE.items():
        if profile.has(condition, start.date()) and not (
            stay.key == "heart_failure" and condition == "hypertension"
        ):
            keys.append(drug)
            reasons[drug] = CHRONIC[condition].code
    meds = tuple(prescribe(k, profile, day, reasons[k]) for k in keys)
    summary = DischargeSummary(
        chief_complaints=tuple(Condition(Concept.of(c)) for c in stay.complaints),
        physical_examination=vitals(
            rng, profile, start, fever=stay.fever, breathless=stay.breathless
        ),
        allergies=_allergies(profile),
        medical_history=_history(profile, start.date()),
        investigations=(imaging,),
        medications=meds,
        procedures=(
            (Procedure(Concept.of(stay.procedure), performed=start + timedelta(hours=10)),)
            if stay.procedure
            else ()
        ),
        care_plan=CarePlan(
            "Discharge advice",
            stay.advice,
            start=end.date(),
            end=(end + timedelta(days=14)).date(),
        ),
        diagnoses=(Diagnosis(Concept.of(stay.diagnosis), final=True),),
    )
    return imaging, summary


def immunization(rng: random.Random, profile: Profile, at: datetime) -> Immunizations:
    """Hepatitis B, the first dose of three (0, 1 and 6 months): adults not vaccinated
    in childhood, and a child's catch-up."""
    return Immunizations(
        immunizations=(
            Vaccination(
                Concept.of(HEP_B, text="Hepatitis B vaccine"),
                occurred=at,
                lot_number=f"HB-{rng.randint(1000, 9999)}",
                dose_number=1,
                route=Concept.of(ROUTE_INTRAMUSCULAR),
                site=Concept.of(SITE_LEFT_UPPER_ARM),
            ),
        ),
        recommendation=VaccineRecommendation(
            Concept.of(HEP_B, text="Hepatitis B vaccine"),
            due=(at + timedelta(days=30)).date(),
            dose_number=2,
        ),
    )


def wellness(rng: random.Random, profile: Profile, at: datetime) -> Wellness:
    day = at.date()
    diabetic = profile.has("t2dm", day)
    glucose = rng.randint(150, 210) if diabetic else rng.randint(80, 125)
    smoking = {"current": SMOKER, "ex": EX_SMOKER}.get(profile.smoking, NEVER_SMOKED)
    return Wellness(
        vital_signs=vitals(rng, profile, at, hypertensive=profile.has("hypertension", day)),
        body_measurements=(
            Observation(
                Concept.of(BODY_MEASUREMENTS["body_weight"].coding),
                _q(Decimal(str(profile.weight(day))), "kg", "kg"),
            ),
            Observation(
                Concept.of(BODY_MEASUREMENTS["body_height"].coding),
                _q(profile.height(day), "cm", "cm"),
            ),
        ),
        physical_activity=(
            Observation(
                Concept.of(PHYSICAL_ACTIVITY["steps"].coding),
                _q(rng.randint(2000, 9000), "{steps}", "steps"),
            ),
        ),
        general_assessment=(
            Observation(
                Concept.of(GENERAL_ASSESSMENT["blood_glucose"].coding, text="Random blood glucose"),
                _q(glucose, "mg/dL", "mg/dL"),
                interpretation="H" if glucose > 140 else "N",
            ),
        ),
        lifestyle=(Observation(Concept.of(TOBACCO_SMOKING), Concept.of(smoking)),),
    )


def invoice(
    rng: random.Random, at: datetime, number: str, medicines: int, *, ipd: bool, days: int = 0
) -> Invoice:
    lines = [
        InvoiceLine(
            Concept("Consultation"),
            BillingCode.CONSULTATION,
            Decimal(1),
            Decimal(100 if not ipd else 300),
        ),
        InvoiceLine(
            Concept("Medicines"),
            BillingCode.MEDICINES,
            quantity=Decimal(max(medicines, 1) * rng.randint(5, 15)),
            unit_price=Decimal("2.50"),
            cgst_percent=Decimal(6),
            sgst_percent=Decimal(6),
        ),
    ]
    if ipd:
        lines.append(
            InvoiceLine(Concept("Ward charges"), BillingCode.NURSING, Decimal(days), Decimal(500))
        )
    return Invoice(
        number=number,
        type=BillingCode.IPD if ipd else BillingCode.OPD,
        date=at,
        lines=tuple(lines),
    )


def health_documents(at: datetime) -> HealthDocuments:
    return HealthDocuments(
        documents=(
            Document(
                Attachment(
                    "application/pdf",
                    SAMPLE_PDF,
                    "Old discharge card",
                    created=at - timedelta(days=900),
                ),
                description="Discharge card from an earlier admission (scanned)",
            ),
            Document(Attachment("image/png", image("PNG", 200), "Old prescription (photo)")),
        ),
    )


# --------------------------------------------------------------------------- a patient


@dataclass
class Visit:
    """One care context: an OPD visit or an IPD admission, with its records (each
    with the time it was written)."""

    kind: str  # OPD | IPD
    start: datetime
    end: datetime | None = None
    records: list[tuple[RecordContent, datetime]] = field(default_factory=list)
    problem: str = ""  # the problem or admission key


@dataclass
class PatientPlan:
    profile: Profile
    slots: list[list[Visit]]  # per facility: its visits, in order


def _pick(rng: random.Random, options: list[str]) -> str:
    return options[int(rng.random() * len(options))]


def plan_patient(
    rng: random.Random,
    person: Person,
    *,
    starts: list[datetime],
    later: datetime,
    today: date,
    invoice_numbers: list[tuple[str, str]],
    n: int,
) -> PatientPlan:
    """Coherent records for one patient (3 years or older at every visit) at up to
    three facilities. ``starts`` are the
    slots' first visit times (an OPD visit; an admission 100 days on; an OPD visit
    200 days on), ``later`` the follow-up visit of the second slot,
    ``invoice_numbers`` each slot's (OPD, IPD) invoice numbers."""
    slots = len(starts)
    admitted = starts[1] + timedelta(days=100) if slots > 1 else None
    third = starts[2] + timedelta(days=200) if slots > 2 else None
    first = min(d for d in (starts[0], admitted, third) if d is not None)
    profile = make_profile(rng, person, today=today, first_visit=first.date())
    plan = PatientPlan(profile, [])

    def problems(on: date, *, with_lab: bool) -> list[str]:
        chronic = [p.key for p in OPD_PROBLEMS if p.key in CHRONIC and p.eligible(profile, on)]
        acute = [
            p.key
            for p in OPD_PROBLEMS
            if p.key not in CHRONIC
            and p.eligible(profile, on)
            and (p.lab is not None or not with_lab)
        ]
        if admitted is not None and abs((admitted.date() - on).days) < 300:
            # A pregnancy would be part of that admission's story: not modelled.
            acute = [k for k in acute if k != "anc"]
        if with_lab:
            chronic = [k for k in chronic if PROBLEMS[k].lab is not None]
        # A patient with a long-term condition is mostly seen for it.
        return chronic if chronic and rng.random() < 0.6 else acute or chronic

    for k in range(slots):
        opd_no, ipd_no = invoice_numbers[k]
        visits: list[Visit] = []
        if k == 0:
            at = starts[0]
            key = _pick(rng, problems(at.date(), with_lab=True))
            note, rx, lab = consultation(rng, profile, at, PROBLEMS[key])
            visit = Visit("OPD", at, problem=key)
            visit.records += [(note, at + timedelta(minutes=20)), (rx, at + timedelta(minutes=25))]
            if lab is not None:
                visit.records.append((lab, at + timedelta(hours=4)))
            visit.records.append(
                (
                    invoice(rng, at, opd_no, len(rx.medications), ipd=False),
                    at + timedelta(minutes=30),
                )
            )
            visits.append(visit)
        elif k == 1:
            assert admitted is not None
            options = [a.key for a in ADMISSIONS if a.eligible(profile, admitted.date())]
            stay = ADMISSION_BY_KEY[_pick(rng, options)]
            end = admitted + timedelta(days=stay.days)
            imaging, summary = admission(rng, profile, admitted, end, stay, n)
            visit = Visit("IPD", admitted, end, problem=stay.key)
            visit.records += [
                (imaging, admitted + timedelta(hours=6)),
                (summary, end),
                (
                    invoice(rng, end, ipd_no, len(summary.medications), ipd=True, days=stay.days),
                    end,
                ),
            ]
            visits.append(visit)
            follow = Visit("OPD", later, problem="wellness")
            follow.records += [
                (immunization(rng, profile, later), later + timedelta(minutes=15)),
                (wellness(rng, profile, later), later + timedelta(minutes=20)),
            ]
            visits.append(follow)
        else:
            assert third is not None
            key = _pick(rng, problems(third.date(), with_lab=False))
            note, _, _ = consultation(rng, profile, third, PROBLEMS[key])
            visit = Visit("OPD", third, problem=key)
            visit.records += [
                (note, third + timedelta(minutes=20)),
                (health_documents(third), third + timedelta(minutes=30)),
            ]
            visits.append(visit)
        plan.slots.append(visits)
    return plan
