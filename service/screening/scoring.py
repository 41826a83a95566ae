"""How alike an application and one notice are: a score in [0, 1], a verdict, and why.

score = 0.50 parties + 0.30 items + 0.15 destination + 0.05 end use, each feature in [0, 1]
(docs/decisions/0014-screening.md). Which notices get scored is left to
service.screening.index; names become keys in service.screening.names. Pure functions.
"""

import functools
import re
from dataclasses import dataclass
from typing import Any

from anyascii import anyascii
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from service.notices.control import CATCH_ALL, covers
from service.screening.model import Application, ItemRecord, Match, NoticeRecord, Thresholds
from service.screening.names import (
    MAX_ALIASES,
    NameKey,
    NameKeys,
    identifier_key,
    lookup_keys,
    name_key,
    party_keys,
)

WEIGHTS = {"parties": 0.50, "items": 0.30, "destination": 0.15, "end_use": 0.05}
GENERIC_WEIGHT = 0.3  # weight of a common business word against 1.0 for a distinctive one
GENERIC_CAP = 0.75  # scales the similarity of a name made only of common words
NAME_FLOOR = 0.5  # name similarity at or below this is no evidence at all
TOKEN_MIN = 0.75  # a token pair less alike than this counts as different words
COMPACT_MIN = 0.88  # run-together spelling (`SevernySignal`) counts from this ratio
CORE_MIN_CHARS = 10  # the distinctive words run together are compared from this length
CORE_FACTOR = 0.95  # ... and never count as a full match
ROLE_FACTOR = 0.95  # same entity in another role (consignee here, end-user there)
CONFLICT_CAP = 0.5  # party strength when both carry the same scheme with different values
MAX_NAMES_PER_PARTY = MAX_ALIASES + 1
MAX_NAME_PAIRS = 48  # name comparisons per application/notice pair, most shared keys first
MAX_FANOUT = 64  # a lookup word shared by more application names pre-selects none of them
MAX_ITEMS = 100  # items considered on each side (the wire schema's limit)
MAX_DESCRIPTION_PAIRS = 10


# item score = base + slope * description similarity, by how the control entries relate
RELATION_BASE = {"same": 1.0, "covers": 0.9, "covered_by": 0.9, "catch-all": 0.6, "none": 0.0}
RELATION_SLOPE = {"same": 0.0, "covers": 0.1, "covered_by": 0.1, "catch-all": 0.4, "none": 0.3}
MAX_TEXT_CHARS = 2000  # descriptions and end uses are compared on their first 2,000 characters
MAX_WORDS = 200
_STOP = frozenset(
    "a an the and or of for to in on with by from as at is are be this that its into per "
    "other than not all any such used use using which including based".split()
)
_WORD = re.compile(r"[^\W_]{2,}")


@functools.lru_cache(maxsize=1 << 15)
def words(text: str) -> frozenset[str]:
    """The content words of a description or end use (bounded: first MAX_TEXT_CHARS)."""
    head = text[:MAX_TEXT_CHARS].casefold()
    if not head.isascii():
        head = anyascii(head).casefold()
    found: list[str] = []
    for word in _WORD.findall(head):
        if word not in _STOP:
            found.append(word)
            if len(found) >= MAX_WORDS:
                break
    return frozenset(found)


def text_similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared content words over the smaller set (at least 3), in [0, 1]."""
    if not a or not b:
        return 0.0
    return len(a & b) / max(3, min(len(a), len(b)))


def entry_relation(app_entry: str, notice_entry: str) -> str:
    """How an application's control entry relates to a notice's."""
    if CATCH_ALL in (app_entry, notice_entry):
        return "catch-all"
    if app_entry == notice_entry:
        return "same"
    if covers(app_entry, notice_entry):
        return "covers"
    if covers(notice_entry, app_entry):
        return "covered_by"
    return "none"


@dataclass(frozen=True, slots=True)
class AppName:
    party: int
    position: int  # 0 = the name, >0 = an alias
    written: str
    key: NameKey
    keys: frozenset[str]  # its lookup keys


@dataclass(frozen=True, slots=True)
class PreparedApplication:
    """An application with its names, identifiers and texts turned into keys, once per screening."""

    app: Application
    names: tuple[AppName, ...]
    lookup: dict[str, tuple[int, ...]]  # name lookup key -> indexes into names
    lookup_set: frozenset[str]  # its keys
    by_identifier: dict[str, tuple[int, ...]]  # identifier key -> application parties
    schemes: tuple[frozenset[str], ...]  # per party
    item_words: tuple[frozenset[str], ...]
    end_use_words: frozenset[str]


def prepare(app: Application) -> PreparedApplication:
    names: list[AppName] = []
    lookup: dict[str, list[int]] = {}
    by_identifier: dict[str, set[int]] = {}
    for p, party in enumerate(app.parties):
        for scheme, value in party.identifiers:
            by_identifier.setdefault(identifier_key(scheme, value), set()).add(p)
    for p, party in enumerate(app.parties):
        for position, written in enumerate(party.names[:MAX_NAMES_PER_PARTY]):
            key = name_key(written)
            if not key.tokens:
                continue
            keys = frozenset(lookup_keys(key))
            for k in keys:
                lookup.setdefault(k, []).append(len(names))
            names.append(AppName(p, position, written, key, keys))
    selective = {k: tuple(v) for k, v in lookup.items() if len(v) <= MAX_FANOUT}
    return PreparedApplication(
        app=app,
        names=tuple(names),
        lookup=selective,
        lookup_set=frozenset(selective),
        by_identifier={k: tuple(sorted(v)) for k, v in by_identifier.items()},
        schemes=tuple(frozenset(s.strip().upper() for s, _ in p.identifiers) for p in app.parties),
        item_words=tuple(words(i.description) for i in app.items[:MAX_ITEMS]),
        end_use_words=words(app.end_use),
    )


def _coverage(a: NameKey, b: NameKey) -> float:
    """The weighted share of a's tokens found in b, each at its best match: 1 if equal, else
    (both of 4 letters or more) the OSA similarity if at least TOKEN_MIN, else 0. The search
    over b's tokens runs in rapidfuzz's C loop."""
    others = frozenset(b.tokens)
    longer = [t for t in b.tokens if len(t) >= 4]
    total = found = 0.0
    for token, generic in zip(a.tokens, a.generic, strict=True):
        weight = GENERIC_WEIGHT if generic else 1.0
        total += weight
        if token in others:
            found += weight
        elif len(token) >= 4 and longer:
            best = process.extractOne(
                token, longer, scorer=OSA.normalized_similarity, score_cutoff=TOKEN_MIN
            )
            if best is not None:
                found += weight * best[1]
    return found / total


@functools.lru_cache(maxsize=1 << 16)
def name_similarity(a: NameKey, b: NameKey) -> float:
    """Weighted token agreement of two name keys in [0, 1], word order ignored; a name made
    only of common words is scaled down by GENERIC_CAP (so never more than 0.75)."""
    if not a.tokens or not b.tokens:
        return 0.0
    sa, sb = _coverage(a, b), _coverage(b, a)
    sim = 0.0 if sa + sb == 0 else 2 * sa * sb / (sa + sb)
    if a.specific and b.specific and sim < 1.0:
        compact = fuzz.ratio(a.compact, b.compact) / 100
        if compact >= COMPACT_MIN:
            sim = max(sim, compact)
        core_a, core_b = "".join(a.distinctive), "".join(b.distinctive)
        if min(len(core_a), len(core_b)) >= CORE_MIN_CHARS:  # `keji`/`科技` spelt apart
            core = fuzz.ratio(core_a, core_b) / 100
            if core >= COMPACT_MIN:
                sim = max(sim, CORE_FACTOR * core)
    if not a.specific or not b.specific:
        sim *= GENERIC_CAP
    return sim


def _strength(similarity: float) -> float:
    return max(0.0, (similarity - NAME_FLOOR) / (1.0 - NAME_FLOOR))


def _parties(
    prep: PreparedApplication, notice: NoticeRecord, names: NameKeys
) -> list[dict[str, Any]]:
    """Every notice party that matches an application party, strongest first."""
    found: dict[tuple[int, int], dict[str, Any]] = {}
    budget = MAX_NAME_PAIRS
    for q, party in enumerate(notice.parties):
        ids = {identifier_key(s, v) for s, v in party.identifiers}
        schemes = {s.strip().upper() for s, _ in party.identifiers}
        for ident in sorted(ids):
            for p in prep.by_identifier.get(ident, ()):
                if (p, q) not in found:
                    found[(p, q)] = _detail(
                        prep, p, party, "identifier", 1.0, 1.0, identifier=ident
                    )
        for position, (written, key) in enumerate(zip(party.names, names[q], strict=False)):
            if budget <= 0:
                break
            shared: dict[int, int] = {}
            for k in lookup_keys(key) & prep.lookup_set:
                for i in prep.lookup[k]:
                    shared[i] = shared.get(i, 0) + 1
            near = sorted(shared, key=lambda i: (-shared[i], i))[:budget]
            budget -= len(near)
            for i in near:
                app_name = prep.names[i]
                pair = (app_name.party, q)
                if pair in found and found[pair]["via"] == "identifier":
                    continue
                sim = name_similarity(app_name.key, key)
                strength = _strength(sim)
                conflict = bool(schemes & prep.schemes[app_name.party])
                if conflict:
                    strength = min(strength, CONFLICT_CAP)
                if prep.app.parties[app_name.party].role != party.role:
                    strength *= ROLE_FACTOR
                if strength > 0 and strength > found.get(pair, {}).get("strength", 0.0):
                    via = "alias" if position or app_name.position else "name"
                    found[pair] = _detail(prep, app_name.party, party, via, sim, strength)
                    found[pair].update(
                        application_name=app_name.written,
                        notice_name=written,
                        identifier_conflict=conflict,
                    )
    return sorted(found.values(), key=lambda d: -float(d["strength"]))


def _detail(
    prep: PreparedApplication,
    p: int,
    party: Any,
    via: str,
    similarity: float,
    strength: float,
    identifier: str | None = None,
) -> dict[str, Any]:
    app_party = prep.app.parties[p]
    detail: dict[str, Any] = {
        "application_name": app_party.names[0] if app_party.names else "",
        "notice_name": party.names[0] if party.names else "",
        "application_role": app_party.role,
        "notice_role": party.role,
        "via": via,
        "similarity": round(similarity, 4),
        "strength": round(strength, 4),
    }
    if identifier is not None:
        detail["identifier"] = identifier
    return detail


def _items(prep: PreparedApplication, notice: NoticeRecord) -> dict[str, Any]:
    """The best pair of an application item and a notice item (distinct entries related once)."""
    mine: dict[str, list[int]] = {}
    for i, item in enumerate(prep.app.items[:MAX_ITEMS]):
        mine.setdefault(item.control_entry, []).append(i)
    theirs: dict[str, list[ItemRecord]] = {}
    for item in notice.items[:MAX_ITEMS]:
        theirs.setdefault(item.control_entry, []).append(item)
    related = sorted(
        ((entry_relation(a, n), a, n) for a in mine for n in theirs),
        key=lambda r: (-RELATION_BASE[r[0]], r[1], r[2]),
    )
    best: dict[str, Any] = {"relation": "none", "score": 0.0}
    pairs = 0
    for relation, a, n in related:
        for i in mine[a]:
            for item in theirs[n]:
                if pairs >= MAX_DESCRIPTION_PAIRS:
                    return best
                pairs += 1
                desc = text_similarity(prep.item_words[i], words(item.description))
                value = min(1.0, RELATION_BASE[relation] + RELATION_SLOPE[relation] * desc)
                if value > best["score"] or "application_entry" not in best:
                    best = {
                        "application_entry": a,
                        "notice_entry": n,
                        "relation": relation,
                        "description_similarity": round(desc, 4),
                        "score": round(value, 4),
                    }
    return best


def score_prepared(
    prep: PreparedApplication,
    notice: NoticeRecord,
    thresholds: Thresholds,
    names: NameKeys | None = None,
) -> Match | None:
    """The match of one notice against a prepared application, or None below `review`.
    `names` are the notice's name keys when the caller keeps them (the index does)."""
    if names is None:
        names = party_keys(party.names for party in notice.parties)
    parties = _parties(prep, notice, names)
    if not parties:
        return None
    party_score = float(parties[0]["strength"])
    items = _items(prep, notice)
    same_destination = prep.app.destination == notice.destination
    end_use = text_similarity(prep.end_use_words, words(notice.end_use))
    total = (
        WEIGHTS["parties"] * party_score
        + WEIGHTS["items"] * float(items["score"])
        + WEIGHTS["destination"] * (1.0 if same_destination else 0.0)
        + WEIGHTS["end_use"] * end_use
    )
    capped = None
    if not same_destination and not any(p["via"] == "identifier" for p in parties):
        if total >= thresholds.consult:
            total, capped = thresholds.consult - 0.01, "different destination, no identifier"
    total = round(min(1.0, total), 4)
    if total < thresholds.review:
        return None
    verdict = "consult" if total >= thresholds.consult else "review"
    features: dict[str, Any] = {
        "destination": {
            "application": prep.app.destination,
            "notice": notice.destination,
            "match": same_destination,
        },
        "items": items,
        "parties": parties[:10],
        "end_use": {"similarity": round(end_use, 4)},
        "weights": WEIGHTS,
        "capped": capped,
    }
    return Match(notice.origin, notice.notice_id, notice.version, total, verdict, features)


def score(app: Application, notice: NoticeRecord, thresholds: Thresholds) -> Match | None:
    """The match of one notice against an application, or None when below `review`."""
    return score_prepared(prepare(app), notice, thresholds)
