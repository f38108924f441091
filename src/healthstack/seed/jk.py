"""The Jammu & Kashmir demo profile: the people, places and naming traditions the
generator draws on, over the state's facts in the J&K state profile.

- The state facts (LGD state code 1, the 20 districts at their LGD codes with their
  Census 2011 populations, the target population of 1,35,60,000) are the production
  state profile's, read from ``healthstack/profiles/jk.json``: one source for the
  districts, which the dashboard, the registries and this generator all use. This
  module adds, per district (keyed by its LGD code): its division, the vocabulary of
  its village names, its localities and its communities.
- Populations: the target population is shared out in proportion to each district's
  Census 2011 population (largest remainder, so shares always sum exactly to the
  target: ``StateProfile.district_populations``).
- Localities are tehsils and towns of the district with a PIN code of their post office
  (Kashmir PINs 19xxxx, Jammu PINs 18xxxx); ``urban`` selects the address style.
- Communities are the district's mix of naming traditions (``names.COMMUNITIES``),
  weighted after Census 2011 religion shares and the Gujjar/Bakarwal and Pahari
  concentrations of the Pir Panjal and the valley's margins.

Synthetic data only: no real person's details are reproduced here.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthstack.settings import DEFAULT_STATE_PROFILE, StateProfile, load_state_profile

PROFILE: StateProfile = load_state_profile(DEFAULT_STATE_PROFILE)
STATE_NAME = PROFILE.state_name
STATE_LGD = PROFILE.state_lgd
TARGET_POPULATION = PROFILE.target_population
# 94.49 lakh ABHA numbers at scale 1 (69.7 % of the target population).
TARGET_ABHA_ACCOUNTS = 9_449_000


@dataclass(frozen=True)
class Locality:
    name: str
    pincode: str
    urban: bool = False


@dataclass(frozen=True)
class District:
    """A district of the profile (``lgd``, ``name``, ``census_2011`` from the state
    profile) with the demo data of this module."""

    lgd: int
    name: str
    division: str  # "Kashmir" | "Jammu"
    region: str  # village-name vocabulary: valley, plains, pir_panjal, chenab, hills
    census_2011: int
    localities: tuple[Locality, ...]
    # (community key from names.COMMUNITIES, weight); weights sum to 1.
    communities: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class _Demo:
    division: str
    region: str
    localities: tuple[Locality, ...]
    communities: tuple[tuple[str, float], ...]


def _l(name: str, pincode: str, urban: bool = False) -> Locality:
    return Locality(name, pincode, urban)


# fmt: off
# Data tables: kept one district (and one vocabulary) per block for review.
_DEMO: dict[int, _Demo] = {
    # ------------------------------------------------------------ Kashmir division
    13: _Demo(  # Srinagar
        "Kashmir", "valley",
        (
            _l("Lal Chowk", "190001", True), _l("Nowhatta", "190002", True),
            _l("Rainawari", "190003", True), _l("Sonawar", "190004", True),
            _l("Hazratbal", "190006", True), _l("Rajbagh", "190008", True),
            _l("Batamaloo", "190009", True), _l("Soura", "190011", True),
            _l("Hyderpora", "190014", True), _l("Nowgam", "190015", True),
            _l("Bemina", "190018", True), _l("Pantha Chowk", "191101", True),
            _l("Harwan", "191123"), _l("Khonmoh", "191101"),
        ),
        (("kashmiri_muslim", 0.93), ("kashmiri_pandit", 0.02), ("sikh", 0.02),
         ("gujjar_bakarwal", 0.02), ("punjabi_hindu", 0.01)),
    ),
    2: _Demo(  # Budgam
        "Kashmir", "valley",
        (
            _l("Budgam", "191111", True), _l("Chadoora", "191113"),
            _l("Charari Sharief", "191112"), _l("Beerwah", "193411"),
            _l("Khansahib", "193411"), _l("Magam", "193401"), _l("Khag", "193411"),
            _l("Narbal", "193401"), _l("B.K. Pora", "191111"),
        ),
        (("kashmiri_muslim", 0.94), ("gujjar_bakarwal", 0.05), ("sikh", 0.01)),
    ),
    626: _Demo(  # Ganderbal
        "Kashmir", "valley",
        (
            _l("Ganderbal", "191201", True), _l("Kangan", "191202"), _l("Lar", "191201"),
            _l("Safapora", "191201"), _l("Gund", "191202"), _l("Wakura", "191201"),
        ),
        (("kashmiri_muslim", 0.80), ("gujjar_bakarwal", 0.18), ("sikh", 0.02)),
    ),
    1: _Demo(  # Anantnag
        "Kashmir", "valley",
        (
            _l("Anantnag", "192101", True), _l("Bijbehara", "192124", True),
            _l("Mattan", "192125"), _l("Pahalgam", "192126"), _l("Achabal", "192201"),
            _l("Kokernag", "192202"), _l("Dooru", "192211"), _l("Verinag", "192212"),
            _l("Qazigund", "192221"), _l("Shangus", "192201"),
        ),
        (("kashmiri_muslim", 0.88), ("gujjar_bakarwal", 0.10), ("kashmiri_pandit", 0.01),
         ("sikh", 0.01)),
    ),
    622: _Demo(  # Kulgam
        "Kashmir", "valley",
        (
            _l("Kulgam", "192231", True), _l("D.H. Pora", "192231"),
            _l("Yaripora", "192232"), _l("Qaimoh", "192233"), _l("Devsar", "192232"),
            _l("Frisal", "192231"),
        ),
        (("kashmiri_muslim", 0.89), ("gujjar_bakarwal", 0.10), ("kashmiri_pandit", 0.01)),
    ),
    11: _Demo(  # Pulwama
        "Kashmir", "valley",
        (
            _l("Pulwama", "192301", True), _l("Pampore", "192121", True),
            _l("Awantipora", "192122"), _l("Tral", "192123"), _l("Rajpora", "192306"),
            _l("Kakapora", "192301"), _l("Litter", "192301"),
        ),
        (("kashmiri_muslim", 0.95), ("gujjar_bakarwal", 0.03), ("sikh", 0.02)),
    ),
    625: _Demo(  # Shopian
        "Kashmir", "valley",
        (
            _l("Shopian", "192303", True), _l("Zainapora", "192304"), _l("Keller", "192305"),
            _l("Imamsahib", "192303"), _l("Hermain", "192303"),
        ),
        (("kashmiri_muslim", 0.87), ("gujjar_bakarwal", 0.13)),
    ),
    623: _Demo(  # Bandipora
        "Kashmir", "valley",
        (
            _l("Bandipora", "193502", True), _l("Sumbal", "193501"), _l("Hajin", "193501"),
            _l("Gurez", "193503"), _l("Aloosa", "193502"), _l("Quilmuqam", "193502"),
        ),
        (("kashmiri_muslim", 0.80), ("gujjar_bakarwal", 0.15), ("pahari_muslim", 0.03),
         ("sikh", 0.02)),
    ),
    3: _Demo(  # Baramulla
        "Kashmir", "valley",
        (
            _l("Baramulla", "193101", True), _l("Sopore", "193201", True),
            _l("Pattan", "193121"), _l("Uri", "193123"), _l("Tangmarg", "193402"),
            _l("Kreeri", "193108"), _l("Rafiabad", "193301"), _l("Boniyar", "193122"),
            _l("Wagoora", "193103"), _l("Kunzer", "193404"),
        ),
        (("kashmiri_muslim", 0.80), ("pahari_muslim", 0.09), ("gujjar_bakarwal", 0.07),
         ("sikh", 0.03), ("kashmiri_pandit", 0.01)),
    ),
    8: _Demo(  # Kupwara
        "Kashmir", "valley",
        (
            _l("Kupwara", "193222", True), _l("Handwara", "193221", True),
            _l("Langate", "193221"), _l("Sogam", "193223"), _l("Lolab", "193223"),
            _l("Karnah", "193224"), _l("Trehgam", "193224"), _l("Kralpora", "193222"),
        ),
        (("kashmiri_muslim", 0.76), ("pahari_muslim", 0.12), ("gujjar_bakarwal", 0.11),
         ("sikh", 0.01)),
    ),
    # ------------------------------------------------------------ Jammu division
    5: _Demo(  # Jammu
        "Jammu", "plains",
        (
            _l("Gandhi Nagar", "180004", True), _l("Talab Tillo", "180002", True),
            _l("Bakshi Nagar", "180001", True), _l("Janipur", "180007", True),
            _l("Trikuta Nagar", "180020", True), _l("Satwari", "180003", True),
            _l("Gangyal", "180010", True), _l("R.S. Pura", "181102"),
            _l("Akhnoor", "181201"), _l("Bishnah", "181132"), _l("Marh", "181206"),
            _l("Nagrota", "181221"), _l("Khour", "181203"), _l("Chowki Choura", "181205"),
        ),
        (("dogra", 0.66), ("punjabi_hindu", 0.10), ("sikh", 0.08), ("kashmiri_pandit", 0.08),
         ("gujjar_bakarwal", 0.05), ("kashmiri_muslim", 0.03)),
    ),
    624: _Demo(  # Samba
        "Jammu", "plains",
        (
            _l("Samba", "184121", True), _l("Vijaypur", "184120", True),
            _l("Ghagwal", "184141"), _l("Ramgarh", "184145"), _l("Purmandal", "181133"),
        ),
        (("dogra", 0.84), ("gujjar_bakarwal", 0.08), ("sikh", 0.05), ("punjabi_hindu", 0.03)),
    ),
    7: _Demo(  # Kathua
        "Jammu", "plains",
        (
            _l("Kathua", "184101", True), _l("Hiranagar", "184142"),
            _l("Marheen", "184144"), _l("Basohli", "184201"), _l("Billawar", "184204"),
            _l("Bani", "184206"), _l("Nagri", "184152"),
        ),
        (("dogra", 0.85), ("gujjar_bakarwal", 0.10), ("punjabi_hindu", 0.03), ("sikh", 0.02)),
    ),
    14: _Demo(  # Udhampur
        "Jammu", "hills",
        (
            _l("Udhampur", "182101", True), _l("Chenani", "182141"),
            _l("Ramnagar", "182122"), _l("Majalta", "182121"), _l("Moungri", "182104"),
            _l("Dudu", "182126"), _l("Panchari", "182142"),
        ),
        (("dogra", 0.56), ("gujjar_bakarwal", 0.30), ("kashmiri_muslim", 0.12), ("sikh", 0.02)),
    ),
    627: _Demo(  # Reasi
        "Jammu", "hills",
        (
            _l("Reasi", "182311", True), _l("Katra", "182301", True), _l("Pouni", "182312"),
            _l("Mahore", "182313"), _l("Arnas", "182315"), _l("Thuroo", "182311"),
        ),
        (("dogra", 0.50), ("gujjar_bakarwal", 0.40), ("kashmiri_muslim", 0.09), ("sikh", 0.01)),
    ),
    12: _Demo(  # Rajouri
        "Jammu", "pir_panjal",
        (
            _l("Rajouri", "185131", True), _l("Nowshera", "185151", True),
            _l("Sunderbani", "185153"), _l("Kalakote", "185202"),
            _l("Thanamandi", "185212"), _l("Budhal", "185233"), _l("Darhal", "185135"),
            _l("Manjakote", "185132"),
        ),
        (("gujjar_bakarwal", 0.33), ("dogra", 0.32), ("pahari_muslim", 0.30), ("sikh", 0.03),
         ("punjabi_hindu", 0.02)),
    ),
    10: _Demo(  # Poonch
        "Jammu", "pir_panjal",
        (
            _l("Poonch", "185101", True), _l("Mandi", "185102"), _l("Surankote", "185121"),
            _l("Mendhar", "185211"), _l("Haveli", "185101"), _l("Balakote", "185211"),
        ),
        (("gujjar_bakarwal", 0.46), ("pahari_muslim", 0.42), ("dogra", 0.07), ("sikh", 0.03),
         ("punjabi_hindu", 0.02)),
    ),
    4: _Demo(  # Doda
        "Jammu", "chenab",
        (
            _l("Doda", "182202", True), _l("Bhaderwah", "182222", True),
            _l("Thathri", "182203"), _l("Gandoh", "182203"), _l("Bhalla", "182221"),
            _l("Assar", "182202"),
        ),
        (("kashmiri_muslim", 0.46), ("dogra", 0.46), ("gujjar_bakarwal", 0.08)),
    ),
    621: _Demo(  # Ramban
        "Jammu", "chenab",
        (
            _l("Ramban", "182144", True), _l("Batote", "182143"), _l("Banihal", "182139"),
            _l("Gool", "182144"), _l("Khari", "182145"), _l("Ukhral", "182145"),
        ),
        (("kashmiri_muslim", 0.45), ("dogra", 0.29), ("gujjar_bakarwal", 0.26)),
    ),
    620: _Demo(  # Kishtwar
        "Jammu", "chenab",
        (
            _l("Kishtwar", "182204", True), _l("Paddar", "182205"), _l("Chatroo", "182206"),
            _l("Marwah", "182206"), _l("Inderwal", "182204"), _l("Dachhan", "182204"),
        ),
        (("kashmiri_muslim", 0.48), ("dogra", 0.42), ("gujjar_bakarwal", 0.10)),
    ),
}

# Village names by region, for rural addresses ("Village <name>, Tehsil <locality>").
VILLAGES: dict[str, tuple[str, ...]] = {
    "valley": (
        "Nowgam", "Chattergam", "Wathora", "Hakoora", "Sangam", "Arwani", "Drabgam",
        "Kanihama", "Waripora", "Nadihal", "Kachwari", "Hanjiwera", "Zoogoo", "Naidkhai",
        "Dangerpora", "Malangpora", "Shalimar", "Palhallan", "Tengpora", "Gund Hassi Bhat",
        "Chewa", "Lelhar", "Brenwar", "Yachama", "Kralgund", "Hardu Shiva", "Aglar",
        "Trehgam", "Achhan", "Bonagam", "Chandgam", "Drangbal", "Fatehpora", "Ganipora",
        "Hajibal", "Khrew", "Ladoo", "Mandoora", "Nowpora", "Rakh-i-Arath", "Sempora",
        "Tarzoo", "Wadoora", "Zainakoot", "Batpora", "Kawoosa", "Pinglena",
    ),
    "plains": (
        "Kot Bhalwal", "Gho Manhasan", "Bari Brahmana", "Miran Sahib", "Suchetgarh",
        "Jourian", "Pallanwala", "Kanachak", "Dansal", "Jhajjar Kotli", "Sohanjana",
        "Kharah", "Tikri", "Barnoti", "Lakhanpur", "Dayala Chak", "Kootah", "Chak Jaffar",
        "Deoli", "Gajansoo", "Keran", "Sumb", "Raipur Satwari", "Chann Arorian",
        "Rajpura", "Nandpur", "Badyal Qazian", "Mandal", "Chinore", "Seri Panditan",
        "Bhalwal Brahmana", "Birpur", "Dhamyal", "Kathar", "Rathua",
    ),
    "hills": (
        "Ladha", "Ghordi", "Kud", "Jaganoo", "Battal Ballian", "Sudhmahadev", "Garhi",
        "Kainthgali", "Barmeen", "Ransoo", "Lanjhotta", "Chakrakwal", "Panthal", "Sira",
        "Bhomag", "Chassana", "Kanthan", "Tote", "Sanasar", "Patnitop", "Dhamnoo",
        "Bharakh", "Kheri", "Salal", "Domail",
    ),
    "pir_panjal": (
        "Dhangri", "Dodaj", "Fatehpur", "Chingus", "Lamberi", "Salani", "Kalaban",
        "Sawjian", "Loran", "Gursai", "Bhainch", "Chhatyari", "Dharhali", "Bhimber Gali",
        "Kasblari", "Harni", "Degwar", "Bagyal Dara", "Peeri", "Seri Khawaja",
        "Dhakikote", "Khablan", "Hari Budha", "Thandikassi", "Moughla",
    ),
    "chenab": (
        "Gandoh", "Jodhpur", "Pranoo", "Kahara", "Bharat", "Khellani", "Chingam",
        "Matta", "Kuntwara", "Seri", "Sarthal", "Gatha", "Bhatyas", "Kastigarh",
        "Chiralla", "Gool Gulabgarh", "Sangaldan", "Digdol", "Pogal", "Paristan",
        "Hanjala", "Marmat", "Kather", "Sazan", "Chatroo",
    ),
}

# Urban address parts.
MOHALLAS: dict[str, tuple[str, ...]] = {
    "Kashmir": (
        "Mohalla Syed Sahib", "Mohalla Bhat", "Mohalla Dar", "Mohalla Mir",
        "Mohalla Khan Sahib", "Near Jamia Masjid", "Near Govt. Boys High School",
        "Near Post Office", "Near Imambara", "Near Khanqah", "Ali Colony",
        "Gulshan Nagar", "Iqbal Colony", "Nishat Colony", "Bagh-i-Mehtab",
        "Shah Mohalla", "Sheikh Colony", "Zaindar Mohalla", "Housing Colony",
    ),
    "Jammu": (
        "Ward No. 3", "Ward No. 7", "Ward No. 12", "Ward No. 18", "Ward No. 21",
        "Near Shiv Mandir", "Near Gurudwara", "Near Govt. Hr. Sec. School",
        "Shastri Nagar", "Subhash Nagar", "Prem Nagar", "Shakti Nagar", "Rehari Colony",
        "Mohalla Panjtirthi", "Pacca Danga", "Mohalla Dalpatian", "Old Town",
        "Nanak Nagar", "Sainik Colony", "Housing Colony",
    ),
}

# fmt: on


DISTRICTS: tuple[District, ...] = tuple(
    District(
        d.lgd,
        d.name,
        _DEMO[d.lgd].division,
        _DEMO[d.lgd].region,
        d.census_population,
        _DEMO[d.lgd].localities,
        _DEMO[d.lgd].communities,
    )
    for d in PROFILE.districts
)
if set(_DEMO) != PROFILE.district_codes:  # a district added to the profile without its data
    raise RuntimeError("seed.jk: every district of the J&K profile needs its demo data")


def district(lgd: int) -> District:
    for d in DISTRICTS:
        if d.lgd == lgd:
            return d
    raise KeyError(lgd)


def district_populations(total: int) -> list[int]:
    """``total`` shared out over DISTRICTS by Census 2011 share (largest remainder), as
    the dashboard's targets share it."""
    return list(PROFILE.district_populations(total))
