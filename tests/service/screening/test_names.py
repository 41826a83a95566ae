"""Name normalisation: scripts, legal forms, punctuation and word order stop mattering."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.screening import names
from service.screening.names import identifier_key, is_generic, name_key, normalise, tokens

SAME = [
    ("ООО «Северный сигнал»", "Severnyi Signal OOO"),
    ("ООО «Северный сигнал»", "Severny Signal LLC"),
    ("Severnyy Signal", "SEVERNYJ SIGNAL, LLC"),
    ("Акционерное общество «Каскад»", "Kaskad JSC"),
    ("Общество с ограниченной ответственностью «Ромашка»", "Romashka OOO"),
    ("Hacking Team S.r.l.", "Hacking Team SRL"),
    ("Foo Bar S. A.", "Foo Bar SA"),
    ("Acme Widgets Co., Ltd.", "ACME WIDGETS COMPANY LIMITED"),
    ("Acme Widgets Pte. Ltd.", "Acme Widgets"),
    ("Orbital Dynamics FZ-LLC", "Orbital Dynamics FZE"),
    ("Orbital Dynamics Sdn. Bhd.", "Orbital Dynamics GmbH"),
    ("Kelmir Ravendos Public Joint Stock Company", "Kelmir Ravendos PJSC"),
    ("Ravendos Kelmir", "Kelmir Ravendos"),
    ("Ελληνική Τεχνολογία Α.Ε.", "Elliniki Technologia AE"),
    ('אלביט מערכות בע"מ', "אלביט מערכות"),
    ("شركة الأفق للحلول التقنية", "الافق للحلول التقنية ذ.م.م"),
    ("Baikal Radar", "Baykal Radar"),
    ("Sokol Navigatsiya", "Sokol Navigacija"),
    ("ＡＣＭＥ Ｒａｄａｒ", "Acme Radar"),
    ("株式会社東芝", "東芝"),
]
DIFFERENT = [
    ("Severny Signal", "Severny Metallurg"),
    ("Acme Radar", "Acme Radio"),
    ("ТАОС", "Тос"),  # АО inside a word is not a legal form
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_spellings_of_one_name_normalise_alike(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_names_stay_different(a: str, b: str) -> None:
    assert normalise(a) != normalise(b)


def test_examples_of_the_normal_form() -> None:
    assert normalise("ООО «Северный сигнал»") == "severny signal"
    assert tokens("Signal Severny LLC") == ("signal", "severny")
    assert normalise("Signal Severny LLC") == "severny signal"
    assert normalise("LLC") == "lc"  # nothing but a legal form: kept (folded), not emptied
    assert normalise("") == "" and tokens("  ,. ") == ()


def test_cjk_is_read_syllable_by_syllable_and_compared_run_together() -> None:
    hanzi = name_key("北京华信通达科技有限公司")
    latin = name_key("Beijing Huaxin Tongda Technology Co., Ltd.")
    assert hanzi.compact == latin.compact == "beiyinghuaksintongdatechnology"
    assert "t:beiying" in names.lookup_keys(hanzi)


def test_common_business_words_are_marked_generic() -> None:
    key = name_key("Al Noor General Trading Co.")
    assert [t for t, g in zip(key.tokens, key.generic, strict=True) if not g] == ["nor"]
    assert not name_key("General Trading LLC").specific
    assert is_generic("trading") and is_generic("x") and not is_generic("severny")


@pytest.mark.parametrize(
    ("scheme", "value", "key"),
    [
        ("LEI", "5299 00T8-BM49.AURSDO55", "LEI:529900T8BM49AURSDO55"),
        ("lei", "529900t8bm49aursdo55", "LEI:529900T8BM49AURSDO55"),
        (" inn ", "7701 234 567", "INN:7701234567"),
        ("VAT", "DE-123.456.789", "VAT:DE123456789"),
    ],
)
def test_identifier_keys(scheme: str, value: str, key: str) -> None:
    assert identifier_key(scheme, value) == key


@given(st.text(max_size=400))
def test_normalise_never_raises_and_is_bounded(text: str) -> None:
    key = name_key(text)
    assert len(key.tokens) <= names.MAX_TOKENS
    assert normalise(text) == " ".join(sorted(key.tokens))
    assert all(t.isascii() for t in key.tokens)


_WORD = st.from_regex(r"[a-z]{3,9}", fullmatch=True).filter(
    lambda w: names.fold(w) not in names._LEGAL and names.fold(w) not in names._PHRASE_STARTS
)


@given(st.lists(_WORD, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_word_order_does_not_matter(words: list[str], rng: object) -> None:
    shuffled = list(words)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert normalise(" ".join(words)) == normalise(" ".join(shuffled))
