"""Party names and identifiers as comparable keys: script, case, punctuation, legal forms, order.

`ООО «Северный сигнал»`, `Severnyi Signal OOO` and `Severny Signal LLC` all normalise to
`severny signal`. Steps: Unicode NFKC; native-script legal forms and quotes removed (ООО,
株式会社, 有限公司, شركة, בע"מ, ...); CJK written one syllable per token; transliteration to
Latin with `anyascii`; casefold; dotted abbreviations joined (`S. A.` -> `sa`); punctuation
removed; legal forms dropped in many languages; a light phonetic fold per token (`kh` -> `h`,
`-yy`/`-iy`/`-yi` -> `-y`, doubled letters single, ...). How similar two keys are is left to
service.screening.scoring. Pure functions (with a bounded memo cache).
"""

import functools
import itertools
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from anyascii import anyascii

# Legal forms, as single tokens after punctuation is removed (dotted forms are joined first).
LEGAL_FORMS = frozenset(
    """
    llc ltd limited inc incorporated corp corporation co company plc llp lp pllc
    gmbh mbh ag kg ohg ug ev gbr kgaa se sa sas sasu sarl sca snc eurl spa srl srls sapa
    sl slu bv nv bvba vof cv aps as asa ab oy oyj hf kft zrt nyrt sro as doo dd ad ood eood
    sp zoo spzoo ooo oao zao pao ao tov pat prat jsc pjsc ojsc cjsc ojs tdv
    gongsi youxian youxiangongsi fze fzco fzc fzllc fz dmcc pte pvt private bhd sdn tbk pt cv kk gk yk
    ae epe oe ee ike mepe
    sae saoc saog wll bsc qsc qpsc kscc spc
    dhmm shmm shm shmh shrh shrkh shrkt sharikat mussh muassasa too tov chp odo npp
    aktiengesellschaft gesellschaft
    """.split()
)
# Legal forms of several words (matched as whole token runs, after folding).
LEGAL_PHRASES = (
    "obshchestvo s ogranichennoy otvetstvennostyu",
    "aktsionernoe obshchestvo",
    "zakrytoe aktsionernoe obshchestvo",
    "otkrytoe aktsionernoe obshchestvo",
    "publichnoe aktsionernoe obshchestvo",
    "societe anonyme",
    "societe a responsabilite limitee",
    "societa a responsabilita limitata",
    "sociedad anonima",
    "sociedad limitada",
    "you xian gong si",
    "youxian gongsi",
    "you xian ze ren gong si",
    "gu fen you xian gong si",
    "gong si",
    "zhu shi hui she",
    "you xian hui she",
    "sharikat",
    "public joint stock company",
    "joint stock company",
    "closed joint stock company",
    "open joint stock company",
    "limited liability company",
    "limited liability partnership",
    "public limited company",
    "private limited company",
    "mit beschrankter haftung",
    "anonymi etaireia",
    "anonymos etaireia",
    "societe par actions simplifiee",
)
# Legal forms in scripts without word breaks (or with quote marks inside), removed before
# transliteration; the others (ООО, АО, شركة, Α.Ε., ...) are removed as transliterated tokens.
NATIVE_LEGAL = (
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "有限公司",
    "株式会社",
    "有限会社",
    "合同会社",
    "公司",
    "주식회사",
    "유한회사",
    'בע"מ',
    "בע״מ",
    "בע'מ",
)
# Common business words in several languages: they say little about who a party is.
GENERIC_WORDS = frozenset(
    """
    general trading trade traders trader commercial commerce technology technologies tech
    techno solution solutions system systems service services international intl global
    group holding holdings industrial industries industry supply supplies supplier
    engineering import export imports exports enterprise enterprises consulting consultancy
    consultants development electronics electronic electric security securities
    manufacturing production products product logistics distribution equipment
    investment investments management partners partner associates agency center centre
    research science scientific innovation innovations innovative advanced new first
    national united universal world worldwide east west north south eastern western
    northern southern middle asia europe euro america american africa gulf pacific
    star prime smart digital networks network communications telecom telecommunications
    data information software hardware resources energy power machinery machines
    instruments devices components parts materials chemicals chemical marketing media
    sales business enterprise venture ventures projects project
    the and of for al el de la le du der die das und et y e da do
    handel handels handelsgesellschaft technik technologie dienstleistungen industrie
    societe compagnie generale commerciale internationale sociedad compania comercial
    tecnologia servicios industrias soluciones societa commerciale tecnologie
    torgovy torgovyy torgovaya tekhnologii tehnologii tekhnologiya sistemy servis
    kompaniya gruppa mezhdunarodnaya promyshlennaya proizvodstvennaya inzhiniring
    tijara tijariya tijaria tjrh tjary mh amh ama amma dwlyh tqnyh tslt lktrwnyt mn tjhyzt
    hlwl mnyh ndhmh mjmwh
    technologia technologias texnologia tekhnologia
    jishu keji maoyi guoji jituan dianzi shiye fazhan gongye
    """.split()
)

MAX_NAME_CHARS = 300  # the wire schema's limit for a name; longer input is cut, not refused
MAX_TOKENS = 16
MAX_ALIASES = 50  # the wire schema's limit: a name and at most 50 aliases are compared

_NATIVE_GENERIC = {
    "科技": " technology ",
    "技术": " technology ",
    "貿易": " trading ",
    "贸易": " trading ",
    "国际": " international ",
    "國際": " international ",
    "集团": " group ",
    "集團": " group ",
    "电子": " electronics ",
    "實業": " industrial ",
    "实业": " industrial ",
    "工业": " industrial ",
    "发展": " development ",
}
_QUOTES = re.compile(r"[«»„“”‟\"‚‛‹›「」『』《》〈〉]")
_CJK_CHARS = r"\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_NATIVE = re.compile(
    "|".join(
        re.escape(form) if re.match(f"[{_CJK_CHARS}]", form) else rf"(?<!\w){re.escape(form)}(?!\w)"
        for form in sorted(NATIVE_LEGAL, key=len, reverse=True)
    )
)
_NATIVE_GEN = re.compile("|".join(map(re.escape, _NATIVE_GENERIC)))
_MARKS = re.compile(r"[\u0591-\u05c7\u064b-\u065f\u0670\u0640]")  # niqqud, harakat, tatweel
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_ARTICLE = re.compile(r"(?<![\u0600-\u06ff])(?:لل|ال)(?=[\u0600-\u06ff]{2,})")
_CJK = re.compile(
    r"([\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff])"
)
_DOTTED = re.compile(r"(?<![^\W_])[^\W\d_]\.\s?(?:[^\W\d_]\.\s?)*[^\W\d_](?![^\W_])\.?")
_SILENT = re.compile(r"['`ʼʻ]")  # aleph, ayin, hamza transliterated: not word breaks
_NON_WORD = re.compile(r"[\W_]+")
_FINAL_Y = re.compile(r"(?:yy|iy|yi|ij|yj|ii|ji)$")
_DOUBLE = re.compile(r"([a-z])\1+")
_FOLDS = (
    ("kh", "h"),
    ("ph", "f"),
    ("ck", "k"),
    ("w", "v"),
    ("q", "k"),
    ("x", "ks"),
    ("ou", "u"),
    ("j", "y"),
    ("tz", "c"),
    ("ts", "c"),
)
_VOWEL_Y = re.compile(r"(?<=[aeiou])y(?=[^aeiouy])")  # Baykal, Baikal


@dataclass(frozen=True, slots=True)
class NameKey:
    """A name ready for comparison: folded tokens in written order, which are generic."""

    tokens: tuple[str, ...]
    generic: tuple[bool, ...]
    compact: str  # the tokens run together, for `SevernySignal` vs `Severny Signal`
    joined: tuple[str, ...] = ()  # CJK syllable pairs (`bei jing` -> `beijing`), lookup only

    @property
    def specific(self) -> bool:
        """True if at least one token is not a common business word."""
        return not all(self.generic)

    @property
    def distinctive(self) -> tuple[str, ...]:
        return tuple(t for t, g in zip(self.tokens, self.generic, strict=True) if not g)


@functools.lru_cache(maxsize=1 << 16)
def fold(token: str) -> str:
    """The phonetic fold of one ASCII lower-case token (symmetric, so only ever coarser)."""
    for before, after in _FOLDS:
        token = token.replace(before, after)
    if len(token) > 4:
        token = _FINAL_Y.sub("y", token)
    token = _VOWEL_Y.sub("i", token)
    return _DOUBLE.sub(r"\1", token)


_GENERIC = frozenset(fold(w) for w in GENERIC_WORDS)
_LEGAL = frozenset(fold(w) for w in LEGAL_FORMS)
_PHRASES = tuple(
    sorted((tuple(fold(w) for w in p.split()) for p in LEGAL_PHRASES), key=len, reverse=True)
)
_PHRASE_STARTS = frozenset(p[0] for p in _PHRASES)


def _undot(match: re.Match[str]) -> str:
    return match.group(0).replace(".", "").replace(" ", "") + " "


def _latin(name: str) -> str:
    text = unicodedata.normalize("NFKC", name[:MAX_NAME_CHARS])
    if text.isascii():
        return _SILENT.sub("", _DOTTED.sub(_undot, text)).casefold()
    text = _QUOTES.sub(" ", _NATIVE.sub(" ", _MARKS.sub("", text)))
    text = _ARTICLE.sub("", text.translate(_ARABIC_FOLD))
    text = _NATIVE_GEN.sub(lambda m: _NATIVE_GENERIC[m.group(0)], text)
    text = _CJK.sub(r" \1 ", text)
    text = _DOTTED.sub(_undot, text)
    return _SILENT.sub("", anyascii(text)).casefold()


def _drop_legal(raw: list[str]) -> list[str]:
    kept = list(raw)
    if not _PHRASE_STARTS.isdisjoint(kept):
        for phrase in _PHRASES:  # longest first
            n = len(phrase)
            i = 0
            while i + n <= len(kept):
                if tuple(kept[i : i + n]) == phrase:
                    del kept[i : i + n]
                else:
                    i += 1
    kept = [t for t in kept if t not in _LEGAL]
    return kept or raw  # a name that is nothing but a legal form keeps it


def _tokens(name: str) -> tuple[str, ...]:
    raw = [fold(t) for t in _NON_WORD.split(_latin(name)) if t]
    return tuple(_drop_legal(raw)[:MAX_TOKENS])


@functools.lru_cache(maxsize=1 << 17)
def name_key(name: str) -> NameKey:
    """The comparison key of one name (memoised: names recur across notices)."""
    toks = tuple(sys.intern(t) for t in _tokens(name))  # the same words recur in many names
    cjk = _CJK.search(name) is not None  # pinyin syllables (`da`, `he`) are not common words
    generic = tuple((t in _GENERIC and not (cjk and len(t) < 4)) or len(t) <= 1 for t in toks)
    compact = "".join(toks)
    joined: tuple[str, ...] = ()
    if cjk:
        joined = tuple(a + b for a, b in itertools.pairwise(toks))
    return NameKey(toks, generic, compact, joined)


@functools.lru_cache(maxsize=1 << 16)
def lookup_keys(key: NameKey) -> frozenset[str]:
    """The words by which a name is looked up: every token, the run-together form, CJK
    syllable pairs, and 5-letter prefixes of distinctive words (late typos). Common words
    are kept: retrieval decides, by document frequency, what they are worth."""
    words = set(key.distinctive) or set(key.tokens)
    keys = {f"t:{w}" for w in key.tokens}
    keys.update(f"p:{w[:5]}" for w in words if len(w) >= 6)
    keys.update(f"t:{w}" for w in key.joined)
    if len(key.tokens) > 1:
        keys.add(f"t:{key.compact}")
    return frozenset(keys)


NameKeys = tuple[tuple[NameKey, ...], ...]  # per party: the key of its name, then its aliases


def party_keys(names_per_party: Iterable[Sequence[str]]) -> NameKeys:
    """The name keys of every party (its name and at most MAX_ALIASES aliases), computed
    once per notice and kept by the index, so that scoring never re-normalises them."""
    return tuple(
        tuple(name_key(name) for name in names[: MAX_ALIASES + 1]) for names in names_per_party
    )


def tokens(name: str) -> tuple[str, ...]:
    """The normalised tokens of a name in written order, legal forms removed."""
    return name_key(name).tokens


def normalise(name: str) -> str:
    """The order-free normal form: the tokens sorted and joined by single spaces."""
    return " ".join(sorted(name_key(name).tokens))


def is_generic(token: str) -> bool:
    """True for a (folded) common business word that says little about who a party is."""
    return token in _GENERIC or len(token) <= 1


_ID_STRIP = re.compile(r"[\s\-./]+")


def identifier_key(scheme: str, value: str) -> str:
    """`LEI:529900T8BM49AURSDO55`: scheme upper-cased, value without spaces, dashes or dots."""
    clean = _ID_STRIP.sub("", unicodedata.normalize("NFKC", value)).upper()
    return f"{scheme.strip().upper()}:{clean}"
