"""Synthetic denial notices and licence applications for bench/screening.py (all invented).

`NoticeGenerator(seed, today).bodies(count)` yields `(origin, body)` pairs, body exactly as the
signed `notice.published` / `notice.amended` body of DESIGN §6 (control entries normalised,
`valid_until` after `today`, so every notice is active), from 40 origins `node-01`..`node-40`
(some publish far more than others). `records(count)` gives the screening engine's
`NoticeRecord`s of the same bodies. The data is deterministic for a seed and a `today`, and a
smaller run is a prefix of a larger one.

What makes it realistic enough to measure retrieval against:

* Party names in several scripts and languages: Latin (English, German, French, Spanish,
  Italian, Turkish, Gulf Arabic names in Latin), Cyrillic (Russian, with Latin
  transliterations and English translations as aliases), Arabic and Persian script, Greek,
  Chinese (with pinyin / English forms); legal forms per language (LLC, GmbH, ООО/OOO, FZE,
  Ltd, S.A., A.Ş., 有限公司, ذ.م.م, Α.Ε., ...); some private individuals.
* Generic business words ("Trading", "General", "Technology", "Solutions", ...) drawn with a
  Zipf law, so common tokens have very long posting lists, plus purely generic names
  ("General Trading LLC"), the classic false-positive trap.
* A pool of entities that several origins deny (a quarter of all parties), written
  differently by different origins (script, transliteration, legal form).
* Identifiers on some parties: LEI (20 characters, ISO 17442 check digits), Russian INN (10
  or 12 digits, with check digits), Chinese USCC, Turkish VKN, trade licences.
* ~200 destination countries (ISO 3166-1 alpha-2) with a strong skew; control entries from
  the surveillance, dual-use (WA, MTCR, NSG, AG) and munitions lists, with sub-items; ~10 %
  catch-all items.

`applications(...)` makes §7 application bodies: derived from an existing notice with one
realistic variation (transliteration, typo, word order, legal form, alias, parent control
entry, identifier only), generic names, and unrelated ones.
"""

import bisect
import datetime as dt
import itertools
import random
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pycountry

from service.screening.model import NoticeRecord, notice_record

SEED = 20261128
ORIGINS = tuple(f"node-{n:02d}" for n in range(1, 41))
DAYS_BACK = 3 * 365 - 10  # decisions of the last three years: valid_until (+3 years) is ahead

# ---------------------------------------------------------------------------------------------
# Fast weighted choice
# ---------------------------------------------------------------------------------------------


class Table:
    """Weighted choice by one `getrandbits`: the values laid out in 2**bits slots."""

    __slots__ = ("bits", "slots")

    def __init__(self, weighted: Sequence[tuple[Any, float]], bits: int = 12) -> None:
        total = sum(w for _, w in weighted)
        size = 1 << bits
        cumulative = list(itertools.accumulate(w / total * size for _, w in weighted))
        self.bits = bits
        self.slots = [
            weighted[min(bisect.bisect_right(cumulative, i + 0.5), len(weighted) - 1)][0]
            for i in range(size)
        ]

    def pick(self, rng: random.Random) -> Any:
        return self.slots[rng.getrandbits(self.bits)]


def zipf(values: Sequence[Any], s: float = 1.0, bits: int = 12) -> Table:
    return Table([(v, 1.0 / (rank + 1) ** s) for rank, v in enumerate(values)], bits)


def one(rng: random.Random, values: Sequence[Any]) -> Any:
    return values[int(rng.random() * len(values))]


# ---------------------------------------------------------------------------------------------
# Countries
# ---------------------------------------------------------------------------------------------

# Destinations of denials, most frequent first; every other ISO code follows with a long tail.
_HOT = (
    "RU CN IR AE BY TR HK PK IN KZ SY VE MM EG SA KP AM GE UZ IQ KG LB IL TH MY SG VN ID BD "
    "NG ET SD LY DZ MA TN JO OM QA KW BH YE AF AZ TJ TM RS BA MK AL MN LK NP PH BR AR MX CO "
    "CU NI BO EC PE ZA KE TZ UG ZW AO CD CM SN GH CI ML NE BF TD ER SO"
).split()
_COUNTRIES = sorted({c.alpha_2 for c in pycountry.countries} | {"XK"})
_RANKED = _HOT + [
    c for c in random.Random(SEED).sample(_COUNTRIES, len(_COUNTRIES)) if c not in _HOT
]
DESTINATIONS = zipf(_RANKED, s=1.1, bits=14)
HUBS = zipf(("AE", "TR", "HK", "CN", "KZ", "AM", "GE", "SG", "MY", "RS", "UZ", "KG", "TH"), 0.9)
HOT_DESTINATIONS = zipf(("AE", "RU", "TR", "CN", "HK", "IR", "KZ", "IN"), 0.8)

# Which naming culture a party of a country most likely has (else mostly English-style Latin).
_CULTURE_OF = {
    **dict.fromkeys("RU BY KZ KG UZ TJ AM AZ TM MD UA GE MN".split(), "ru"),
    **dict.fromkeys("AE SA EG SY IQ JO LB OM QA KW BH YE LY DZ MA TN SD".split(), "ar"),
    **dict.fromkeys("CN HK TW MO".split(), "zh"),
    **dict.fromkeys("IR AF".split(), "fa"),
    **dict.fromkeys("GR CY".split(), "el"),
    **dict.fromkeys("TR".split(), "tr"),
    **dict.fromkeys("DE AT CH LI".split(), "de"),
    **dict.fromkeys("FR BE LU MC SN CI ML NE BF TD CM".split(), "fr"),
    **dict.fromkeys("ES MX AR CO VE CU NI BO EC PE CL UY PY PA CR GT HN SV DO".split(), "es"),
    **dict.fromkeys("IT SM VA".split(), "it"),
}
_CULTURE_TABLES: dict[str, Table] = {}


def culture_for(country: str) -> Table:
    table = _CULTURE_TABLES.get(country)
    if table is None:
        home = _CULTURE_OF.get(country, "en")
        weighted = [(home, 8.0), ("en", 3.0 if home != "en" else 0.0), ("ar", 0.4), ("ru", 0.4)]
        weighted += [("zh", 0.3), ("tr", 0.2), ("de", 0.2), ("el", 0.1), ("fa", 0.1)]
        _CULTURE_TABLES[country] = table = Table([(c, w) for c, w in weighted if w], bits=8)
    return table


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

# Generic business words, Zipf: "Trading" is in about one English name in five.
GENERIC_EN = (
    "Trading", "General", "Technology", "Solutions", "International", "Group", "Systems",
    "Global", "Services", "Technologies", "Engineering", "Industries", "Electronics",
    "Security", "Holding", "Enterprises", "Import & Export", "Logistics", "Communications",
    "Consulting", "Networks", "Defense", "Advanced", "Digital", "Innovations", "Supply",
    "Equipment", "Telecom", "Integrated", "Resources", "Development", "Marine", "Aviation",
    "Industrial", "Scientific", "Instruments", "Software", "Data", "Intelligence", "Analytics",
    "Vision", "Power", "Energy", "Projects", "Ventures", "Partners", "Distribution",
    "Machinery", "Components", "Devices", "Optics", "Microsystems",
)  # fmt: skip
_GENERIC_EN = zipf(GENERIC_EN, 1.0)
# Words that brand many unrelated firms: mid-frequency tokens.
_BRAND_EN = (
    "Northern", "Star", "Eagle", "Falcon", "Orion", "Atlas", "Apex", "Vector", "Zenith",
    "Horizon", "Phoenix", "Titan", "Summit", "Pioneer", "Crescent", "Silverline", "Bluewave",
    "Golden", "Delta", "Alpha", "Omega", "Sigma", "Nova", "Quantum", "Prime", "Vertex",
    "Nexus", "Matrix", "Spectrum", "Pinnacle", "Meridian", "Polaris", "Sentinel", "Guardian",
    "Shield", "Citadel", "Aegis", "Arrow", "Lynx", "Cobra", "Hawk", "Condor", "Pyramid",
    "Oasis", "Emerald", "Sapphire", "Crystal", "Ocean", "Gulf", "Sky", "Cloud", "Red Sea",
    "Silk Road", "Eastern", "Western", "United", "Royal", "Smart", "Secure", "Swift",
)  # fmt: skip
_SYLLABLES = (
    "al", "an", "ar", "as", "bel", "bor", "cor", "da", "del", "dor", "el", "en", "er", "fa",
    "gal", "gor", "ha", "in", "ka", "kor", "la", "len", "lo", "lum", "ma", "mar", "mer", "mi",
    "mon", "na", "nor", "no", "or", "os", "pa", "pol", "ra", "ren", "ri", "ro", "sa", "sen",
    "sev", "sig", "so", "ta", "tan", "tek", "tor", "tra", "tri", "un", "va", "vel", "ven",
    "vi", "vo", "za", "zen", "zor", "kast", "lex", "max", "nex", "tron", "vis", "dyn", "gen",
    "cel", "ion", "quor", "yar", "dun", "sys", "tel", "com", "net", "ix",
)  # fmt: skip

# Legal forms per culture, with a weight (the first is the usual one).
_FORMS = {
    "en": zipf(("LLC", "Ltd", "Limited", "Inc.", "Co., Ltd.", "Corp.", "Ltd.", "PLC", "Pte Ltd",
                "FZE", "Sdn Bhd", "Pvt Ltd", "LLP", "FZCO", "JSC", "Co."), 0.9),
    "de": zipf(("GmbH", "AG", "GmbH & Co. KG", "KG", "UG (haftungsbeschränkt)", "e.K."), 1.2),
    "fr": zipf(("SARL", "SA", "SAS", "S.A.", "EURL", "SNC"), 1.0),
    "es": zipf(("S.A.", "S.L.", "S.A. de C.V.", "S.R.L.", "C.A.", "S.A.S."), 1.0),
    "it": zipf(("S.r.l.", "S.p.A.", "S.a.s.", "S.n.c."), 1.0),
    "tr": zipf(("A.Ş.", "Ltd. Şti.", "San. ve Tic. A.Ş.", "San. ve Tic. Ltd. Şti."), 1.0),
    "ar": zipf(("LLC", "FZE", "FZCO", "L.L.C.", "FZ-LLC", "Est.",
                "W.L.L.", "S.A.E.", "Co."), 0.9),
}  # fmt: skip
_ALT_FORMS_LATIN = (
    "LLC", "Ltd", "Limited", "Co.", "Inc.", "JSC", "FZE", "GmbH", "S.A.", "Corp.", "L.L.C.",
    "Company", "Co., Ltd.", "",
)  # fmt: skip
_DESCRIPTORS = {
    "de": ("Technik", "Systeme", "Handelsgesellschaft", "Elektronik", "Sicherheitstechnik",
           "Maschinenbau", "Messtechnik", "Nachrichtentechnik", "Industrie", "Anlagenbau",
           "Vertrieb", "Informatik", "Werke", "Ortungstechnik", "Funktechnik"),
    "fr": ("Technologies", "Systèmes", "Sécurité", "Industrie", "Électronique", "Ingénierie",
           "Commerce", "Générale", "Internationale", "Services", "Défense", "Communication"),
    "es": ("Sistemas", "Tecnologías", "Seguridad", "Comercial", "Ingeniería", "Electrónica",
           "Industrias", "Servicios", "Defensa", "Comunicaciones", "Internacional", "General"),
    "it": ("Sistemi", "Tecnologie", "Sicurezza", "Commerciale", "Ingegneria", "Elettronica",
           "Industrie", "Servizi", "Difesa", "Comunicazioni", "Internazionale"),
    "tr": ("Teknoloji", "Savunma", "Ticaret", "Sanayi", "Elektronik", "Mühendislik",
           "Güvenlik", "Bilişim", "İletişim", "Dış Ticaret", "Makina", "Sistemleri"),
}  # fmt: skip
_DESCRIPTOR_TABLES = {k: zipf(v, 0.8) for k, v in _DESCRIPTORS.items()}
_TRANSLATE = {
    "Technik": "Technology", "Systeme": "Systems", "Handelsgesellschaft": "Trading",
    "Elektronik": "Electronics", "Sicherheitstechnik": "Security Technology",
    "Industrie": "Industries", "Systèmes": "Systems", "Sécurité": "Security",
    "Électronique": "Electronics", "Ingénierie": "Engineering", "Sistemas": "Systems",
    "Tecnologías": "Technologies", "Seguridad": "Security", "Comercial": "Trading",
    "Sistemi": "Systems", "Tecnologie": "Technologies", "Sicurezza": "Security",
    "Teknoloji": "Technology", "Savunma": "Defense", "Ticaret": "Trading",
    "Güvenlik": "Security", "Sistemleri": "Systems",
}  # fmt: skip

# Cyrillic (Russian): brand words with an English translation, compound morphemes, descriptors.
_RU_WORDS = (
    ("Северный", "Northern"), ("Сигнал", "Signal"), ("Восток", "East"), ("Звезда", "Star"),
    ("Щит", "Shield"), ("Вектор", "Vector"), ("Гранит", "Granite"), ("Орион", "Orion"),
    ("Горизонт", "Horizon"), ("Спектр", "Spectrum"), ("Импульс", "Impulse"),
    ("Квант", "Quantum"), ("Сфера", "Sphere"), ("Кристалл", "Crystal"), ("Титан", "Titan"),
    ("Зенит", "Zenith"), ("Арктика", "Arctic"), ("Байкал", "Baikal"), ("Урал", "Ural"),
    ("Сибирь", "Siberia"), ("Нева", "Neva"), ("Волга", "Volga"), ("Альфа", "Alpha"),
    ("Сигма", "Sigma"), ("Гамма", "Gamma"), ("Протей", "Proteus"), ("Форт", "Fort"),
    ("Рубеж", "Frontier"), ("Бастион", "Bastion"), ("Стрела", "Arrow"), ("Сокол", "Falcon"),
    ("Беркут", "Golden Eagle"), ("Ястреб", "Hawk"), ("Кедр", "Cedar"), ("Янтарь", "Amber"),
    ("Рубин", "Ruby"), ("Изумруд", "Emerald"), ("Полюс", "Pole"), ("Меридиан", "Meridian"),
    ("Магистраль", "Highway"), ("Южный", "Southern"), ("Новый", "New"), ("Первый", "First"),
)  # fmt: skip
_RU_HEADS = (
    "Техно", "Спец", "Инфо", "Сиб", "Урал", "Рос", "Гео", "Энерго", "Радио", "Теле", "Пром",
    "Транс", "Электро", "Интел", "Микро", "Нано", "Авиа", "Оборон", "Строй", "Бел", "Каз",
    "Нефте", "Газ", "Мет", "Эко", "Вол", "Дон", "Кам", "Мос", "Нев",
)  # fmt: skip
_RU_TAILS = (
    "связь", "сервис", "софт", "тех", "систем", "комплекс", "маш", "прибор", "трейд",
    "инвест", "снаб", "монтаж", "контроль", "защита", "вектор", "лаб", "тел", "ком", "проект",
    "групп", "импорт", "гарант", "автоматика", "оптика", "акустика", "локация", "навигация",
)  # fmt: skip
_RU_SYLLABLES = (
    "ка", "ро", "вел", "тор", "ми", "лан", "сев", "дор", "ну", "зар", "мир", "ост", "век",
    "пол", "тав", "рен", "гор", "бел", "хал", "дун", "сел", "ом", "тек", "лекс", "нор", "вит",
    "рус", "кор", "мак", "сан", "тал", "вар", "лин", "сол", "дан", "тер", "мо", "ла", "на",
    "ре", "ви", "ли", "ан", "ар", "ин", "ол", "ус", "ер", "ен", "жи", "цен", "юр", "яр",
)  # fmt: skip
_RU_DESCRIPTORS = zipf((
    ("Технологии", "Technologies"), ("Системы", "Systems"), ("Спецтехника", "Special Equipment"),
    ("Связь", "Communications"), ("Электроника", "Electronics"), ("Безопасность", "Security"),
    ("Инжиниринг", "Engineering"), ("Торговый дом", "Trading House"), ("Групп", "Group"),
    ("Холдинг", "Holding"), ("Телеком", "Telecom"),
    ("Информационные технологии", "Information Technologies"),
    ("Научно-производственное предприятие", "Research and Production Enterprise"),
    ("Комплексные системы", "Integrated Systems"), ("Оборонные технологии", "Defence Technologies"),
    ("Радиотехника", "Radio Engineering"), ("Сервис", "Service"), ("Трейд", "Trade"),
    ("Интеграция", "Integration"), ("Лаборатория", "Laboratory"), ("Центр", "Centre"),
), 0.9)  # fmt: skip
_RU_FORMS = zipf((
    ("ООО", "OOO", "LLC"), ("АО", "AO", "JSC"), ("ЗАО", "ZAO", "CJSC"), ("ПАО", "PAO", "PJSC"),
    ("ОАО", "OAO", "OJSC"), ("ТОО", "TOO", "LLP"), ("ОДО", "ODO", "ALC"),
), 1.1)  # fmt: skip
# Russian transliteration systems (the first is the one the generator writes itself).
_CYR_BASE = dict(zip("абвгдезиклмнопрстуфъь", "abvgdeziklmnoprstuf''", strict=True))
_CYR_SCHEMES = (
    {**_CYR_BASE, "ё": "yo", "ж": "zh", "й": "y", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
     "щ": "shch", "ы": "y", "э": "e", "ю": "yu", "я": "ya", "ъ": "", "ь": ""},
    {**_CYR_BASE, "ё": "e", "ж": "zh", "й": "i", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
     "щ": "shch", "ы": "y", "э": "e", "ю": "iu", "я": "ia", "ъ": "ie", "ь": ""},
    {**_CYR_BASE, "ё": "jo", "ж": "zh", "й": "j", "х": "h", "ц": "c", "ч": "ch", "ш": "sh",
     "щ": "sch", "ы": "y", "э": "e", "ю": "ju", "я": "ja", "ъ": "", "ь": "'"},
    {**_CYR_BASE, "ё": "io", "ж": "j", "й": "i", "х": "kh", "ц": "tz", "ч": "tch", "ш": "ch",
     "щ": "chtch", "ы": "y", "э": "e", "ю": "iou", "я": "ia", "у": "ou", "ъ": "", "ь": ""},
)  # fmt: skip


def _translit_table(scheme: dict[str, str]) -> dict[int, str]:
    table = {ord(k): v for k, v in scheme.items()}
    table.update({ord(k.upper()): v.capitalize() for k, v in scheme.items() if len(k.upper()) == 1})
    table.update({ord("«"): "", ord("»"): "", ord("“"): "", ord("”"): ""})
    return table


CYRILLIC = tuple(_translit_table(s) for s in _CYR_SCHEMES)
_GREEK_BASE = dict(
    zip("αβγδεζηικλμνξοπρσςτυφωάέήίόύώϊΐϋΰ", "avgdeziiklmnxoprsstyfoaeiioyoiiyy", strict=True)
)
GREEK = tuple(
    _translit_table(s)
    for s in (
        {**_GREEK_BASE, "θ": "th", "χ": "ch", "ψ": "ps"},
        {**_GREEK_BASE, "θ": "th", "χ": "h", "ψ": "ps", "β": "b", "η": "e", "υ": "u"},
        {**_GREEK_BASE, "θ": "th", "χ": "kh", "ψ": "ps", "φ": "ph", "υ": "i", "ύ": "i"},
    )
)
_EL_WORDS = (
    "Ερμής", "Όλυμπος", "Αιγαίον", "Ποσειδών", "Αθηνά", "Δήλος", "Κρόνος", "Ίκαρος",
    "Πήγασος", "Ωρίων", "Ήλιος", "Δέλτα", "Άλφα", "Σίγμα", "Ωμέγα", "Τιτάν", "Αστήρ",
    "Φοίνιξ", "Κένταυρος", "Ελληνική", "Μακεδονική", "Κρητική", "Ιόνιος", "Πυρσός",
)  # fmt: skip
_EL_SYLLABLES = (
    "κα", "λο", "με", "ρι", "το", "ξα", "νη", "πα", "σο", "θε", "δι", "φα", "χρο", "ψι", "γα",
    "βι", "ζε", "λυ", "μο", "στα", "τρο", "νι", "κο", "ρα", "τε", "ση", "λα", "δω",
)  # fmt: skip
_EL_DESCRIPTORS = zipf((
    ("Τεχνολογίες", "Technologies"), ("Συστήματα", "Systems"), ("Ηλεκτρονική", "Electronics"),
    ("Εμπορική", "Trading"), ("Ασφάλεια", "Security"), ("Άμυνα", "Defence"),
    ("Επικοινωνίες", "Communications"), ("Πληροφορική", "Informatics"),
), 0.9)  # fmt: skip
_EL_FORMS = zipf((("Α.Ε.", "A.E.", "S.A."), ("Ε.Π.Ε.", "E.P.E.", "Ltd"),
                  ("Ι.Κ.Ε.", "I.K.E.", "P.C."), ("Ο.Ε.", "O.E.", "G.P.")), 1.0)  # fmt: skip

# Arabic: (native, Latin spellings, English) for brand words and descriptors.
_AR_WORDS = (
    ("الخليج", ("Al Khaleej", "Al Khalij", "Al-Khaleej"), "Gulf"),
    ("النور", ("Al Noor", "Al Nur", "Al-Nour"), "Light"),
    ("الأمل", ("Al Amal", "Al-Amal"), "Hope"),
    ("الشرق", ("Al Sharq", "Al-Sharq", "El Sharq"), "East"),
    ("الفجر", ("Al Fajr", "Al-Fajer"), "Dawn"),
    ("السلام", ("Al Salam", "Al-Salaam", "As Salam"), "Peace"),
    ("الرواد", ("Al Rowad", "Al Ruwad"), "Pioneers"),
    ("النجم", ("Al Najm", "Al-Najem"), "Star"),
    ("الصقر", ("Al Saqr", "Al Saqer", "Al-Sakr"), "Falcon"),
    ("الهلال", ("Al Hilal", "Al-Helal"), "Crescent"),
    ("البحر", ("Al Bahr", "Al-Bahar"), "Sea"),
    ("الواحة", ("Al Waha", "Al-Wahah"), "Oasis"),
    ("الفارس", ("Al Fares", "Al Faris"), "Knight"),
    ("الأفق", ("Al Ofoq", "Al Ufuq"), "Horizon"),
    ("الريادة", ("Al Riyada", "Al Reyada"), "Leadership"),
    ("دجلة", ("Dijla", "Dejla"), "Tigris"),
    ("الفرات", ("Al Furat", "Al-Forat"), "Euphrates"),
    ("بابل", ("Babel", "Babil"), "Babylon"),
    ("الشام", ("Al Sham", "Al-Shaam"), "Levant"),
    ("الجزيرة", ("Al Jazeera", "Al Jazira"), "Peninsula"),
    ("المستقبل", ("Al Mustaqbal", "Al-Mostakbal"), "Future"),
    ("الوطنية", ("Al Wataniya", "Al Watania"), "National"),
    ("العربية", ("Al Arabiya", "Al Arabia"), "Arabian"),
    ("المتحدة", ("Al Muttahida", "Al Mutaheda"), "United"),
    ("الرشيد", ("Al Rasheed", "Al Rashid"), ""),
    ("المنصور", ("Al Mansour", "Al Mansur"), ""),
    ("الحسيني", ("Al Husseini", "Al Hussaini"), ""),
    ("القاسمي", ("Al Qasimi", "Al Qassimi"), ""),
    ("الحمادي", ("Al Hammadi", "Al-Hamadi"), ""),
    ("الكعبي", ("Al Kaabi", "Al Ka'abi"), ""),
    ("المزروعي", ("Al Mazrouei", "Al Mazroui"), ""),
    ("الخوري", ("Al Khoury", "Khoury"), ""),
    ("حداد", ("Haddad", "Hadad"), ""),
    ("نصار", ("Nassar", "Nasar"), ""),
    ("العطار", ("Al Attar", "Al-Attar"), ""),
    ("الزين", ("Al Zein", "Al Zain"), ""),
)
_AR_DESCRIPTORS = zipf((
    ("للتجارة العامة", "General Trading"), ("للتكنولوجيا", "Technology"),
    ("للأنظمة الأمنية", "Security Systems"), ("للإلكترونيات", "Electronics"),
    ("للاتصالات", "Telecommunications"), ("الدولية", "International"),
    ("للحلول التقنية", "Technical Solutions"), ("للمقاولات", "Contracting"),
    ("للاستيراد والتصدير", "Import and Export"), ("للخدمات", "Services"),
    ("للصناعات", "Industries"), ("للهندسة", "Engineering"), ("للمعدات", "Equipment"),
), 0.8)  # fmt: skip
_AR_FORMS = zipf((("ذ.م.م", "LLC"), ("م.م.ح", "FZE"), ("ش.ذ.م.م", "FZCO"),
                  ("ش.م.ع", "PJSC"), ("ش.م.م", "SAL")), 1.0)  # fmt: skip

# Persian.
_FA_WORDS = (
    ("پارس", "Pars", ""), ("ایران", "Iran", ""), ("آریا", "Aria", ""), ("سپهر", "Sepehr", ""),
    ("نوین", "Novin", "Modern"), ("پیشرو", "Pishro", "Pioneer"), ("امید", "Omid", "Hope"),
    ("البرز", "Alborz", ""), ("دماوند", "Damavand", ""), ("کوثر", "Kowsar", ""),
    ("رایان", "Rayan", ""), ("هوشمند", "Hooshmand", "Smart"), ("امن", "Amn", "Secure"),
    ("ستاره", "Setareh", "Star"), ("خلیج", "Khalij", "Gulf"), ("ایمن", "Iman", "Safe"),
)  # fmt: skip
_FA_SYLLABLES = tuple(
    zip(
        "پا را سا نو دا کا مه آر تا بی شا رو زا فر گل نی لا هو سی جا مان تک ویس".split(),
        "pa ra sa no da ka mah ar ta bi sha ru za far gol ni la hu si ja man tak vis".split(),
        strict=True,
    )
)
_FA_DESCRIPTORS = zipf((
    ("فناوری", "Fanavari", "Technology"), ("ارتباطات", "Ertebatat", "Communications"),
    ("مهندسی", "Mohandesi", "Engineering"), ("صنایع", "Sanaye", "Industries"),
    ("الکترونیک", "Electronic", "Electronics"), ("بازرگانی", "Bazargani", "Trading"),
    ("سامانه", "Samaneh", "Systems"), ("داده پردازی", "Dadeh Pardazi", "Data Processing"),
    ("گستر", "Gostar", "Development"),
), 0.8)  # fmt: skip

# Chinese: cities, brand characters, industries, legal forms (native, pinyin, English).
_ZH_CITIES = (
    ("北京", "Beijing"), ("上海", "Shanghai"), ("深圳", "Shenzhen"), ("广州", "Guangzhou"),
    ("杭州", "Hangzhou"), ("成都", "Chengdu"), ("武汉", "Wuhan"), ("西安", "Xi'an"),
    ("天津", "Tianjin"), ("南京", "Nanjing"), ("重庆", "Chongqing"), ("苏州", "Suzhou"),
    ("珠海", "Zhuhai"), ("厦门", "Xiamen"), ("长沙", "Changsha"), ("合肥", "Hefei"),
    ("青岛", "Qingdao"), ("大连", "Dalian"), ("沈阳", "Shenyang"), ("哈尔滨", "Harbin"),
)  # fmt: skip
_ZH_CHARS = tuple(
    zip(
        "华信达通科安盛中兴泰宏远鑫创智联恒星海天龙云鼎飞光明德瑞新大英锐博宇航腾凯嘉富源丰和"
        "晨辰东方正军威卫诚金",
        "hua xin da tong ke an sheng zhong xing tai hong yuan xin chuang zhi lian heng xing "
        "hai tian long yun ding fei guang ming de rui xin da ying rui bo yu hang teng kai jia "
        "fu yuan feng he chen chen dong fang zheng jun wei wei cheng jin".split(),
        strict=True,
    )
)
_ZH_INDUSTRIES = zipf((
    ("科技", "keji", "Technology"), ("电子", "dianzi", "Electronics"),
    ("信息技术", "xinxi jishu", "Information Technology"), ("通信", "tongxin", "Communication"),
    ("安防", "anfang", "Security"), ("贸易", "maoyi", "Trading"), ("智能", "zhineng", "Intelligent"),
    ("网络", "wangluo", "Network"), ("技术", "jishu", "Technology"), ("光电", "guangdian", "Optoelectronics"),
    ("国际贸易", "guoji maoyi", "International Trading"), ("精密仪器", "jingmi yiqi", "Precision Instruments"),
    ("航空", "hangkong", "Aviation"), ("数据", "shuju", "Data"),
), 0.8)  # fmt: skip
_ZH_FORMS = zipf((
    ("有限公司", "youxian gongsi", "Co., Ltd."), ("股份有限公司", "gufen youxian gongsi", "Co., Ltd."),
    ("有限责任公司", "youxian zeren gongsi", "Co., Ltd."), ("集团有限公司", "jituan youxian gongsi", "Group Co., Ltd."),
), 1.0)  # fmt: skip
_ZH_SURNAMES = (("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
                ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"))  # fmt: skip

_RU_FIRST = ("Иван", "Сергей", "Алексей", "Дмитрий", "Андрей", "Михаил", "Николай", "Владимир",
             "Юрий", "Павел", "Олег", "Игорь", "Ольга", "Елена", "Татьяна", "Наталья")  # fmt: skip
_RU_LAST = ("Петров", "Иванов", "Смирнов", "Кузнецов", "Соколов", "Попов", "Лебедев", "Козлов",
            "Новиков", "Морозов", "Волков", "Соловьёв", "Васильев", "Зайцев", "Павлов",
            "Семёнов", "Голубев", "Виноградов", "Богданов", "Воробьёв")  # fmt: skip
_AR_FIRST = ("Mohammed", "Ahmed", "Ali", "Hassan", "Hussein", "Omar", "Khalid", "Youssef",
             "Ibrahim", "Abdullah", "Mahmoud", "Tariq", "Samir", "Karim", "Fatima", "Rami")  # fmt: skip
_EN_FIRST = ("John", "David", "Michael", "Peter", "Mark", "Anna", "Maria", "Thomas", "Hans",
             "Pierre", "Carlos", "Luca", "Mehmet", "Reza", "Arjun", "Wei")  # fmt: skip
_EN_LAST = ("Smith", "Brown", "Miller", "Schmidt", "Dubois", "Garcia", "Rossi", "Yilmaz",
            "Kaya", "Ahmadi", "Hosseini", "Sharma", "Khan", "Tan", "Lim", "Novak", "Horvat")  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Items, grounds, end uses
# ---------------------------------------------------------------------------------------------

# (normalised control entry, description, regimes), most frequent first.
ITEMS = (
    ("5A001.j", "IP network communications surveillance system", ("WA", "EU", "HRI")),
    ("5A001.f", "mobile telecommunications interception equipment", ("WA", "EU", "HRI")),
    ("5A001.f.1", "IMSI catcher for GSM/UMTS/LTE air interfaces", ("WA", "EU", "HRI")),
    ("4A005", "system for the generation, command and delivery of intrusion software", ("WA", "EU", "HRI")),
    ("4D004", "software for the generation of intrusion software", ("WA", "EU", "HRI")),
    ("5D001.e", "software for IP network communications surveillance", ("WA", "EU", "HRI")),
    ("4E001.c", "technology for the development of intrusion software", ("WA", "EU", "HRI")),
    ("5A002.a", "cryptographic equipment", ("WA", "EU")),
    ("5A004.a", "equipment designed to defeat cryptographic functions", ("WA", "EU")),
    ("5D002.c.1", "cryptographic software", ("WA", "EU")),
    ("6A003.b.4", "thermal imaging camera", ("WA", "EU")),
    ("6A002.a.3", "focal plane array for imaging", ("WA", "EU")),
    ("3A001.a.1", "radiation-hardened integrated circuits", ("WA", "EU")),
    ("3A001.b.2", "microwave power amplifiers", ("WA", "EU")),
    ("7A003", "inertial navigation system", ("WA", "EU")),
    ("7A005", "satellite navigation receiver with decryption", ("WA", "EU")),
    ("9A012.a", "unmanned aerial vehicle", ("WA", "EU", "MTCR")),
    ("9A101", "turbojet engine for missiles", ("MTCR", "EU")),
    ("9A120", "propellant tanks", ("MTCR", "EU")),
    ("1A102", "resaturated pyrolised carbon-carbon components", ("MTCR", "EU")),
    ("0B001.b", "gas centrifuge components", ("NSG", "EU")),
    ("2B201.a", "machine tools for turning", ("NSG", "EU")),
    ("2B230", "pressure transducers", ("NSG", "EU")),
    ("3A225", "frequency changers", ("NSG", "EU")),
    ("3A228", "switching devices (triggered spark gaps)", ("NSG", "EU")),
    ("1C350", "chemical weapons precursors", ("AG", "EU")),
    ("1C351", "human and animal pathogens", ("AG", "EU")),
    ("2B350.d", "corrosion-resistant heat exchangers", ("AG", "EU")),
    ("2B352.a", "fermenters", ("AG", "EU")),
    ("ML1.a", "smooth-bore weapons", ("WA", "EU")),
    ("ML3", "ammunition and fuze setting devices", ("WA", "EU")),
    ("ML4.a", "bombs, rockets and missiles", ("WA", "EU")),
    ("ML5.a", "weapon sights and fire control systems", ("WA", "EU")),
    ("ML6.a", "military ground vehicles", ("WA", "EU")),
    ("ML10.c", "unmanned aerial vehicles, military", ("WA", "EU")),
    ("ML11.a", "military electronic equipment", ("WA", "EU")),
    ("ML13.d.1", "body armour", ("WA", "EU")),
    ("ML15.a", "military imaging equipment", ("WA", "EU")),
    ("ML21.b", "software for military equipment", ("WA", "EU")),
    ("ML22.a", "technology for military items", ("WA", "EU")),
)  # fmt: skip
_ITEMS = zipf(ITEMS, 0.8)
CATCH_ALL_DESCRIPTIONS = (
    "facial recognition system for public spaces",
    "biometric identification platform",
    "video analytics software for crowd monitoring",
    "lawful-interception monitoring centre",
    "social media monitoring platform",
    "mobile device forensic extraction kit",
    "spyware licence and support",
    "network traffic deep packet inspection appliance",
)
_DECISIONS = Table(
    [("refusal", 88.0), ("annulment", 4.0), ("suspension", 4.0), ("revocation_of_licence", 4.0)]
)
_GROUNDS = zipf((
    ("human-rights", "EU CP 2008/944 criterion 2(a)", "clear risk of use for internal repression"),
    ("internal-repression", "Regulation (EU) 2021/821 art. 5", "surveillance of journalists and activists"),
    ("diversion", "WA best practices", "risk of diversion to an undesirable end user"),
    ("military-end-use", "Regulation (EU) 2021/821 art. 4(1)(b)", "military end use in an embargoed country"),
    ("wmd", "Regulation (EU) 2021/821 art. 4(1)(a)", "risk of use in a WMD programme"),
    ("regional-stability", "EU CP 2008/944 criterion 4", "risk to regional peace and stability"),
    ("ihl", "EU CP 2008/944 criterion 2(c)", "risk of serious violations of IHL"),
    ("embargo", "Council Decision (CFSP)", "arms embargo"),
    ("terrorism", "EU CP 2008/944 criterion 6", "support for terrorism"),
    ("national-security", "national law", "essential security interests"),
    ("other", "national law", "other grounds"),
), 0.9)  # fmt: skip
_END_USES = (
    "monitoring of political opposition",
    "lawful interception for the ministry of interior",
    "mass surveillance of internet traffic",
    "border surveillance",
    "interception of mobile communications of protesters",
    "military communications",
    "research institute of the armed forces",
    "resale to an undisclosed end user",
    "integration into a national security platform",
    "police forensic laboratory",
)
_LISTINGS = (
    {"list": "US-EL", "ref": "86 FR 60759"},
    {"list": "US-EL", "ref": "88 FR 44719"},
    {"list": "EU-SANCTIONS", "ref": "Regulation (EU) 269/2014 Annex I"},
)
_ROLES = ("consignee", "intermediate_consignee", "purchaser", "broker")
_PARTIES = Table([(1, 45.0), (2, 30.0), (3, 17.0), (4, 8.0)], bits=8)
_ALIASES = Table([(0, 50.0), (1, 25.0), (2, 15.0), (3, 10.0)], bits=8)
_ITEM_COUNT = Table([(1, 60.0), (2, 30.0), (3, 10.0)], bits=8)
ORIGIN_TABLE = zipf(ORIGINS, 0.7)
_CITIES = ("Moscow", "Minsk", "Dubai", "Istanbul", "Shenzhen", "Tehran", "Almaty", "Yerevan",
           "Hong Kong", "Singapore", "Damascus", "Caracas", "Yangon", "Cairo", "Tashkent")  # fmt: skip
_ALNUM = string.digits + string.ascii_uppercase

# ---------------------------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------------------------


def lei(rng: random.Random) -> str:
    """A syntactically valid LEI: 4-char LOU prefix, '00', 12 characters, ISO 7064 check."""
    body = one(rng, ("5493", "2138", "9695", "2549", "8945", "3157")) + "00"
    body += "".join(_ALNUM[rng.getrandbits(5) % 36] for _ in range(12))
    numeric = int("".join(str(int(c, 36)) for c in body) + "00")
    return f"{body}{98 - numeric % 97:02d}"


def inn(rng: random.Random, person: bool = False) -> str:
    """A Russian INN with valid check digits: 10 digits (company) or 12 (individual)."""

    def check(digits: list[int], weights: tuple[int, ...]) -> int:
        return sum(d * w for d, w in zip(digits, weights, strict=False)) % 11 % 10

    digits = [rng.getrandbits(4) % 10 for _ in range(10 if person else 9)]
    digits[0] = digits[0] or 7
    if person:
        digits.append(check(digits, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))
        digits.append(check(digits, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))
    else:
        digits.append(check(digits, (2, 4, 10, 3, 5, 9, 4, 6, 8)))
    return "".join(map(str, digits))


def _identifiers(rng: random.Random, culture: str, person: bool) -> tuple[dict[str, str], ...]:
    ids: list[dict[str, str]] = []
    r = rng.random()
    if culture == "ru" and r < 0.6:
        ids.append({"scheme": "RU-INN", "value": inn(rng, person)})
    elif culture == "zh" and r < 0.35 and not person:
        uscc = (
            "91"
            + f"{rng.getrandbits(20) % 1000000:06d}"
            + "".join(_ALNUM[rng.getrandbits(5) % 36] for _ in range(10))
        )
        ids.append({"scheme": "CN-USCC", "value": uscc})
    elif culture == "tr" and r < 0.4:
        ids.append({"scheme": "TR-VKN", "value": f"{rng.getrandbits(34) % 10**10:010d}"})
    elif culture == "ar" and r < 0.3:
        ids.append({"scheme": "AE-TL", "value": f"{rng.getrandbits(20) % 900000 + 100000}"})
    if not person and rng.random() < 0.15:
        ids.append({"scheme": "LEI", "value": lei(rng)})
    return tuple(ids)


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entity:
    """A company or person: its name as usually written first, then other ways of writing it."""

    culture: str
    names: tuple[str, ...]
    identifiers: tuple[dict[str, str], ...]
    country: str


def _stem(rng: random.Random) -> str:
    n = 2 + (rng.random() < 0.35)
    return "".join(one(rng, _SYLLABLES) for _ in range(n)).capitalize()


def _brand_latin(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.65:
        return _stem(rng)
    if r < 0.8:
        return one(rng, _BRAND_EN)
    return f"{one(rng, _BRAND_EN)} {_stem(rng)}"


_DESCRIPTOR_COUNT = Table([(0, 15.0), (1, 50.0), (2, 30.0), (3, 5.0)], bits=8)


def _descriptors(rng: random.Random, culture: str) -> list[str]:
    n = _DESCRIPTOR_COUNT.pick(rng)
    out: list[str] = []
    local = _DESCRIPTOR_TABLES.get(culture)
    for _ in range(n):
        word = (
            local.pick(rng) if local is not None and rng.random() < 0.7 else _GENERIC_EN.pick(rng)
        )
        if word not in out:
            out.append(word)
    return out


def _latin_entity(rng: random.Random, culture: str) -> list[str]:
    brand = _brand_latin(rng)
    words = _descriptors(rng, culture)
    form = _FORMS.get(culture, _FORMS["en"]).pick(rng)
    core = " ".join([brand, *words])
    if culture == "fr" and rng.random() < 0.3:
        name = f"Société {core} {form}"
    else:
        name = f"{core} {form}"
    names = [name]
    translated = [_TRANSLATE.get(w, w) for w in words]
    if translated != words:
        names.append(" ".join([brand, *translated, one(rng, _ALT_FORMS_LATIN)]).strip())
    names.append(f"{core} {one(rng, _ALT_FORMS_LATIN)}".strip())
    names.append(name.upper())
    if len(words) > 1:
        names.append(brand + " " + "".join(w[0] for w in words).upper())
    return names


def _ru_brand(rng: random.Random) -> tuple[str, str | None]:
    r = rng.random()
    if r < 0.3:
        return one(rng, _RU_HEADS) + one(rng, _RU_TAILS), None
    if r < 0.7:
        return "".join(
            one(rng, _RU_SYLLABLES) for _ in range(2 + (rng.random() < 0.4))
        ).capitalize(), None
    if r < 0.85:
        word, english = one(rng, _RU_WORDS)
        return word, english
    (w1, e1), (w2, e2) = one(rng, _RU_WORDS), one(rng, _RU_WORDS)
    return f"{w1} {w2}", f"{e1} {e2}"


def _ru_entity(rng: random.Random) -> list[str]:
    brand, english = _ru_brand(rng)
    words = [_RU_DESCRIPTORS.pick(rng) for _ in range(rng.random() < 0.55)]
    native_form, latin_form, english_form = _RU_FORMS.pick(rng)
    core = " ".join([brand, *(w for w, _ in words)])
    r = rng.random()
    if r < 0.65:
        native = f"{native_form} «{core}»"
    elif r < 0.85:
        native = f'{native_form} "{core}"'
    else:
        native = f"{core}, {native_form}"
    latin = core.translate(CYRILLIC[0])
    names = [native, f"{latin} {latin_form}", f"{latin_form} {latin}"]
    english_core = " ".join([english or latin.split(" ")[0], *(e for _, e in words)])
    if english is not None or words:
        names.append(f"{english_core} {english_form}")
    names.append(f"{core.translate(CYRILLIC[1])} {english_form}")
    return names


def _el_entity(rng: random.Random) -> list[str]:
    if rng.random() < 0.3:
        brand = one(rng, _EL_WORDS)
    else:
        brand = "".join(one(rng, _EL_SYLLABLES) for _ in range(2 + (rng.random() < 0.5)))
        brand = brand.capitalize()
    native_d, english_d = _EL_DESCRIPTORS.pick(rng)
    native_f, latin_f, english_f = _EL_FORMS.pick(rng)
    native = f"{brand} {native_d} {native_f}"
    latin_brand = brand.translate(GREEK[0])
    return [
        native,
        f"{latin_brand} {native_d.translate(GREEK[0])} {latin_f}",
        f"{latin_brand} {english_d} {english_f}",
        native.upper(),
    ]


def _ar_entity(rng: random.Random) -> list[str]:
    native_b, spellings, english_b = one(rng, _AR_WORDS)
    second = rng.random() < 0.4
    if second:
        native_b2, spellings2, _ = one(rng, _AR_WORDS)
    native_d, english_d = _AR_DESCRIPTORS.pick(rng)
    native_f, latin_f = _AR_FORMS.pick(rng)
    latin_b = spellings[0] + (f" {spellings2[0]}" if second else "")
    alt_b = one(rng, spellings) + (f" {one(rng, spellings2)}" if second else "")
    if rng.random() < 0.35:  # an English-language brand, as many Gulf firms have
        latin_b = alt_b = _brand_latin(rng)
        native_b = latin_b
        second = False
        english_b = ""
    core_native = native_b + (f" {native_b2}" if second else "")
    prefix = "شركة " if rng.random() < 0.6 else ""
    names = [
        f"{latin_b} {english_d} {latin_f}",
        f"{prefix}{core_native} {native_d} {native_f}",
        f"{alt_b} {english_d} {_FORMS['ar'].pick(rng)}",
    ]
    if english_b and not second:
        names.append(f"{english_b} {english_d} {latin_f}")
    if rng.random() < 0.4:
        names[0], names[1] = names[1], names[0]
    return names


def _fa_entity(rng: random.Random) -> list[str]:
    native_b, latin_b, english_b = one(rng, _FA_WORDS)
    if rng.random() < 0.6:  # a coined brand
        syllables = [one(rng, _FA_SYLLABLES) for _ in range(2 + (rng.random() < 0.4))]
        native_b = "".join(n for n, _ in syllables)
        latin_b, english_b = "".join(lat for _, lat in syllables).capitalize(), ""
    native_d, latin_d, english_d = _FA_DESCRIPTORS.pick(rng)
    form = one(rng, ("(سهامی خاص)", "(سهامی عام)", ""))
    latin_form = one(rng, ("Co.", "PJS", "Company", "Ltd"))
    names = [
        f"شرکت {native_b} {native_d} {form}".strip(),
        f"{latin_b} {latin_d} {latin_form}",
        f"{latin_b} {english_d} Company",
    ]
    if english_b:
        names.append(f"{english_b} {english_d} {latin_form}")
    if rng.random() < 0.4:
        names[0], names[1] = names[1], names[0]
    return names


def _zh_entity(rng: random.Random) -> list[str]:
    city, city_latin = one(rng, _ZH_CITIES)
    chars = [one(rng, _ZH_CHARS) for _ in range(2)]
    brand = "".join(c for c, _ in chars)
    brand_latin = "".join(p for _, p in chars).capitalize()
    native_i, pinyin_i, english_i = _ZH_INDUSTRIES.pick(rng)
    native_f, pinyin_f, english_f = _ZH_FORMS.pick(rng)
    names = [
        f"{city}{brand}{native_i}{native_f}",
        f"{city_latin} {brand_latin} {english_i} {english_f}",
        f"{city_latin} {brand_latin} {pinyin_i.title()} {pinyin_f.title()}",
        f"{brand_latin} {english_i} (HK) Limited",
    ]
    if rng.random() < 0.45:
        names[0], names[1] = names[1], names[0]
    return names


def _person(rng: random.Random, culture: str) -> list[str]:
    if culture == "ru":
        first, last = one(rng, _RU_FIRST), one(rng, _RU_LAST)
        native = f"{last} {first}" if rng.random() < 0.5 else f"{first} {last}"
        return [native, native.translate(CYRILLIC[0]), native.translate(CYRILLIC[2])]
    if culture == "zh":
        (s, sp), given = one(rng, _ZH_SURNAMES), [one(rng, _ZH_CHARS) for _ in range(2)]
        native = s + "".join(c for c, _ in given)
        latin = "".join(p for _, p in given).capitalize()
        return [native, f"{sp} {latin}", f"{latin} {sp}"]
    if culture in ("ar", "fa"):
        family = one(rng, _AR_WORDS)[1]
        first = one(rng, _AR_FIRST)
        return [f"{first} {family[0]}", f"{first} {one(rng, family)}", f"{first[0]}. {family[0]}"]
    first, last = one(rng, _EN_FIRST), one(rng, _EN_LAST)
    return [f"{first} {last}", f"{last}, {first}", f"{first[0]}. {last}"]


_BUILDERS = {
    "ru": _ru_entity,
    "el": _el_entity,
    "ar": _ar_entity,
    "fa": _fa_entity,
    "zh": _zh_entity,
}


def make_entity(rng: random.Random, country: str) -> Entity:
    culture = culture_for(country).pick(rng)
    person = rng.random() < 0.05
    if person:
        names = _person(rng, culture)
    elif rng.random() < 0.04:  # purely generic: "General Trading LLC"
        names = generic_names(rng)
    else:
        build = _BUILDERS.get(culture)
        names = build(rng) if build is not None else _latin_entity(rng, culture)
    unique = tuple(dict.fromkeys(n for n in names if n))
    return Entity(culture, unique, _identifiers(rng, culture, person), country)


def generic_names(rng: random.Random) -> list[str]:
    """A name of generic words only, with an optional common brand word."""
    words: list[str] = []
    for _ in range(2 + (rng.random() < 0.3)):
        word = _GENERIC_EN.pick(rng)
        if word not in words:
            words.append(word)
    if rng.random() < 0.35:
        words.insert(0, one(rng, _BRAND_EN) if rng.random() < 0.6 else one(rng, _AR_WORDS)[1][0])
    form = _FORMS["en"].pick(rng)
    core = " ".join(words)
    return [f"{core} {form}", f"{core} {one(rng, _ALT_FORMS_LATIN)}".strip()]


# ---------------------------------------------------------------------------------------------
# Notices
# ---------------------------------------------------------------------------------------------


def plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class NoticeGenerator:
    """Seeded §6 notice bodies; `today` anchors the dates (every notice is active then)."""

    def __init__(self, seed: int = SEED, today: dt.date | None = None, pool: int = 50_000):
        self.seed = seed
        self.today = today or dt.date.today()
        self._rng = random.Random(seed)
        pool_rng = random.Random(seed + 1)
        # Entities that several origins deny: a quarter of all parties, skewed to a few.
        self.pool = [make_entity(pool_rng, DESTINATIONS.pick(pool_rng)) for _ in range(pool)]
        self.number = 0
        self._epoch_ms = int(dt.datetime.combine(self.today, dt.time(), dt.UTC).timestamp() * 1000)

    def _notice_id(self, rng: random.Random, days_ago: int) -> str:
        ms = self._epoch_ms - days_ago * 86_400_000 + rng.getrandbits(26)
        a, b = rng.getrandbits(12), rng.getrandbits(62)
        h = f"{ms:012x}"
        tail = f"{0x8000000000000000 | b:016x}"
        return f"{h[:8]}-{h[8:]}-7{a:03x}-{tail[:4]}-{tail[4:]}"

    def _party(self, rng: random.Random, role: str, destination: str) -> dict[str, Any]:
        country = destination if role == "end_user" and rng.random() < 0.9 else HUBS.pick(rng)
        if rng.random() < 0.25:
            entity = self.pool[int(len(self.pool) * rng.random() ** 1.5)]
        else:
            entity = make_entity(rng, country)
        names = entity.names
        first = 1 if len(names) > 1 and rng.random() < 0.3 else 0  # how this origin writes it
        others = [n for i, n in enumerate(names) if i != first]
        count = min(_ALIASES.pick(rng), len(others))
        party: dict[str, Any] = {"role": role, "name": names[first]}
        party["aliases"] = rng.sample(others, count) if count else []
        party["country"] = entity.country
        if rng.random() < 0.4:
            party["address"] = {
                "street": f"{rng.randint(1, 250)} {_stem(rng)} Street",
                "city": one(rng, _CITIES),
                "postal_code": f"{rng.getrandbits(17) % 100000:05d}",
            }
        if entity.identifiers and rng.random() < 0.7:
            party["identifiers"] = list(entity.identifiers)
        return party

    def body(self) -> tuple[str, dict[str, Any]]:
        """The next notice: (origin, §6 body)."""
        rng = self._rng
        self.number += 1
        origin = ORIGIN_TABLE.pick(rng)
        days_ago = 1 + rng.getrandbits(11) % DAYS_BACK
        decided = self.today - dt.timedelta(days=days_ago)
        destination = DESTINATIONS.pick(rng)
        items = []
        regimes: set[str] = set()
        for _ in range(_ITEM_COUNT.pick(rng)):
            if rng.random() < 0.10:
                item: dict[str, Any] = {
                    "control_entry": "catch-all",
                    "description": one(rng, CATCH_ALL_DESCRIPTIONS),
                }
                regimes.update(("EU", "HRI"))
            else:
                entry, description, item_regimes = _ITEMS.pick(rng)
                item = {"control_entry": entry, "description": description}
                regimes.update(item_regimes)
            if rng.random() < 0.7:
                item["quantity"] = str(1 + rng.getrandbits(6))
            if rng.random() < 0.5:
                item["value"] = {
                    "amount": f"{(1 + rng.getrandbits(12)) * 1000}.00",
                    "currency": "EUR",
                }
            items.append(item)
        catch_all = any(i["control_entry"] == "catch-all" for i in items)
        decision = (
            "catch_all_requirement" if catch_all and rng.random() < 0.6 else _DECISIONS.pick(rng)
        )
        roles = ["end_user", *rng.sample(_ROLES, _PARTIES.pick(rng) - 1)]
        version = 1 if rng.random() < 0.88 else 2 + (rng.random() < 0.2)
        body: dict[str, Any] = {
            "notice_id": self._notice_id(rng, days_ago),
            "version": version,
            "reference": f"{origin.upper()}-{decided.year}-{self.number:07d}",
            "decision": decision,
            "decided_on": decided.isoformat(),
            "valid_until": plus_years(decided, 3).isoformat(),
            "regimes": sorted(regimes),
            "destination": destination,
            "items": items,
            "parties": [self._party(rng, role, destination) for role in roles],
            "end_use": one(rng, _END_USES),
            "grounds": [dict(zip(("code", "ref", "text"), _GROUNDS.pick(rng), strict=True))],
            "public_listings": [one(rng, _LISTINGS)] if rng.random() < 0.03 else [],
            "supersedes": version - 1 if version > 1 else None,
        }
        return origin, body

    def bodies(self, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
        for _ in range(count):
            yield self.body()

    def records(self, count: int) -> Iterator[NoticeRecord]:
        for origin, body in self.bodies(count):
            yield notice_record(origin, body)


# ---------------------------------------------------------------------------------------------
# Amendments (from a record: the bench does not keep a million bodies)
# ---------------------------------------------------------------------------------------------


def record_body(record: NoticeRecord) -> dict[str, Any]:
    """Enough of the §6 body of a record for `notice_record` (and for an amendment)."""
    return {
        "notice_id": record.notice_id,
        "version": record.version,
        "decision": record.decision,
        "destination": record.destination,
        "valid_until": record.valid_until.isoformat(),
        "items": [
            {"control_entry": i.control_entry, "description": i.description} for i in record.items
        ],
        "parties": [
            {
                "role": p.role,
                "name": p.names[0],
                "aliases": list(p.names[1:]),
                "country": p.country,
                "identifiers": [{"scheme": s, "value": v} for s, v in p.identifiers],
            }
            for p in record.parties
        ],
        "end_use": record.end_use,
    }


def amended(rng: random.Random, record: NoticeRecord) -> NoticeRecord:
    """The next version of a notice: renewed three years, an alias added to the end user."""
    body = record_body(record)
    body["version"] = record.version + 1
    body["supersedes"] = record.version
    body["valid_until"] = plus_years(record.valid_until, 3).isoformat()
    party = body["parties"][0]
    party["aliases"].append(vary(rng, party["name"], "typo")[0])
    return notice_record(record.origin, body)


# ---------------------------------------------------------------------------------------------
# Name variations (what an officer might type for the same party)
# ---------------------------------------------------------------------------------------------

_LATIN_FORMS = sorted(
    {f for table in _FORMS.values() for f in set(table.slots)}
    | {f for f in _ALT_FORMS_LATIN if f}
    | {latin for _, latin, _ in set(_RU_FORMS.slots)}
    | {english for _, _, english in set(_RU_FORMS.slots)}
    | {"Co., Ltd.", "Limited", "Company", "(HK) Limited", "Youxian Gongsi", "Gufen Youxian Gongsi"},
    key=len,
    reverse=True,
)
_NATIVE_FORMS = sorted(
    {n for n, _, _ in set(_RU_FORMS.slots)} | {n for n, _ in set(_AR_FORMS.slots)}
    | {n for n, _, _ in set(_EL_FORMS.slots)} | {n for n, _, _ in set(_ZH_FORMS.slots)},
    key=len,
    reverse=True,
)  # fmt: skip
_SPELLINGS = {s: spellings for _, spellings, _ in _AR_WORDS for s in spellings}
_AR_NATIVE = {native: spellings for native, spellings, _ in _AR_WORDS}
_AR_NATIVE.update({native: (english,) for native, english in set(_AR_DESCRIPTORS.slots)})
_AR_NATIVE.update({native: (latin,) for native, latin in set(_AR_FORMS.slots)})
_AR_NATIVE.update({native: (latin,) for native, latin, _ in set(_FA_DESCRIPTORS.slots)})
_AR_NATIVE.update({native: (latin,) for native, latin, _ in _FA_WORDS})
_NEIGHBOURS = {
    "a": "sqe", "e": "wri", "i": "uoy", "o": "ipu", "u": "yio", "n": "bm", "m": "n", "r": "et",
    "t": "ry", "s": "adz", "l": "k", "k": "jl", "c": "xkv", "v": "cb", "g": "fh", "h": "gj",
}  # fmt: skip
VARIATIONS = ("translit", "typo", "reorder", "legal_form", "alias", "parent_entry", "identifier",
              "verbatim")  # fmt: skip
_VARIATION = Table(
    list(zip(VARIATIONS, (18.0, 18.0, 12.0, 14.0, 14.0, 10.0, 6.0, 8.0), strict=True))
)


def _is_cyrillic(text: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in text)


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def split_form(name: str) -> tuple[str, str, bool]:
    """(core, legal form, form was in front) for a name the generator could have written."""
    for form in _NATIVE_FORMS:
        if _is_cjk(form) and name.endswith(form):
            return name[: -len(form)], form, False
        if name.startswith(form + " "):
            return name[len(form) + 1 :].strip('«»" '), form, True
        if name.endswith(" " + form) or name.endswith(", " + form):
            return name[: -len(form)].rstrip(", "), form, False
    for form in _LATIN_FORMS:
        if name.endswith(" " + form):
            return name[: -len(form) - 1], form, False
        if name.startswith(form + " "):
            return name[len(form) + 1 :], form, True
    return name, "", False


def _typo(rng: random.Random, name: str) -> str:
    core, form, front = split_form(name)
    tokens = core.split(" ")
    candidates = [i for i, t in enumerate(tokens) if len(t) >= 4]
    if not candidates:
        candidates = list(range(len(tokens)))
    i = one(rng, candidates)
    t = tokens[i]
    if len(t) < 2:
        tokens[i] = t + t
    else:
        p = 1 + int(rng.random() * (len(t) - 1))
        op = rng.random()
        if op < 0.3:  # deletion
            t = t[:p] + t[p + 1 :]
        elif op < 0.55 and p < len(t) - 1:  # transposition
            t = t[:p] + t[p + 1] + t[p] + t[p + 2 :]
        elif op < 0.8 and t[p].lower() in _NEIGHBOURS:  # a neighbouring key
            t = t[:p] + one(rng, _NEIGHBOURS[t[p].lower()]) + t[p + 1 :]
        elif op < 0.8:
            t = t[:p] + t[p + 1 :]
        else:  # a doubled letter
            t = t[:p] + t[p] + t[p:]
        tokens[i] = t
    core = " ".join(tokens)
    if not form:
        return core
    if _is_cjk(form):
        return core + form
    return f"{form} {core}" if front else f"{core} {form}"


def _arabic_words(name: str) -> list[str]:
    """Words and multi-word descriptors of an Arabic-script name, longest first."""
    words, tokens, i = [], name.split(" "), 0
    while i < len(tokens):
        pair = " ".join(tokens[i : i + 2])
        if pair in _AR_NATIVE:
            words.append(pair)
            i += 2
        else:
            words.append(tokens[i])
            i += 1
    return words


_ZH_WORDS = {
    **{native: (latin,) for native, latin in _ZH_CITIES},
    **{native: (english, pinyin.title()) for native, pinyin, english in set(_ZH_INDUSTRIES.slots)},
    **{native: (english, pinyin.title()) for native, pinyin, english in set(_ZH_FORMS.slots)},
    **{native: (latin,) for native, latin in _ZH_SURNAMES},
}
_ZH_SYLLABLE = dict(_ZH_CHARS)


def _pinyin(rng: random.Random, name: str) -> str | None:
    """A Latin form of a Chinese name the generator wrote: known words (longest first) in
    English or pinyin, other characters as pinyin syllables run together."""
    words: list[str] = []
    syllables: list[str] = []
    i = 0
    while i < len(name):
        for size in (6, 5, 4, 3, 2):
            if name[i : i + size] in _ZH_WORDS:
                if syllables:
                    words.append("".join(syllables).capitalize())
                    syllables = []
                words.append(one(rng, _ZH_WORDS[name[i : i + size]]))
                i += size
                break
        else:
            if name[i] not in _ZH_SYLLABLE:
                return None
            syllables.append(_ZH_SYLLABLE[name[i]])
            i += 1
    if syllables:
        words.append("".join(syllables).capitalize())
    return " ".join(words)


_FA_SYLLABLE = dict(_FA_SYLLABLES)


def _coined(word: str) -> str:
    """The Latin form of a brand coined from Persian syllables ("" if it is not one)."""
    out, i = [], 0
    while i < len(word):
        for size in (3, 2):
            if word[i : i + size] in _FA_SYLLABLE:
                out.append(_FA_SYLLABLE[word[i : i + size]])
                i += size
                break
        else:
            return ""
    return "".join(out).capitalize()


def _translit(rng: random.Random, name: str) -> str | None:
    if _is_cyrillic(name):
        core, form, _ = split_form(name)
        latin_form = {n: lat for n, lat, _ in set(_RU_FORMS.slots)}.get(form, form)
        scheme = CYRILLIC[1 + int(rng.random() * (len(CYRILLIC) - 1))]
        return f"{core.translate(scheme)} {latin_form.translate(scheme)}".strip()
    if any("\u0370" <= c <= "\u03ff" for c in name):
        return name.translate(GREEK[1 + int(rng.random() * (len(GREEK) - 1))])
    if any("\u0600" <= c <= "\u06ff" for c in name):
        words = [
            w if w.isascii() else one(rng, _AR_NATIVE[w]) if w in _AR_NATIVE else _coined(w)
            for w in _arabic_words(name)
            if w.isascii() or w in _AR_NATIVE or _coined(w)
        ]
        return " ".join(words) if words else None
    if _is_cjk(name):
        return _pinyin(rng, name)
    changed = False
    out = name
    for spelling, spellings in _SPELLINGS.items():
        if spelling in out and len(spellings) > 1:
            out = out.replace(spelling, one(rng, [s for s in spellings if s != spelling]))
            changed = True
            break
    return out if changed else None


def _reorder(rng: random.Random, name: str) -> str | None:
    if _is_cjk(name):
        return None  # written without spaces: no word order to change
    core, form, front = split_form(name)
    tokens = core.split(" ")
    if len(tokens) < 2:
        return f"{core} {form}" if front and form else (f"{form} {core}" if form else None)
    tokens = tokens[1:] + tokens[:1] if rng.random() < 0.6 else tokens[::-1]
    core = " ".join(tokens)
    if not form:
        return core
    return f"{core} {form}" if front else f"{form} {core}"


def _legal_form(rng: random.Random, name: str) -> str:
    core, form, _ = split_form(name)
    if _is_cjk(core):
        return core + one(rng, [n for n, _, _ in set(_ZH_FORMS.slots) if n != form] + [""])
    if _is_cyrillic(core):
        new = one(rng, [n for n, _, _ in set(_RU_FORMS.slots) if n != form] + [""])
        return f"{new} «{core}»".strip() if new else core
    new = one(rng, [f for f in _ALT_FORMS_LATIN if f != form])
    return f"{core} {new}".strip() if rng.random() < 0.8 else f"{new} {core}".strip()


def vary(rng: random.Random, name: str, variation: str) -> tuple[str, str]:
    """One variation of a party name: (the varied name, the variation actually applied)."""
    if variation == "translit" and (out := _translit(rng, name)) is not None:
        return out, variation
    if variation == "reorder" and (out := _reorder(rng, name)) is not None:
        return out, variation
    if variation == "legal_form":
        return _legal_form(rng, name), variation
    if variation == "verbatim":
        return name, variation
    return _typo(rng, name), "typo"


# ---------------------------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyntheticApplication:
    kind: str  # "derived", "generic" or "unrelated"
    variation: str  # how a derived application differs from its source notice
    source: tuple[str, str] | None  # (origin, notice_id) a derived application should find
    body: dict[str, Any]  # the §7 application body (control entries normalised)


def _parent(entry: str) -> str:
    parts = entry.split(".")
    if entry == "catch-all":
        return entry
    return ".".join(parts[:-1]) if len(parts) > 1 else f"{entry}.a"


def _app_body(
    number: int, destination: str, items: list[dict[str, str]], parties: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "reference": f"APP-{number:06d}",
        "destination": destination,
        "items": items,
        "parties": parties,
        "end_use": "stated end use (synthetic application)",
    }


def _fits(variation: str, record: NoticeRecord) -> bool:
    """Whether a variation can apply to one of the notice's parties."""
    if variation == "translit":
        return any(not n.isascii() for p in record.parties for n in p.names)
    if variation == "alias":
        return any(len(p.names) > 1 for p in record.parties)
    if variation == "identifier":
        return any(p.identifiers for p in record.parties)
    return True


def _derived(
    rng: random.Random, number: int, records: Sequence[NoticeRecord]
) -> SyntheticApplication:
    variation = _VARIATION.pick(rng)
    for _ in range(50):  # a notice the variation applies to (else it falls back to a typo)
        record = records[int(rng.random() * len(records))]
        if _fits(variation, record):
            break
    # The party the officer names: mostly the end user, else one the variation can apply to.
    fitting = record.parties
    if variation == "translit":
        fitting = [p for p in record.parties if not all(n.isascii() for n in p.names)] or fitting
    elif variation == "identifier":
        fitting = [p for p in record.parties if p.identifiers] or fitting
    elif variation == "alias":
        fitting = [p for p in record.parties if len(p.names) > 1] or fitting
    source = fitting[0] if rng.random() < 0.8 else one(rng, fitting)
    items = [{"control_entry": i.control_entry, "description": i.description} for i in record.items]
    parties: list[dict[str, Any]] = []
    name = source.names[0]
    applied = variation
    if variation == "alias" and len(source.names) > 1:
        differ = [a for a in source.names[1:] if a.casefold() != name.casefold()]
        name = one(rng, differ or source.names[1:])
    elif variation == "alias":
        name, applied = vary(rng, name, "typo")
    elif variation == "translit":
        # The officer transliterates the native-script name (or an alias) their own way.
        native = [n for n in source.names if not n.isascii()]
        latin = _translit(rng, one(rng, native)) if native else _translit(rng, name)
        if latin is not None:
            name = latin
        else:
            name, applied = vary(rng, name, "typo")
    elif variation == "parent_entry":
        items = [{**i, "control_entry": _parent(i["control_entry"])} for i in items]
        name, _ = vary(rng, name, "verbatim" if rng.random() < 0.5 else "typo")
    elif variation == "identifier":
        if source.identifiers:
            name = one(rng, make_entity(rng, DESTINATIONS.pick(rng)).names)
        else:
            name, applied = vary(rng, name, "typo")
    else:
        name, applied = vary(rng, name, variation)
    party: dict[str, Any] = {"role": source.role, "name": name, "country": source.country}
    if applied == "identifier":
        party["identifiers"] = [{"scheme": s, "value": v} for s, v in source.identifiers]
    parties.append(party)
    if rng.random() < 0.3:  # a second party the officer also lists, unrelated
        extra = make_entity(rng, HUBS.pick(rng))
        parties.append({"role": "consignee", "name": extra.names[0], "country": extra.country})
    destination = record.destination  # the same transaction: only how it is written differs
    return SyntheticApplication(
        "derived",
        applied,
        (record.origin, record.notice_id),
        _app_body(number, destination, items, parties),
    )


def _items(rng: random.Random, common: bool) -> list[dict[str, str]]:
    if rng.random() < 0.12:
        return [{"control_entry": "catch-all", "description": one(rng, CATCH_ALL_DESCRIPTIONS)}]
    entry, description, _ = one(rng, ITEMS[:4]) if common else _ITEMS.pick(rng)
    return [{"control_entry": entry, "description": description}]


def _generic(rng: random.Random, number: int) -> SyntheticApplication:
    destination = HOT_DESTINATIONS.pick(rng)
    parties = [{"role": "end_user", "name": generic_names(rng)[0], "country": destination}]
    if rng.random() < 0.4:
        parties.append(
            {"role": "consignee", "name": generic_names(rng)[0], "country": HUBS.pick(rng)}
        )
    return SyntheticApplication(
        "generic", "", None, _app_body(number, destination, _items(rng, True), parties)
    )


def _unrelated(rng: random.Random, number: int) -> SyntheticApplication:
    destination = DESTINATIONS.pick(rng)
    entity = make_entity(rng, destination)
    parties = [{"role": "end_user", "name": entity.names[0], "country": entity.country}]
    if rng.random() < 0.3:
        extra = make_entity(rng, HUBS.pick(rng))
        parties.append({"role": "consignee", "name": extra.names[0], "country": extra.country})
    return SyntheticApplication(
        "unrelated", "", None, _app_body(number, destination, _items(rng, False), parties)
    )


def applications(
    records: Sequence[NoticeRecord], count: int, seed: int = SEED + 7
) -> list[SyntheticApplication]:
    """`count` applications, shuffled: ~40 % derived from `records`, ~30 % generic names,
    ~30 % unrelated. Unrelated names come from a different random stream than the notices."""
    rng = random.Random(seed)
    out: list[SyntheticApplication] = []
    for number in range(count):
        r = rng.random()
        if r < 0.4:
            out.append(_derived(rng, number, records))
        elif r < 0.7:
            out.append(_generic(rng, number))
        else:
            out.append(_unrelated(rng, number))
    return out
