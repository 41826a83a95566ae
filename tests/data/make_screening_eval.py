"""Writes tests/data/screening_eval.jsonl: labelled, entirely synthetic screening pairs.

Run `python tests/data/make_screening_eval.py` from the repository root; the output is
deterministic and committed. Every firm, person, identifier and notice here is invented.
Each case is built to be one situation a licensing officer meets, and labelled from that
situation (is this the essentially identical transaction?), never from the scorer's output.
"""

import json
import random
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("screening_eval.jsonl")
RNG = random.Random(14)

# control entry -> two wordings of the same kind of item (notice wording, application wording)
ITEMS = {
    "5A001.j": (
        "IP network communications surveillance system",
        "system for monitoring IP network communications traffic",
    ),
    "5A001.f": (
        "mobile telecommunications interception equipment",
        "IMSI catcher for interception of mobile telecommunications",
    ),
    "4A005": (
        "system for generation and delivery of intrusion software",
        "intrusion software delivery and command platform",
    ),
    "4D004": (
        "software specially designed for generation of intrusion software",
        "intrusion software generation toolkit",
    ),
    "ML21.b": (
        "software for military command and control systems",
        "command and control software for military units",
    ),
    "9A012": (
        "unmanned aerial vehicle with autonomous flight control",
        "autonomous flight control unmanned aerial vehicle",
    ),
    "6A003.b": (
        "thermal imaging camera with uncooled focal plane array",
        "uncooled focal plane array thermal imaging cameras",
    ),
    "1C350": ("chemical precursor thiodiglycol", "thiodiglycol precursor chemical, 200 litres"),
    "2B350.c": (
        "corrosion resistant heat exchanger",
        "heat exchanger of corrosion resistant alloy",
    ),
    "3A001.a": (
        "radiation hardened integrated circuits",
        "integrated circuits, radiation hardened",
    ),
}
BROADER = {
    "5A001.j": "5A001",
    "5A001.f": "5A001",
    "6A003.b": "6A003",
    "2B350.c": "2B350",
    "ML21.b": "ML21",
    "3A001.a": "3A001",
}
NARROWER = {"5A001.j": "5A001.j.1", "4A005": "4A005.a", "1C350": "1C350.a", "9A012": "9A012.a"}
UNRELATED = {
    "5A001.j": "5A002.a",
    "5A001.f": "5D002",
    "4A005": "4A003",
    "ML21.b": "ML11",
    "9A012": "9A004",
    "6A003.b": "6A002",
    "1C350": "1C351",
    "2B350.c": "2B352",
    "3A001.a": "3B001",
    "4D004": "4E001.c",
}
END_USES = {
    "5A001.j": (
        "monitoring of political opposition",
        "lawful interception by the ministry of interior",
    ),
    "5A001.f": ("interception of journalists' phones", "interception by state security service"),
    "4A005": ("targeted surveillance of activists", "cyber operations by intelligence service"),
    "4D004": ("development of spyware", "security research"),
    "ML21.b": ("command of internal security forces", "military command systems"),
    "9A012": ("military reconnaissance", "aerial surveillance"),
    "6A003.b": ("border surveillance", "surveillance of protests"),
    "1C350": ("suspected chemical weapons programme", "textile industry"),
    "2B350.c": ("chemical weapons production risk", "pharmaceutical plant"),
    "3A001.a": ("missile guidance", "satellite manufacture"),
}
DESTINATIONS = [
    "RU",
    "BY",
    "IR",
    "SY",
    "MM",
    "VE",
    "AE",
    "TR",
    "CN",
    "PK",
    "EG",
    "KZ",
    "RS",
    "SA",
    "VN",
]
CATCH_ALL = [
    (
        "facial recognition camera system for public spaces",
        "facial recognition cameras and analytics software for public spaces",
    ),
    ("biometric identification system", "biometric identification terminals and software"),
    ("social media monitoring software", "software for monitoring social media content"),
    ("video analytics platform for crowd tracking", "crowd tracking video analytics platform"),
]

# Invented distinctive words; names are made from them so that cases never collide by accident.
SYLLABLES = "ka ro ven tal mir dos lek sar bor tin vel qua zen pol mar den fil gro har lum nor pex rav sol tek ul var wen yor zul bri cas dun eth fen gal hes ist jor kel lin mon nab ost pir rin sef tur ulm vos wyr xan yel zor".split()
GENERIC_TAILS = [
    "",
    "",
    "",
    "Systems",
    "Technologies",
    "Engineering",
    "Electronics",
    "Solutions",
    "Industries",
    "Group",
]
LEGAL = [
    "LLC",
    "Ltd",
    "Limited",
    "GmbH",
    "AG",
    "S.A.",
    "SARL",
    "S.r.l.",
    "SpA",
    "B.V.",
    "N.V.",
    "JSC",
    "PJSC",
    "FZE",
    "FZCO",
    "FZ-LLC",
    "Pte Ltd",
    "Co., Ltd.",
    "Inc.",
    "Corp.",
    "LLP",
    "PLC",
    "Sdn Bhd",
    "K.K.",
]
LEGAL_SWAP = {
    "LLC": "Limited Liability Company",
    "Ltd": "Limited",
    "Limited": "Ltd.",
    "GmbH": "G.m.b.H.",
    "AG": "Aktiengesellschaft",
    "S.A.": "SA",
    "SARL": "S.A.R.L.",
    "S.r.l.": "SRL",
    "SpA": "S.p.A.",
    "B.V.": "BV",
    "N.V.": "NV",
    "JSC": "J.S.C.",
    "PJSC": "Public Joint Stock Company",
    "FZE": "FZCO",
    "FZCO": "F.Z.C.O.",
    "FZ-LLC": "FZ LLC",
    "Pte Ltd": "Pte. Ltd.",
    "Co., Ltd.": "Company Limited",
    "Inc.": "Incorporated",
    "Corp.": "Corporation",
    "LLP": "L.L.P.",
    "PLC": "P.L.C.",
    "Sdn Bhd": "Sdn. Bhd.",
    "K.K.": "KK",
}

_used: set[str] = set()


def word() -> str:
    while True:
        w = "".join(RNG.choice(SYLLABLES) for _ in range(RNG.choice((2, 3)))).capitalize()
        if len(w) >= 5 and w[:4] not in {u[:4] for u in _used}:
            _used.add(w)
            return w


def firm(tail: bool = True) -> tuple[str, str]:
    """Two distinctive words and a generic tail: ("Ravendos Kelmir", "Systems")."""
    return f"{word()} {word()}", RNG.choice(GENERIC_TAILS) if tail else ""


def join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def lei() -> str:
    return (
        "".join(RNG.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(18))
        + f"{RNG.randrange(100):02d}"
    )


def inn() -> str:
    return "".join(RNG.choice("0123456789") for _ in range(10))


def party(
    name: str,
    role: str = "end_user",
    aliases: list[str] | None = None,
    ids: list[tuple[str, str]] | None = None,
    country: str | None = None,
) -> dict[str, Any]:
    p: dict[str, Any] = {"role": role, "name": name, "aliases": aliases or []}
    if country:
        p["country"] = country
    p["identifiers"] = [{"scheme": s, "value": v} for s, v in ids or []]
    return p


def base_of(entry: str) -> str:
    """The ITEMS key an entry belongs to (itself, an ancestor or a descendant)."""
    if entry in ITEMS:
        return entry
    for key in ITEMS:
        if entry.startswith(key) or key.startswith(entry):
            return key
    return "5A001.j"


def notice(
    n: int,
    destination: str,
    entry: str,
    parties: list[dict[str, Any]],
    description: str | None = None,
    end_use: str | None = None,
) -> dict[str, Any]:
    catch_all = entry == "catch-all"
    desc = description or ITEMS[base_of(entry)][0]
    return {
        "notice_id": f"0193b7c4-0e7a-7000-8000-{n:012d}",
        "version": 1,
        "reference": f"EVAL-2025-{n:04d}",
        "decision": "catch_all_requirement" if catch_all else "refusal",
        "decided_on": "2025-03-01",
        "valid_until": "2028-03-01",
        "regimes": ["WA", "EU"] if not catch_all else ["EU", "HRI"],
        "destination": destination,
        "items": [{"control_entry": entry, "description": desc, "quantity": "1"}],
        "parties": parties,
        "end_use": end_use or END_USES.get(base_of(entry), ("internal surveillance", ""))[0],
        "grounds": [
            {
                "code": "human-rights" if catch_all else "military-end-use",
                "text": "synthetic ground",
            }
        ],
        "public_listings": [],
        "supersedes": None,
    }


def application(
    n: int,
    destination: str,
    entry: str,
    parties: list[dict[str, Any]],
    description: str | None = None,
    end_use: str | None = None,
) -> dict[str, Any]:
    base = base_of(entry)
    return {
        "reference": f"APP-{n:04d}",
        "destination": destination,
        "items": [{"control_entry": entry, "description": description or ITEMS[base][1]}],
        "parties": parties,
        "end_use": end_use if end_use is not None else END_USES[base][1],
    }


RU_NAMES = [
    "Северный сигнал",
    "Восточный щит",
    "Кедровая связь",
    "Волжский телеком",
    "Балтийский радар",
    "Сибирская оптика",
    "Уральский вектор",
    "Ладога Электроника",
    "Полярная звезда",
    "Зенит Спецтехника",
    "Орбита Плюс",
    "Гранит Безопасность",
    "Алмаз Радиосистемы",
    "Байкал Инжиниринг",
    "Стрела Информ",
    "Таймыр Связьстрой",
    "Енисей Технологии",
    "Амурский патруль",
    "Каскад Телеметрия",
    "Меридиан Защита",
    "Сокол Навигация",
    "Вега Сенсор",
    "Ангара Микросистемы",
    "Печора Радио",
    "Кама Приборы",
    "Обь Спутник",
    "Тайга Мониторинг",
    "Чайка Оптикс",
    "Дозор Цифровые системы",
    "Щукинский опытный завод",
    "Хибины Радиолокация",
    "Жигули Электросвязь",
    "Цимлянский кабель",
    "Юрга Электроника",
    "Ямал Геофизика",
    "Чусовая Автоматика",
    "Шексна Телеком",
    "Эльбрус Спецсвязь",
    "Тобол Навигационные системы",
    "Бирюса Приборостроение",
    "Онега Интегратор",
    "Кубань Радар",
    "Иртыш Связь",
    "Мста Оптика",
    "Урюпинский сигнал",
]
_A = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e yo zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya".split(),
        strict=True,
    )
)
_B = dict(_A, й="i", ё="e", ю="iu", я="ia", ы="y")
_C = dict(_A, й="j", х="h", ц="c", ю="ju", я="ja", щ="shh")
SCHEMES = [_A, _B, _C]
RU_LEGAL = [
    ("ООО", "OOO", "LLC"),
    ("АО", "AO", "JSC"),
    ("ЗАО", "ZAO", "CJSC"),
    ("ПАО", "PAO", "PJSC"),
]


def translit(text: str, scheme: dict[str, str]) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        t = scheme.get(low, ch).replace("_", "")
        out.append(t.capitalize() if ch != low and t else t)
    return "".join(out)


AR = [
    ("شركة الصقر الذهبي للتقنية", "شركه الصقر الذهبى للتقنيه ذ.م.م", "Golden Falcon Technology"),
    ("مؤسسة الرمال البيضاء", "الرمال البيضاء", "White Sands Establishment"),
    ("شركة النخيل للاتصالات", "النخيل للاتصالات ش.م.م", "Al Nakheel Communications"),
    (
        "مجموعة الفجر للأنظمة الأمنية",
        "مجموعة الفجر للانظمة الامنية",
        "Al Fajr Security Systems Group",
    ),
    ("شركة البحر الأحمر للإلكترونيات", "البحر الاحمر للالكترونيات", "Red Sea Electronics"),
    ("شركة الواحة الرقمية", "الواحة الرقميّة", "Digital Oasis Company"),
    ("مؤسسة القمة للمراقبة", "القمة للمراقبة", "Al Qimma Monitoring"),
    ("شركة الأفق للحلول التقنية", "الافق للحلول التقنية ذ.م.م", "Horizon Technical Solutions"),
    ("شركة نجمة الخليج", "نجمة الخليج", "Najmat Al Khaleej Co."),
    ("شركة الريان للأمن", "شركة الريّان للأمن", "Al Rayyan Security"),
    ("شركة السدرة للتجهيزات", "السدرة للتجهيزات", "Al Sidra Equipment"),
    ("شركة المنارة للاتصالات", "المنارة للاتصالات ذ.م.م", "Al Manara Communications"),
]
GR = [
    ("Αιγαίο Ηλεκτρονική Α.Ε.", "Aigaio Ilektroniki S.A."),
    ("Όλυμπος Ραντάρ ΕΠΕ", "Olympos Radar EPE"),
    ("Πήγασος Συστήματα Α.Ε.", "Pigasos Systimata SA"),
    ("Κρήτη Οπτική ΙΚΕ", "Kriti Optiki IKE"),
    ("Ερμής Τηλεπικοινωνίες Α.Ε.", "Ermis Tilepikoinonies AE"),
    ("Ποσειδών Ναυτική Τεχνολογία", "Poseidon Naftiki Technologia S.A."),
    ("Αθηνά Ασφάλεια Α.Ε.", "Athina Asfaleia SA"),
    ("Ίκαρος Αεροναυπηγική", "Ikaros Aeronafpigiki"),
    ("Δήλος Δίκτυα ΕΠΕ", "Dilos Diktya Ltd"),
    ("Θεσσαλία Αισθητήρες Α.Ε.", "Thessalia Aisthitires SA"),
]
HE = [
    ('אורות מערכות בע"מ', "אורות מערכות", "Orot Systems Ltd"),
    ('כרמל אלקטרואופטיקה בע"מ', "כרמל אלקטרואופטיקה", "Carmel Electro-Optics"),
    ('גלבוע הנדסה בע"מ', "גלבוע הנדסה בע״מ", "Gilboa Engineering"),
    ("ים סוף תקשורת", 'ים סוף תקשורת בע"מ', "Yam Suf Communications"),
    ('שקד טכנולוגיות בע"מ', "שקד טכנולוגיות", "Shaked Technologies"),
    ('נחשון ביטחון בע"מ', "נחשון ביטחון", "Nachshon Security"),
    ("ערבה רובוטיקה", 'ערבה רובוטיקה בע"מ', "Arava Robotics"),
    ('תבור סייבר בע"מ', "תבור סייבר", "Tavor Cyber"),
]
ZH = [
    ("北京华信通达科技有限公司", "Beijing Huaxin Tongda Technology Co., Ltd."),
    ("深圳天眼视讯有限公司", "Shenzhen Tianyan Shixun Co., Ltd."),
    ("上海星辰电子有限公司", "Shanghai Xingchen Electronics Co., Ltd."),
    ("杭州云盾信息技术有限公司", "Hangzhou Yundun Xinxi Jishu Youxian Gongsi"),
    ("广州博瑞通信有限公司", "Guangzhou Borui Tongxin Co., Ltd."),
    ("成都蜀光光电有限公司", "Chengdu Shuguang Guangdian Co., Ltd."),
    ("武汉长江监控设备有限公司", "Wuhan Changjiang Jiankong Shebei Co., Ltd."),
    ("西安秦岭航空科技有限公司", "Xi'an Qinling Hangkong Technology Co., Ltd."),
    ("天津海河网络有限公司", "Tianjin Haihe Wangluo Co., Ltd."),
    ("南京金陵安防有限公司", "Nanjing Jinling Anfang Co., Ltd."),
]
GENERIC_PAIRS = [
    ("General Trading LLC", "General Trading FZE", "review"),
    ("Technology Solutions Ltd", "Technology Solutions Limited", "review"),
    ("Global Industrial Supply", "Global Industrial Supplies LLC", "review"),
    ("International Trading Company", "International Trading Co., Ltd.", "review"),
    ("Advanced Technologies FZE", "Advanced Technologies FZCO", "review"),
    ("Technology Solutions Ltd", "Advanced Technology Solutions Ltd", "none"),
    ("General Trading LLC", "Gulf General Trading LLC", "none"),
    ("Global Electronics Trading", "Global Electronics Supply", "none"),
    ("United Engineering Services", "United Engineering Group", "none"),
    ("Digital Security Systems", "Smart Security Systems", "none"),
    ("Smart Solutions Group", "Smart Solutions Trading", "none"),
    ("National Industrial Equipment", "National Industrial Supply", "none"),
    ("East West Trading", "East West Trading Company", "review"),
    ("Middle East Electronics", "Middle East Electronics Trading", "none"),
    ("Gulf Technology Services", "Gulf Technology Services FZE", "review"),
    ("Asia Pacific Supplies", "Asia Pacific Industrial Supplies", "none"),
    ("Euro Tech Systems", "Euro Tech Systems GmbH", "review"),
    ("New World Trading", "New World Trading Co.", "review"),
    ("Universal Supply Company", "Universal Supplies Limited", "review"),
    ("Prime Tech Solutions", "Prime Technology Solutions", "none"),
    ("Star Electronics Trading", "Star Electronics Trading LLC", "review"),
    ("First Global Logistics", "First Global Logistics Ltd", "review"),
    ("General Trading Company", "General Trade Company", "none"),
    ("Industrial Supply Services", "Industrial Supply Services Ltd", "review"),
    ("Global Networks International", "Global Networks International SA", "review"),
]


def typo(w: str) -> str:
    i = RNG.randrange(1, len(w) - 2)
    kind = RNG.choice(("swap", "drop", "double", "vowel"))
    if kind == "swap":
        return w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    if kind == "drop":
        return w[:i] + w[i + 1 :]
    if kind == "double":
        return w[:i] + w[i] + w[i:]
    vowels = [j for j in range(1, len(w)) if w[j] in "aeiou"]
    j = RNG.choice(vowels or [i])
    return w[:j] + RNG.choice([v for v in "aeiou" if v != w[j]]) + w[j + 1 :]


class Cases:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def add(
        self,
        category: str,
        why: str,
        expected: str,
        app_parties: list[dict[str, Any]],
        notice_parties: list[dict[str, Any]],
        entry: str | None = None,
        app_entry: str | None = None,
        destination: str | None = None,
        app_destination: str | None = None,
        notice_description: str | None = None,
        app_description: str | None = None,
    ) -> None:
        n = len(self.lines) + 1
        entry = entry or RNG.choice(list(ITEMS))
        destination = destination or RNG.choice(DESTINATIONS)
        self.lines.append(
            {
                "id": f"{category}-{n:03d}",
                "category": category,
                "why": why,
                "expected": expected,
                "entity": f"E{n:03d}",
                "application": application(
                    n,
                    app_destination or destination,
                    app_entry or entry,
                    app_parties,
                    app_description,
                ),
                "notice": notice(n, destination, entry, notice_parties, notice_description),
            }
        )


def build() -> list[dict[str, Any]]:
    c = Cases()
    for i, ru in enumerate(RU_NAMES[:30]):
        native, latin, english = RU_LEGAL[i % 4]
        scheme = SCHEMES[i % 3]
        lat = translit(ru, scheme).title()
        if i % 2:
            c.add(
                "translit-cyrillic",
                "same Russian firm, Cyrillic in the notice, transliterated in the application",
                "consult",
                [party(f"{lat} {english}")],
                [party(f"{native} «{ru}»", country="RU")],
                destination="RU",
            )
        else:
            c.add(
                "translit-cyrillic",
                "same Russian firm, transliterated in the notice, Cyrillic in the application",
                "consult",
                [party(f"{native} «{ru}»")],
                [party(f"{lat} {latin}", country="RU")],
                destination=RNG.choice(["RU", "BY", "KZ"]),
            )
    for native, variant, latin in AR:
        if RNG.random() < 0.5:
            c.add(
                "translit-arabic",
                "same firm written in Arabic with a different legal form or spelling",
                "consult",
                [party(variant)],
                [party(native, aliases=[latin])],
                destination=RNG.choice(["AE", "SA", "SY", "EG"]),
            )
        else:
            c.add(
                "translit-arabic",
                "notice lists the Latin trading name as an alias; application uses it",
                "consult",
                [party(f"{latin} LLC")],
                [party(native, aliases=[latin])],
                destination=RNG.choice(["AE", "SA", "SY", "EG"]),
            )
    for greek, latin in GR:
        c.add(
            "translit-greek",
            "same Greek firm, Greek script against a Latin transliteration",
            "consult",
            [party(latin)],
            [party(greek)],
            destination=RNG.choice(["TR", "RS", "EG"]),
        )
    for native, variant, latin in HE:
        if len(c.lines) % 2:
            c.add(
                "translit-hebrew",
                "same firm in Hebrew with and without the legal form",
                "consult",
                [party(variant)],
                [party(native, aliases=[latin])],
            )
        else:
            c.add(
                "translit-hebrew",
                "application uses the Latin name listed as the notice's alias",
                "consult",
                [party(latin)],
                [party(native, aliases=[latin])],
            )
    for hanzi, pinyin in ZH:
        c.add(
            "translit-chinese",
            "same Chinese firm, Chinese characters against pinyin/English",
            "consult",
            [party(pinyin)],
            [party(hanzi, country="CN")],
            destination=RNG.choice(["CN", "PK", "MM"]),
        )
    for _ in range(25):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        a, b = name.split()
        bad = f"{typo(a)} {b}" if RNG.random() < 0.5 else f"{a} {typo(b)}"
        c.add(
            "typo",
            "one misspelt letter in one word of the same firm's name",
            "consult",
            [party(join(bad, tail, legal))],
            [party(join(name, tail, legal))],
        )
    for _ in range(15):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        a, b = name.split()
        c.add(
            "reorder",
            "same firm with its words in another order",
            "consult",
            [party(join(b, a, tail, legal))],
            [party(join(name, tail, legal))],
        )
    for _ in range(25):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        other = RNG.choice([LEGAL_SWAP[legal], "", RNG.choice(LEGAL)])
        c.add(
            "legal-form",
            "same firm, legal form written differently or missing",
            "consult",
            [
                party(
                    join(name, tail, other).upper()
                    if RNG.random() < 0.2
                    else join(name, tail, other)
                )
            ],
            [party(join(name, tail, legal))],
        )
    for k in range(15):
        (old, tail), (new, _) = firm(), firm(False)
        if k % 3 == 0:
            c.add(
                "alias",
                "application's name is the notice party's alias (renamed firm)",
                "consult",
                [party(join(new, RNG.choice(LEGAL)))],
                [party(join(old, tail, "S.r.l."), aliases=[new])],
            )
        elif k % 3 == 1:
            c.add(
                "alias",
                "application lists the notice's name among its own aliases",
                "consult",
                [party(new, aliases=[join(old, tail)])],
                [party(join(old, tail, "Ltd"))],
            )
        else:
            c.add(
                "alias",
                "an alias on each side agree (trading name)",
                "consult",
                [party(join(new, "Holdings"), aliases=[f"{old} Trading"])],
                [party(join(old, tail), aliases=[f"{old} Trading", "Unrelated Acronym XJ"])],
            )
    for k in range(12):
        (name, tail), (other, _) = firm(), firm(False)
        scheme, value = ("LEI", lei()) if k % 2 else ("INN", inn())
        spaced = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        dest = RNG.choice(DESTINATIONS)
        if k < 4:
            c.add(
                "identifier",
                "same registry identifier, the end user ships to its branch in another country",
                "consult",
                [party(join(other, "LLC"), ids=[(scheme.lower(), spaced)])],
                [party(join(name, tail), ids=[(scheme, value)])],
                destination=dest,
                app_destination=RNG.choice([d for d in DESTINATIONS if d != dest]),
            )
        else:
            c.add(
                "identifier",
                "same registry identifier, the firm was renamed with no alias on file",
                "consult",
                [party(join(other, "LLC"), ids=[(scheme.lower(), spaced)])],
                [party(join(name, tail), ids=[(scheme, value)])],
                destination=dest,
            )
    for _ in range(8):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        c.add(
            "identifier-conflict",
            "near-identical names but different LEIs: two registered entities, worth a look only",
            "review",
            [party(join(name, tail, legal), ids=[("LEI", lei())])],
            [party(join(name, tail), ids=[("LEI", lei())])],
        )
    for k in range(15):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        pairs = list(BROADER.items()) + list(NARROWER.items())
        narrow, other = pairs[k % len(pairs)]
        if narrow in BROADER and BROADER[narrow] == other:
            entry, app_entry = narrow, other
            why = "application names the broader entry that covers the denied sub-item"
        else:
            entry, app_entry = narrow, other
            why = "application names a sub-item of the denied entry"
        if k % 2:
            entry, app_entry = app_entry, entry
            why = "notice and application at different levels of one entry"
        c.add(
            "item-overlap",
            why,
            "consult",
            [party(join(name, legal))],
            [party(join(name, tail, legal))],
            entry=entry,
            app_entry=app_entry,
        )
    for k in range(15):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        entry = list(UNRELATED)[k % len(UNRELATED)]
        c.add(
            "item-disjoint",
            "same party and destination but a different, non-overlapping item: a different transaction",
            "review",
            [party(join(name, tail, legal))],
            [party(join(name, tail, legal))],
            entry=entry,
            app_entry=UNRELATED[entry],
            app_description="general purpose equipment of another kind",
        )
    for _ in range(15):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        dest = RNG.choice(DESTINATIONS)
        c.add(
            "destination-differs",
            "same party name and item, but another destination and no identifier",
            "review",
            [party(join(name, tail, legal))],
            [party(join(name, tail, legal))],
            destination=dest,
            app_destination=RNG.choice([d for d in DESTINATIONS if d != dest]),
        )
    for app_name, notice_name, expected in GENERIC_PAIRS:
        c.add(
            "generic-name",
            "generic business name: different companies unless something else ties them",
            expected,
            [party(app_name)],
            [party(notice_name)],
            destination="AE",
        )
    for k in range(25):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        a, b = name.split()
        other = f"{a} {word()}" if k % 2 else f"{word()} {b}"
        c.add(
            "different-entity",
            "shares one distinctive word with the denied party, otherwise a different firm",
            "none",
            [party(join(other, tail, legal))],
            [party(join(name, tail, legal))],
        )
    for k in range(20):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        denied, applied = CATCH_ALL[k % len(CATCH_ALL)]
        if k < 10:
            c.add(
                "catch-all",
                "catch-all denial; same end user and destination, a similar unlisted item",
                "consult",
                [party(join(name, legal))],
                [party(join(name, tail, legal))],
                entry="catch-all",
                app_entry="catch-all",
                notice_description=denied,
                app_description=applied,
            )
        elif k < 15:
            c.add(
                "catch-all",
                "catch-all denial; same end user and destination, now a listed item of the same kind",
                "consult",
                [party(join(name, tail))],
                [party(join(name, tail, legal))],
                entry="catch-all",
                app_entry="6A003.b",
                notice_description=denied,
                app_description=f"{applied}, thermal imaging",
            )
        else:
            c.add(
                "catch-all-negative",
                "catch-all denial for another end user in the same destination",
                "none",
                [party(join(*firm()))],
                [party(join(name, tail, legal))],
                entry="catch-all",
                app_entry="catch-all",
                notice_description=denied,
                app_description=applied,
            )
    for k in range(15):
        ru = RU_NAMES[30 + k]
        native, latin, english = RU_LEGAL[k % 4]
        lat = translit(ru, SCHEMES[(k + 1) % 3]).title()
        words = lat.split()
        entry = RNG.choice(list(BROADER))
        c.add(
            "combined",
            "transliterated, words reordered, another legal form and the broader entry",
            "consult",
            [party(join(*reversed(words), english))],
            [party(f"{native} «{ru}»", country="RU")],
            entry=entry,
            app_entry=BROADER[entry],
            destination="RU",
        )
    for _ in range(8):
        (name, tail), legal = firm(), RNG.choice(LEGAL)
        c.add(
            "role-swap",
            "the denied end user now appears as the consignee",
            "consult",
            [
                party(join(*firm()), role="end_user"),
                party(join(name, tail, legal), role="consignee"),
            ],
            [party(join(name, tail, legal), role="end_user")],
        )
    for _ in range(8):
        (user, _t), (cons, tail), legal = firm(), firm(), RNG.choice(LEGAL)
        c.add(
            "multi-party",
            "same consignee and item; the application names a new end user behind it",
            "consult",
            [
                party(join(*firm()), role="end_user"),
                party(join(cons, tail, legal), role="consignee"),
            ],
            [
                party(join(user, "Ltd"), role="end_user"),
                party(join(cons, tail, legal), role="consignee"),
            ],
        )
    return c.lines


def main() -> None:
    lines = build()
    with OUT.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {len(lines)} cases to {OUT}")


if __name__ == "__main__":
    main()
