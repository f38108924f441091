"""Names of the region's people, with the spelling variation real registries hold.

Each community is a naming tradition: given names by gender, clan names or surnames
(repeated to give the common ones their weight), and its conventions:

- Kashmiri Muslims: ``Bashir Ahmad Dar``, ``Ghulam Nabi Bhat``, ``Mohammad Yousuf
  Wani``; women often carry Akhter/Begum/Bano/Jan instead of a clan name
  (``Shameema Akhter``).
- Kashmiri Pandits: ``Pyare Lal Raina``, ``Sunita Kaul``.
- Dogras: ``Rajesh Kumar Sharma``, ``Vikram Singh Jamwal`` (Rajput clans carry Singh),
  women ``Sunita Devi`` or ``Neha Manhas``.
- Gujjars and Bakarwals: ``Mohammad Shafi Poswal``, ``Noor Hussain Chowdhary``,
  women ``Naseem Akhter`` or ``Zareena Begum``.
- Paharis (Muslim): ``Raja Mohammad Sadiq Khan``, ``Syed Bashir Bukhari``.
- Sikhs: ``Gurpreet Singh Bali``, ``Harpreet Kour``.
- Punjabi Hindus of Jammu: ``Vinod Gupta``, ``Rohit Mahajan``.

Registries write the same name many ways; ``VARIANTS`` lists the forms seen (Mohd /
Mohammad / Mohammed / Md., Gh. / Ghulam, Bhat / Butt, Shah / Shaw, Kour / Kaur, ...),
and titles (Smt, Kum) appear now and then. The record-linkage work later relies on
these being present.

Every string here is plain ASCII letters, spaces, '.', '-' and "'": the loaders write
them unescaped into COPY text, so a tab, newline or backslash must never appear
(``tests/unit/test_seed_generator.py`` checks it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Community:
    key: str
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[str, ...]
    # Middle names men often carry ("Ahmad", "Kumar", "Singh"), and how often.
    male_middle: tuple[str, ...] = ()
    male_middle_share: float = 0.0
    # What women carry instead of a clan name ("Akhter", "Devi"), and how often.
    female_last: tuple[str, ...] = ()
    female_last_share: float = 0.0
    # Sikh naming: men are "<given> Singh", women "<given> Kour"; the clan is optional.
    sikh: bool = False
    # Share of names carrying a title before the given name (Raja, Syed, Sardar...).
    male_titles: tuple[str, ...] = ()
    male_title_share: float = 0.0


def _w(*pairs: tuple[str, int]) -> tuple[str, ...]:
    """A weighted vocabulary as a tuple with repeats (fast uniform choice)."""
    out: list[str] = []
    for word, weight in pairs:
        out.extend([word] * weight)
    return tuple(out)


# fmt: off
# Vocabularies: kept compact for review.
_KASHMIRI_MUSLIM_MALE = (
    "Mohammad Yousuf", "Mohammad Ashraf", "Mohammad Shafi", "Mohammad Amin",
    "Mohammad Maqbool", "Mohammad Iqbal", "Mohammad Altaf", "Mohammad Ramzan",
    "Mohammad Sultan", "Mohammad Akbar", "Mohammad Abdullah", "Ghulam Nabi",
    "Ghulam Mohammad", "Ghulam Rasool", "Ghulam Qadir", "Ghulam Hassan", "Ghulam Ahmad",
    "Ghulam Mohi-ud-Din", "Abdul Rashid", "Abdul Ahad", "Abdul Majeed", "Abdul Gani",
    "Abdul Hamid", "Abdul Aziz", "Abdul Salam", "Abdul Rehman", "Ali Mohammad",
    "Bashir", "Nazir", "Manzoor", "Mushtaq", "Farooq", "Showkat", "Javaid", "Tariq",
    "Riyaz", "Imtiyaz", "Irfan", "Aijaz", "Mudasir", "Sajad", "Shabir", "Bilal",
    "Aamir", "Faisal", "Umar", "Zahoor", "Altaf", "Rafiq", "Rashid", "Hilal", "Fayaz",
    "Owais", "Adil", "Arif", "Danish", "Suhail", "Shahid", "Wasim", "Zubair",
    "Mehraj", "Nisar", "Sameer", "Ishfaq", "Muzaffar", "Tanveer", "Touseef",
    "Basharat", "Yasir", "Junaid", "Zahid", "Aadil", "Faizan", "Umer", "Arsalan",
    "Nadeem", "Mudasir", "Parvaiz", "Khurshid", "Feroz", "Gulzar", "Mohsin", "Aqib",
    "Ubaid", "Hamid", "Sheeraz", "Tawseef", "Rayees", "Mukhtar", "Abid", "Saqib",
)
_KASHMIRI_MUSLIM_FEMALE = (
    "Shameema", "Haleema", "Fatima", "Rubeena", "Shazia", "Nusrat", "Tabassum",
    "Nighat", "Rifat", "Mehbooba", "Saleema", "Zubaida", "Hafeeza", "Jana", "Taja",
    "Khatija", "Sakina", "Mymoona", "Bilquees", "Rukhsana", "Asifa", "Insha", "Iqra",
    "Mehvish", "Sana", "Nazia", "Shabnum", "Aisha", "Zainab", "Mehak", "Nelofar",
    "Shaheena", "Rehana", "Parveena", "Mubeena", "Dilshada", "Gulshana", "Rafiqa",
    "Shakeela", "Naseema", "Arifa", "Uzma", "Afroza", "Sabreena", "Tahira", "Ruqaya",
    "Hina", "Saima", "Mahjabeen", "Rabia", "Sobia", "Nida", "Areeba", "Sehrish",
    "Muskan", "Huma", "Syeda", "Masrat", "Farhat", "Ishrat", "Ulfat", "Raja Begum",
    "Zareefa", "Jawahira", "Mughli", "Zoona", "Saja",
)
_KASHMIRI_MUSLIM_SURNAMES = _w(
    ("Bhat", 14), ("Dar", 11), ("Lone", 7), ("Mir", 7), ("Wani", 8), ("Sheikh", 7),
    ("Malik", 5), ("Khan", 5), ("Shah", 5), ("Rather", 4), ("Ganie", 4), ("Parray", 3),
    ("Hajam", 2), ("Naikoo", 2), ("Mattoo", 1), ("Najar", 2), ("Sofi", 2), ("Itoo", 2),
    ("Khanday", 2), ("Reshi", 2), ("Tantray", 2), ("Magray", 2), ("Yatoo", 1),
    ("Wagay", 2), ("Kuchay", 1), ("Teli", 1), ("Baba", 2), ("Chopan", 2), ("Hakeem", 1),
    ("Qureshi", 1), ("Syed", 1), ("Bukhari", 1), ("Andrabi", 1), ("Kirmani", 1),
    ("Qadri", 1), ("Padder", 1), ("Zargar", 1), ("Kichloo", 1), ("Malla", 1),
    ("Khuroo", 1), ("Akhoon", 1), ("Pandit", 1), ("Beigh", 1), ("Rah", 1),
    ("Shalla", 1), ("Rafiqi", 1), ("Shora", 1), ("Ahanger", 1),
)
_MUSLIM_FEMALE_LAST = _w(("Akhter", 5), ("Begum", 3), ("Bano", 3), ("Jan", 3), ("Nissa", 1))

_KASHMIRI_PANDIT_MALE = (
    "Pyare Lal", "Jawahar Lal", "Autar Krishen", "Moti Lal", "Shamboo Nath", "Omkar Nath",
    "Dina Nath", "Prem Nath", "Maharaj Krishen", "Roshan Lal", "Makhan Lal", "Triloki Nath",
    "Ashok", "Rajesh", "Sanjay", "Vijay", "Sunil", "Ramesh", "Ravinder", "Kuldeep",
    "Rakesh", "Vinod", "Pradeep", "Sushil", "Amit", "Rohit", "Vikas", "Ajay", "Anil",
    "Bharat", "Deepak", "Rahul", "Varun", "Siddharth", "Akshay", "Aditya",
)
_KASHMIRI_PANDIT_FEMALE = (
    "Asha", "Usha", "Sunita", "Rajni", "Kiran", "Neelam", "Shanta", "Raj Dulari",
    "Sushma", "Anita", "Meenakshi", "Shalini", "Priya", "Neha", "Ritika", "Kusum",
    "Rita", "Santosh", "Indira", "Vijay Lakshmi", "Girja", "Kamla", "Sheela", "Renu",
    "Sonia", "Pooja", "Shivani", "Aarti", "Bhavna", "Deepika",
)
_KASHMIRI_PANDIT_SURNAMES = _w(
    ("Raina", 6), ("Kaul", 6), ("Koul", 3), ("Pandita", 4), ("Bhat", 4), ("Dhar", 4),
    ("Tickoo", 2), ("Razdan", 2), ("Wali", 2), ("Zutshi", 1), ("Kachru", 1),
    ("Handoo", 2), ("Ganjoo", 2), ("Mattoo", 2), ("Sapru", 1), ("Kher", 1),
    ("Munshi", 1), ("Trisal", 1), ("Dulloo", 1), ("Bhan", 1), ("Misri", 1), ("Kak", 2),
    ("Bakshi", 1), ("Peshin", 1), ("Wattal", 1), ("Zadoo", 1), ("Pandit", 2),
)

_DOGRA_MALE = (
    "Rajesh", "Sunil", "Rakesh", "Ashok", "Kuldeep", "Vijay", "Surinder", "Ravinder",
    "Rajinder", "Anil", "Sanjeev", "Ramesh", "Mohan Lal", "Krishan Lal", "Kewal Krishan",
    "Bodh Raj", "Chaman Lal", "Om Parkash", "Romesh", "Vikram", "Ajay", "Rohit",
    "Abhishek", "Ankush", "Karan", "Arjun", "Rahul", "Vishal", "Gourav", "Sahil", "Aman",
    "Kamal", "Yash", "Dev Raj", "Tilak Raj", "Bansi Lal", "Kaka Ram", "Jagdish", "Pawan",
    "Manoj", "Naresh", "Subash", "Darshan", "Joginder", "Parshotam", "Sukhdev", "Balwant",
    "Mangat Ram", "Pritam", "Neeraj", "Ankit", "Nitin", "Sumit", "Varinder", "Dinesh",
    "Munish", "Rajeev", "Sandeep", "Vikas", "Ashwani", "Kartik", "Aryan", "Ishan",
)
_DOGRA_FEMALE = (
    "Sunita", "Kamla", "Santosh", "Shanti", "Neelam", "Anju", "Rekha", "Seema", "Poonam",
    "Nisha", "Pooja", "Priya", "Kiran", "Suman", "Meena", "Veena", "Raj Kumari",
    "Darshana", "Krishna", "Vidya", "Shakuntla", "Sushma", "Anita", "Renu", "Ritu",
    "Shivani", "Sakshi", "Diksha", "Tanvi", "Palak", "Kanta", "Bimla", "Sarita", "Usha",
    "Jyoti", "Monika", "Rajni", "Sapna", "Neha", "Komal", "Muskan", "Simran", "Kajal",
    "Anjali", "Radha", "Parveen", "Satya", "Tripta", "Kusum", "Asha",
)
_DOGRA_SURNAMES = _w(
    ("Sharma", 14), ("Gupta", 5), ("Jamwal", 4), ("Manhas", 4), ("Chib", 2),
    ("Slathia", 2), ("Pathania", 2), ("Charak", 2), ("Katoch", 1), ("Jasrotia", 2),
    ("Andotra", 1), ("Langeh", 1), ("Thakur", 4), ("Bhagat", 4), ("Khajuria", 3),
    ("Dogra", 2), ("Sambyal", 1), ("Mahajan", 3), ("Kotwal", 1), ("Dutta", 2),
    ("Verma", 3), ("Chowdhary", 3), ("Kumar", 4), ("Rana", 2), ("Parihar", 2),
    ("Padha", 1), ("Sudan", 1), ("Raina", 1), ("Bhau", 1), ("Salgotra", 1),
    ("Bhardwaj", 2), ("Attri", 1), ("Koul", 1), ("Bhat", 1), ("Dhar", 1), ("Raj", 1),
    ("Lal", 2), ("Singh", 4), ("Manhotra", 1), ("Jandial", 1), ("Sethi", 1),
)
# Rajput clans, written "<given> Singh <clan>".
DOGRA_RAJPUT_CLANS = frozenset(
    {"Jamwal", "Manhas", "Chib", "Slathia", "Pathania", "Charak", "Katoch", "Jasrotia",
     "Andotra", "Langeh", "Sambyal", "Rana", "Parihar", "Thakur", "Jandial"}
)

_GUJJAR_MALE = (
    "Mohammad Din", "Mohammad Hussain", "Abdul Aziz", "Noor Hussain", "Lal Din", "Siraj Din",
    "Feroz Din", "Mohammad Shafi", "Mohammad Yousuf", "Mohammad Akbar", "Mohammad Iqbal",
    "Mohammad Aslam", "Mohammad Sadiq", "Mohammad Latief", "Mohammad Rafiq", "Bashir",
    "Ghulam", "Shabir", "Javed Iqbal", "Zakir Hussain", "Shakeel", "Tanveer", "Imran",
    "Nazir", "Zahid", "Sajad", "Mushtaq", "Liaqat Ali", "Abdul Qayoom", "Talib Hussain",
    "Mohammad Farid", "Gulzar", "Maqbool", "Shamim", "Anwar", "Mumtaz", "Asif", "Arif",
    "Naseem", "Rashid", "Jamal Din", "Mir Hussain", "Khadim Hussain", "Fazal Hussain",
    "Aslam", "Parvez", "Riaz", "Ajaz", "Shahnawaz", "Adnan", "Afaq", "Sohail",
)
_GUJJAR_FEMALE = (
    "Zareena", "Fatima", "Jannat", "Naseem", "Shamim", "Bibi", "Mumtaz", "Rehmat",
    "Zubaida", "Razia", "Nazia", "Shakeela", "Rukhsar", "Shahnaz", "Parveen", "Kouser",
    "Sakina", "Haleema", "Rashida", "Noor Jahan", "Khurshida", "Jamila", "Bashira",
    "Shamshada", "Ruby", "Sumaira", "Tasleem", "Noreen", "Saima", "Shaheen", "Yasmeen",
    "Rubina", "Gulshan", "Roshan", "Sughra", "Zainab", "Kulsum", "Aasia",
)
_GUJJAR_SURNAMES = _w(
    ("Chowdhary", 12), ("Poswal", 6), ("Khatana", 6), ("Kasana", 4), ("Bajjar", 3),
    ("Lodhi", 2), ("Chechi", 3), ("Gorsi", 2), ("Kohli", 2), ("Bhadana", 2), ("Khan", 3),
    ("Gujjar", 2), ("Deedar", 1), ("Khari", 1), ("Baniyal", 1), ("Thekri", 1),
    ("Banda", 1), ("Mian", 2), ("Awan", 1), ("Malik", 1), ("Hussain", 2), ("Din", 1),
)

_PAHARI_MALE = (
    "Mohammad Sadiq", "Mohammad Aslam", "Mohammad Rafiq", "Mohammad Ashraf",
    "Mohammad Bashir", "Mohammad Yaqoob", "Mohammad Shafi", "Abdul Rashid", "Abdul Qayoom",
    "Abdul Hamid", "Ghulam Mohi-ud-Din", "Ghulam Hussain", "Zafar Iqbal", "Sajjad",
    "Shabir", "Shahid", "Javed", "Tariq", "Khalid", "Zulfikar", "Iftikhar", "Mushtaq",
    "Imtiaz", "Naveed", "Amjad", "Nasir", "Akhter", "Pervaiz", "Masood", "Irshad",
    "Sarfraz", "Tahir", "Rizwan", "Faheem", "Kamran", "Usman", "Saqib", "Waqar",
)
_PAHARI_FEMALE = (
    "Shamim", "Naseem", "Parveen", "Shaheen", "Nasreen", "Tahira", "Saira", "Zahida",
    "Rifat", "Shaista", "Samina", "Ghazala", "Nuzhat", "Farzana", "Robina", "Asma",
    "Bushra", "Shabana", "Kulsoom", "Nighat", "Rukhsana", "Huma", "Sadia", "Amina",
    "Sajida", "Nabila", "Fouzia", "Mehreen",
)
_PAHARI_SURNAMES = _w(
    ("Khan", 10), ("Mir", 5), ("Shah", 6), ("Syed", 3), ("Bukhari", 3), ("Qureshi", 3),
    ("Mughal", 4), ("Mirza", 3), ("Awan", 3), ("Rathore", 3), ("Malik", 3), ("Sudhan", 2),
    ("Jaral", 2), ("Abbasi", 2), ("Kazmi", 2), ("Sheikh", 2), ("Raja", 2), ("Naqash", 1),
    ("Khawaja", 1), ("Butt", 1), ("Shaheen", 1), ("Chohan", 1),
)

_SIKH_MALE = (
    "Gurpreet", "Harpreet", "Manpreet", "Jaswinder", "Jasbir", "Kuldip", "Amarjeet",
    "Surjeet", "Paramjeet", "Daljeet", "Harjeet", "Inderjeet", "Balwinder", "Ravinder",
    "Sukhwinder", "Gurmeet", "Jagjit", "Hardeep", "Navdeep", "Arshdeep", "Gurdeep",
    "Rajinder", "Tejinder", "Ajit", "Avtar", "Manjit", "Harbans", "Gurcharan",
    "Narinder", "Jasmeet", "Simranjeet", "Karanveer", "Prabhjot", "Sarabjit",
)
_SIKH_FEMALE = (
    "Harpreet", "Manpreet", "Jaspreet", "Gurmeet", "Paramjit", "Kuldeep", "Simran",
    "Navneet", "Amandeep", "Rajwinder", "Surinder", "Jasleen", "Harleen", "Gurleen",
    "Baljeet", "Manjeet", "Parvinder", "Satwant", "Davinder", "Kamaljeet", "Ramandeep",
    "Sukhpreet", "Inderpreet", "Tajinder",
)
_SIKH_CLANS = _w(
    ("Bali", 4), ("Sodhi", 2), ("Kohli", 2), ("Anand", 2), ("Bhatia", 2), ("Chhabra", 1),
    ("Bedi", 1), ("Sethi", 1), ("Sawhney", 1), ("Raina", 2), ("Chowdhary", 1), ("Manhas", 1),
    ("Randhawa", 1), ("Sandhu", 1), ("Bhasin", 1), ("Sudan", 1), ("Kalsi", 1),
)

_PUNJABI_HINDU_SURNAMES = _w(
    ("Gupta", 6), ("Mahajan", 6), ("Arora", 3), ("Khanna", 2), ("Kapoor", 2), ("Sethi", 2),
    ("Anand", 2), ("Bhatia", 2), ("Malhotra", 2), ("Aggarwal", 2), ("Sachdeva", 1),
    ("Bhasin", 1), ("Kalra", 1), ("Chopra", 1), ("Suri", 1), ("Bhalla", 1), ("Nanda", 1),
    ("Wadhwa", 1), ("Abrol", 2), ("Sawhney", 1),
)

COMMUNITIES: dict[str, Community] = {
    "kashmiri_muslim": Community(
        "kashmiri_muslim", _KASHMIRI_MUSLIM_MALE, _KASHMIRI_MUSLIM_FEMALE,
        _KASHMIRI_MUSLIM_SURNAMES,
        male_middle=_w(("Ahmad", 6), ("Ahmed", 2), ("Hussain", 1), ("Ul Islam", 1)),
        male_middle_share=0.45,
        female_last=_MUSLIM_FEMALE_LAST, female_last_share=0.45,
        male_titles=("Syed", "Peer", "Haji"), male_title_share=0.01,
    ),
    "kashmiri_pandit": Community(
        "kashmiri_pandit", _KASHMIRI_PANDIT_MALE, _KASHMIRI_PANDIT_FEMALE,
        _KASHMIRI_PANDIT_SURNAMES,
        male_middle=("Kumar", "Ji"), male_middle_share=0.15,
    ),
    "dogra": Community(
        "dogra", _DOGRA_MALE, _DOGRA_FEMALE, _DOGRA_SURNAMES,
        male_middle=("Kumar",), male_middle_share=0.30,
        female_last=_w(("Devi", 5), ("Kumari", 2), ("Rani", 1)), female_last_share=0.35,
    ),
    "gujjar_bakarwal": Community(
        "gujjar_bakarwal", _GUJJAR_MALE, _GUJJAR_FEMALE, _GUJJAR_SURNAMES,
        male_middle=_w(("Ahmed", 4), ("Ahmad", 2), ("Hussain", 2), ("Din", 1)),
        male_middle_share=0.35,
        female_last=_w(("Akhter", 4), ("Begum", 4), ("Bibi", 2), ("Kouser", 2), ("Bano", 1)),
        female_last_share=0.55,
        male_titles=("Mian", "Ch."), male_title_share=0.03,
    ),
    "pahari_muslim": Community(
        "pahari_muslim", _PAHARI_MALE, _PAHARI_FEMALE, _PAHARI_SURNAMES,
        male_middle=_w(("Ahmed", 3), ("Hussain", 2), ("Iqbal", 1)), male_middle_share=0.25,
        female_last=_w(("Akhter", 4), ("Begum", 3), ("Kouser", 2), ("Bi", 1)),
        female_last_share=0.45,
        male_titles=("Raja", "Syed", "Sardar", "Mirza"), male_title_share=0.06,
    ),
    "sikh": Community(
        "sikh", _SIKH_MALE, _SIKH_FEMALE, _SIKH_CLANS, sikh=True,
        male_titles=("S.",), male_title_share=0.02,
    ),
    "punjabi_hindu": Community(
        "punjabi_hindu", _DOGRA_MALE, _DOGRA_FEMALE, _PUNJABI_HINDU_SURNAMES,
        male_middle=("Kumar",), male_middle_share=0.25,
        female_last=("Devi", "Rani"), female_last_share=0.15,
    ),
}

# Spelling variants real registries hold, canonical form first. Applied per word.
VARIANTS: dict[str, tuple[str, ...]] = {
    "Mohammad": ("Mohammad", "Mohd", "Mohd.", "Mohammed", "Md.", "Muhammad", "Mohmad"),
    "Ghulam": ("Ghulam", "Gh.", "Gh", "Gulam"),
    "Abdul": ("Abdul", "Ab.", "Ab", "Abdual"),
    "Ahmad": ("Ahmad", "Ah.", "Ahmd"),
    "Ahmed": ("Ahmed", "Ahmad"),
    "Bhat": ("Bhat", "Butt", "Bhatt"),
    "Shah": ("Shah", "Shaw"),
    "Kour": ("Kour", "Kaur"),
    "Yousuf": ("Yousuf", "Yusuf", "Yousf", "Yousaf"),
    "Farooq": ("Farooq", "Farook", "Faruq"),
    "Sheikh": ("Sheikh", "Shaikh", "Sk."),
    "Chowdhary": ("Chowdhary", "Choudhary", "Chaudhary", "Ch."),
    "Hussain": ("Hussain", "Hussian", "Husain"),
    "Akhter": ("Akhter", "Akhtar", "Akter"),
    "Javaid": ("Javaid", "Javed", "Javid"),
    "Showkat": ("Showkat", "Shaukat", "Shoukat"),
    "Riyaz": ("Riyaz", "Riaz"),
    "Imtiyaz": ("Imtiyaz", "Imtiaz"),
    "Aijaz": ("Aijaz", "Ejaz", "Ajaz"),
    "Mudasir": ("Mudasir", "Mudassir", "Mudasar"),
    "Sajad": ("Sajad", "Sajjad"),
    "Shabir": ("Shabir", "Shabbir"),
    "Rafiq": ("Rafiq", "Rafeeq"),
    "Wasim": ("Wasim", "Waseem"),
    "Mohi-ud-Din": ("Mohi-ud-Din", "Mohiuddin", "Mohi Ud Din"),
    "Rather": ("Rather", "Rathar", "Rathore"),
    "Ganie": ("Ganie", "Ganai", "Ganaie"),
    "Parray": ("Parray", "Parry", "Pare"),
    "Tantray": ("Tantray", "Tantry"),
    "Wagay": ("Wagay", "Wagey"),
    "Sofi": ("Sofi", "Sufi"),
    "Reshi": ("Reshi", "Rishi"),
    "Kaul": ("Kaul", "Koul"),
    "Tickoo": ("Tickoo", "Tiku"),
    "Om Parkash": ("Om Parkash", "Om Prakash"),
    "Gourav": ("Gourav", "Gaurav"),
    "Subash": ("Subash", "Subhash"),
    "Fatima": ("Fatima", "Fatimah", "Fatma"),
    "Haleema": ("Haleema", "Halima"),
    "Shameema": ("Shameema", "Shamima"),
    "Rubeena": ("Rubeena", "Rubina"),
    "Mehbooba": ("Mehbooba", "Mehbuba"),
    "Khatija": ("Khatija", "Khadija"),
    "Sakina": ("Sakina", "Sakeena"),
    "Shabnum": ("Shabnum", "Shabnam"),
    "Aisha": ("Aisha", "Ayesha"),
    "Kouser": ("Kouser", "Kausar", "Kosar"),
    "Parveen": ("Parveen", "Perveen", "Parvin"),
    "Begum": ("Begum", "Begam"),
    "Bano": ("Bano", "Banoo"),
    "Syed": ("Syed", "Sayed", "Syeed"),
    "Qureshi": ("Qureshi", "Kureshi"),
    "Bimla": ("Bimla", "Vimla"),
    "Shakuntla": ("Shakuntla", "Shakuntala"),
    "Kuldip": ("Kuldip", "Kuldeep"),
    "Amarjeet": ("Amarjeet", "Amarjit"),
    "Surjeet": ("Surjeet", "Surjit"),
    "Paramjeet": ("Paramjeet", "Paramjit"),
    "Daljeet": ("Daljeet", "Daljit"),
    "Inderjeet": ("Inderjeet", "Inderjit"),
}
# fmt: on
VARIANT_SHARE = 0.3  # of words that have variants, how many are written another way

# Titles registries carry in front of women's names.
TITLE_MARRIED = ("Smt", "Smt.", "Mrs")
TITLE_UNMARRIED = ("Kum", "Kum.", "Km.")
TITLE_SHARE = 0.02
UPPERCASE_SHARE = 0.03  # some registries hold names in capitals


# Surnames Dogra men carry that women write in another form.
_FEMININE = {"Kumar": "Kumari", "Lal": "Devi", "Raj": "Rani"}


def _vary(word: str, rng: random.Random) -> str:
    forms = VARIANTS.get(word)
    if forms is None or rng.random() >= VARIANT_SHARE:
        return word
    return forms[int(rng.random() * len(forms))]


def _vary_all(text: str, rng: random.Random) -> str:
    if text in VARIANTS:  # multi-word entries such as "Om Parkash"
        return _vary(text, rng)
    if " " not in text:
        return _vary(text, rng)
    return " ".join(_vary(w, rng) for w in text.split(" "))


@dataclass(frozen=True)
class NameParts:
    """A generated name: what UIDAI would return (``full``) and its parts for handles."""

    full: str
    given: str  # the first given word, canonical spelling (for ABHA address handles)
    family: str  # the last word (clan, Akhter, Devi, Kour...), canonical spelling


def make_name(
    rng: random.Random, community: Community, gender: str, age: int, clan: str
) -> NameParts:
    """A person's name in ``community``'s tradition; ``clan`` is the household's surname."""
    c = community
    r = rng.random
    if gender == "F":
        given = c.female[int(r() * len(c.female))]
        if c.sikh:
            family = clan if r() < 0.35 else "Kour"
            last = "Kour" if family == "Kour" else f"Kour {clan}"
        elif c.female_last and r() < c.female_last_share:
            family = last = c.female_last[int(r() * len(c.female_last))]
        else:
            family = last = _FEMININE.get(clan, clan)
        words = [_vary_all(given, rng), _vary_all(last, rng)]
        if r() < TITLE_SHARE:
            titles = TITLE_MARRIED if age >= 25 else TITLE_UNMARRIED
            words.insert(0, titles[int(r() * len(titles))])
    else:
        given = c.male[int(r() * len(c.male))]
        words = [_vary_all(given, rng)]
        family = clan
        if c.sikh:
            words.append("Singh")
            if r() < 0.6:
                words.append(clan)
            else:
                family = "Singh"
        else:
            if c.key == "dogra" and clan in DOGRA_RAJPUT_CLANS:
                words.append("Singh")
            elif c.male_middle and " " not in given and r() < c.male_middle_share:
                words.append(_vary(c.male_middle[int(r() * len(c.male_middle))], rng))
            words.append(_vary_all(clan, rng))
        if c.male_titles and r() < c.male_title_share:
            words.insert(0, c.male_titles[int(r() * len(c.male_titles))])
    full = " ".join(words)
    if r() < UPPERCASE_SHARE:
        full = full.upper()
    return NameParts(full, given.split(" ")[0], family)


def pick_clan(rng: random.Random, community: Community) -> str:
    return community.surnames[int(rng.random() * len(community.surnames))]
