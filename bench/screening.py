"""Screening benchmark: index build and memory at a million notices, incremental updates,
in-process screening latency, and a brute-force rapidfuzz scan as the baseline.

    python bench/screening.py [--notices 1000000] [--applications 1000] [--baseline-apps 20]
                              [--updates 1000] [--seed N] [--quick] [--markdown FILE]
                              [--no-http]

1. Generates `--notices` synthetic active notices from 40 origins (bench/screening_data.py:
   §6 bodies with names in several scripts and languages, generic business words as frequent
   as in real data, shared entities written differently by different origins, identifiers,
   ~200 destinations, surveillance / dual-use / munitions control entries, ~10 % catch-all)
   straight into `NoticeRecord`s with `notice_record(origin, body)`.
2. Times `Screener.add` of all of them -> build rate (and the rate of the first and last
   tenth, flat if an add costs O(1)); RSS (VmRSS) before and after, peak (VmHWM) -> MB and
   bytes per notice. The build runs with `denex serve`'s GC settings (service.runtime
   GC_THRESHOLD); afterwards everything is frozen (`gc.freeze`), as `tune_gc` does in serve.
3. On the full index: adds `--updates` new notices, replaces as many (amendments) and
   removes as many (revocations), each timed alone -> µs per update, beside the full build
   time and the mean add cost during the build (an update costs about one add, not a
   rebuild); then checks that the new, amended and revoked notices screen as they should.
4. Screens `--applications` applications in this process, on one thread (the engine and
   this script start none; the CPU time of each screen is measured beside its wall time):
   ~40 % derived from existing notices with one realistic variation (transliteration, typo,
   word order, legal form, alias, parent control entry, identifier only, verbatim), ~30 %
   generic names that hit the longest posting lists, ~30 % unrelated -> p50/p95/p99/max
   against the target p95 < 50 ms, and the share of derived applications whose source notice
   is among the matches (a sanity check, printed, never asserted).
5. Baseline in the same run: for the first `--baseline-apps` of those applications, every
   party name (normalised with service.screening.names.normalise) is compared with
   `rapidfuzz.process.extract(..., scorer=fuzz.token_sort_ratio, score_cutoff=80)` against
   the normalised names and aliases of all indexed notices (the list is made before the
   clock starts; one thread) -> median per application and the ratio baseline / indexed on
   the same applications. The baseline only compares names: a full brute-force screen would
   cost more.

Every figure is printed beside its target in one table; `--markdown FILE` appends that table
(and the found-by-variation line) with the date and the machine to FILE. All data is
synthetic: real denial notices are confidential.

6. Over HTTP (skip with `--no-http`): the very notices indexed above (before the updates)
   are stored in a fresh node as signed `notice.published` entries of their 40 origins
   (bench/screening_node.py: Merkle tree, checkpoints and derived tables, as sync stores a
   partner's entries); `denex serve` starts, its first screening is timed (it waits for the
   live index to load from the database), then the same applications are POSTed one by one
   over a keep-alive connection -> p50/p95/p99 against the same target. Each answer is the
   stored screening: its matches and an audit record are written before it returns.
"""

import argparse
import datetime as dt
import gc
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from bench.publish import Row, machine, say, text_table  # noqa: E402 (after the path set-up)
from bench.screening_data import (  # noqa: E402
    ORIGINS,
    SEED,
    NoticeGenerator,
    SyntheticApplication,
    amended,
    applications,
)
from bench.screening_node import http_latency, populate  # noqa: E402
from service.runtime import GC_THRESHOLD  # noqa: E402
from service.screening.engine import Screener  # noqa: E402
from service.screening.model import NoticeRecord, application_record  # noqa: E402
from service.screening.names import normalise  # noqa: E402

P95_TARGET_MS = 50.0  # in-process screen of one application, one core
UPDATE_SHARE_TARGET = 1e-3  # p99 of single updates < 1/1000 of a full build
SCORE_CUTOFF = 80  # the baseline's token_sort_ratio threshold (the engine's "consult" is 0.80)
WARMUP = 20  # applications screened before the clock starts (not counted)
SANITY = 20  # new / amended / revoked notices checked by screening after the updates

# ---------------------------------------------------------------------------------------------
# Memory and timing helpers
# ---------------------------------------------------------------------------------------------


def memory() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in bytes."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def percentile(values: Sequence[float], p: float) -> float:
    if p == 50:
        return statistics.median(values)
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(p * 10) - 1]


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# ---------------------------------------------------------------------------------------------
# 1. Generation
# ---------------------------------------------------------------------------------------------


@dataclass
class Generated:
    generator: NoticeGenerator
    records: list[NoticeRecord]
    seconds: float
    rss_before: int
    rss_after: int

    @property
    def parties(self) -> int:
        return sum(len(r.parties) for r in self.records)

    @property
    def names(self) -> int:
        return sum(len(p.names) for r in self.records for p in r.parties)


def generate(count: int, seed: int) -> Generated:
    gc.collect()
    before = memory()["VmRSS"]
    gc.disable()  # millions of small objects that all live: no point in collecting
    try:
        started = time.perf_counter()
        generator = NoticeGenerator(seed)
        records = list(generator.records(count))
        seconds = time.perf_counter() - started
    finally:
        gc.enable()
    gc.freeze()  # the benchmark's own data is never garbage
    return Generated(generator, records, seconds, before, memory()["VmRSS"])


@dataclass
class RecordSize:
    sample: int
    pool: int  # bytes of the generator's shared entities
    per_record: float  # bytes a NoticeRecord holds on its own


def record_size(seed: int, sample: int = 10_000) -> RecordSize:
    """What the records cost without the index, by tracemalloc on a sample (run at the end: it
    must not move the RSS figures)."""
    tracemalloc.start()
    try:
        generator = NoticeGenerator(seed)
        pool = tracemalloc.get_traced_memory()[0]
        records = list(generator.records(sample))
        per_record = (tracemalloc.get_traced_memory()[0] - pool) / len(records)
    finally:
        tracemalloc.stop()
    return RecordSize(sample, pool, per_record)


# ---------------------------------------------------------------------------------------------
# 2. Build
# ---------------------------------------------------------------------------------------------


@dataclass
class Build:
    screener: Screener
    notices: int
    seconds: float
    tenth_seconds: list[float]  # each tenth of the adds
    rss_before: int
    rss_after: int
    hwm: int

    @property
    def rate(self) -> float:
        return self.notices / self.seconds

    def tenth_rate(self, i: int) -> float:
        return self.notices / 10 / self.tenth_seconds[i]

    @property
    def mean_add_us(self) -> float:
        return self.seconds / self.notices * 1e6


def build(records: list[NoticeRecord]) -> Build:
    gc.collect()
    before = memory()["VmRSS"]
    gc.set_threshold(*GC_THRESHOLD)
    screener = Screener()
    add = screener.add
    bounds = [len(records) * i // 10 for i in range(11)]
    tenths = []
    started = time.perf_counter()
    for lo, hi in itertools.pairwise(bounds):
        t0 = time.perf_counter()
        for record in records[lo:hi]:
            add(record)
        tenths.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    gc.collect()
    after = memory()
    gc.freeze()  # as service.runtime.tune_gc does once serve has loaded
    return Build(screener, len(screener), seconds, tenths, before, after["VmRSS"], after["VmHWM"])


# ---------------------------------------------------------------------------------------------
# 3. Incremental updates
# ---------------------------------------------------------------------------------------------


@dataclass
class Updates:
    added_us: list[float]
    amended_us: list[float]
    removed_us: list[float]
    size_before: int
    size_after: int
    expected_size: int
    new_found: int = 0
    amended_current: int = 0
    revoked_returned: int = 0
    checked: int = 0

    @property
    def all_us(self) -> list[float]:
        return self.added_us + self.amended_us + self.removed_us


def _probe(record: NoticeRecord) -> dict[str, Any]:
    """An application naming a notice's end user exactly as written, same items and destination."""
    party = record.parties[0]
    return {
        "reference": "PROBE",
        "destination": record.destination,
        "items": [
            {"control_entry": i.control_entry, "description": i.description} for i in record.items
        ],
        "parties": [{"role": party.role, "name": party.names[0], "country": party.country}],
        "end_use": "",
    }


def timed_us(fn: Any, args: Sequence[tuple[Any, ...]]) -> list[float]:
    out = []
    clock = time.perf_counter_ns
    for a in args:
        t0 = clock()
        fn(*a)
        out.append((clock() - t0) / 1000)
    return out


def updates(
    screener: Screener, gen: Generated, count: int, seed: int, today: dt.date
) -> tuple[Updates, list[NoticeRecord]]:
    """Adds, amends and revokes `count` notices each; returns the records now indexed."""
    rng = random.Random(seed + 3)
    records = gen.records
    fresh = list(gen.generator.records(count))  # the stream goes on: new notice ids
    picks = rng.sample(range(len(records)), 2 * count)
    amend_at, revoke_at = picks[:count], picks[count:]
    new_versions = [amended(rng, records[i]) for i in amend_at]
    revoked = [records[i] for i in revoke_at]
    size_before = len(screener)
    result = Updates(
        added_us=timed_us(screener.add, [(r,) for r in fresh]),
        amended_us=timed_us(screener.add, [(r,) for r in new_versions]),
        removed_us=timed_us(screener.remove, [(r.origin, r.notice_id) for r in revoked]),
        size_before=size_before,
        size_after=len(screener),
        expected_size=size_before,  # + count adds, amendments replace, - count revocations
    )
    for i, record in zip(amend_at, new_versions, strict=True):
        records[i] = record
    gone = set(revoke_at)
    live = [r for i, r in enumerate(records) if i not in gone] + fresh
    # Do they screen as they should?
    checks = min(SANITY, count)
    for new, old, amendment in zip(
        fresh[:checks], revoked[:checks], new_versions[:checks], strict=True
    ):
        matches = screener.screen(application_record(_probe(new)), today)
        result.new_found += any(
            (m.origin, m.notice_id) == (new.origin, new.notice_id) for m in matches
        )
        matches = screener.screen(application_record(_probe(amendment)), today)
        result.amended_current += any(
            (m.origin, m.notice_id, m.version)
            == (amendment.origin, amendment.notice_id, amendment.version)
            for m in matches
        )
        matches = screener.screen(application_record(_probe(old)), today)
        result.revoked_returned += any(
            (m.origin, m.notice_id) == (old.origin, old.notice_id) for m in matches
        )
    result.checked = checks
    return result, live


# ---------------------------------------------------------------------------------------------
# 4. Screening latency, in-process
# ---------------------------------------------------------------------------------------------


@dataclass
class Screened:
    app: SyntheticApplication
    wall_ms: float
    cpu_ms: float
    matches: int
    found: bool | None  # derived applications: is the source notice among the matches
    top: float  # the best score, 0 without matches
    full_gc: bool  # a full (generation 2) garbage collection ran during this screen


@dataclass
class Latency:
    runs: list[Screened]
    threads: int
    warmup: int
    errors: list[tuple[SyntheticApplication, str]] = field(default_factory=list)

    def wall(self, kind: str | None = None) -> list[float]:
        return [s.wall_ms for s in self.runs if kind is None or s.app.kind == kind]

    def cpu(self) -> list[float]:
        return [s.cpu_ms for s in self.runs]


def screen_all(
    screener: Screener,
    apps: list[SyntheticApplication],
    warmup: list[SyntheticApplication],
    today: dt.date,
) -> Latency:
    for app in warmup:
        screener.screen(application_record(app.body), today)
    result = Latency([], threading.active_count(), len(warmup))
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    full_gcs = [0]

    def count_full_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full_gcs[0] += 1

    gc.callbacks.append(count_full_gc)
    try:
        for app in apps:
            record = application_record(app.body)  # the wire body -> the engine's input
            before = full_gcs[0]
            try:
                w0, c0 = wall(), cpu()
                matches = screener.screen(record, today)
                c1, w1 = cpu(), wall()
            except Exception as exc:  # reported, not fatal: the benchmark goes on
                result.errors.append((app, f"{type(exc).__name__}: {exc}"))
                continue
            result.runs.append(_screened(app, matches, w1 - w0, c1 - c0, full_gcs[0] > before))
    finally:
        gc.callbacks.remove(count_full_gc)
    return result


def _screened(
    app: SyntheticApplication, matches: list[Any], wall_ns: int, cpu_ns: int, full_gc: bool
) -> Screened:
    found = None
    if app.source is not None:
        found = any((m.origin, m.notice_id) == app.source for m in matches)
    top = max((m.score for m in matches), default=0.0)
    return Screened(app, wall_ns / 1e6, cpu_ns / 1e6, len(matches), found, top, full_gc)


# ---------------------------------------------------------------------------------------------
# 5. Baseline: brute-force rapidfuzz scan of every name
# ---------------------------------------------------------------------------------------------


@dataclass
class Baseline:
    names: int
    prepare_seconds: float
    ms: list[float]
    indexed_ms: list[float]  # the same applications, from the in-process run
    hits: list[int]
    kinds: Counter[str]
    derived: int = 0
    found_by_scan: int = 0
    found_by_index: int = 0


def baseline(records: list[NoticeRecord], runs: list[Screened], count: int) -> Baseline:
    say(f"baseline: normalising every party name and alias of {len(records):,} notices")
    started = time.perf_counter()
    names: list[str] = []
    owner = array("i")
    for n, record in enumerate(records):
        for party in record.parties:
            for name in party.names:
                names.append(normalise(name))
                owner.append(n)
    prepare_seconds = time.perf_counter() - started
    key_of = [(r.origin, r.notice_id) for r in records]
    chosen = runs[:count]
    say(f"baseline: scanning {len(names):,} names for each party of {len(chosen)} applications")
    result = Baseline(len(names), prepare_seconds, [], [s.wall_ms for s in chosen], [], Counter())
    for screened in chosen:
        app = application_record(screened.app.body)
        t0 = time.perf_counter_ns()
        hits = []
        for party in app.parties:
            for name in party.names:
                hits += process.extract(
                    normalise(name),
                    names,
                    scorer=fuzz.token_sort_ratio,
                    processor=None,
                    score_cutoff=SCORE_CUTOFF,
                    limit=None,
                )
        result.ms.append((time.perf_counter_ns() - t0) / 1e6)
        result.hits.append(len(hits))
        result.kinds[screened.app.kind] += 1
        if screened.app.source is not None:
            result.derived += 1
            result.found_by_scan += any(key_of[owner[i]] == screened.app.source for _, _, i in hits)
            result.found_by_index += bool(screened.found)
    return result


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def generation_rows(gen: Generated) -> list[Row]:
    n = len(gen.records)
    origins = len({r.origin for r in gen.records})
    return [
        Row(
            f"synthetic notices generated ({origins} origins; {gen.parties:,} parties, "
            f"{gen.names:,} names and aliases)",
            f"{n:,} in {gen.seconds:.1f} s",
            "(reference)",
            "",
        ),
    ]


def memory_rows(gen: Generated, b: Build, size: RecordSize) -> list[Row]:
    n = b.notices
    records = size.pool + size.per_record * len(gen.records)
    index = b.rss_after - gen.rss_before - records
    grown = b.rss_after - b.rss_before
    return [
        Row(
            "memory: VmRSS at the start; after generating; after the build",
            f"{mb(gen.rss_before)}; {mb(gen.rss_after)}; {mb(b.rss_after)}",
            "(reference)",
            "",
        ),
        Row(
            f"memory: the records themselves (tracemalloc on {size.sample:,}, scaled)",
            f"{mb(records)} ({size.per_record:,.0f} bytes/notice)",
            "(the benchmark's own)",
            "",
        ),
        Row(
            "memory: the index = RSS after the build - RSS at the start - the records",
            f"{mb(index)} ({index / n:,.0f} bytes/notice)",
            "(reference)",
            "",
        ),
        Row(
            "memory: VmRSS growth during the build alone",
            f"{mb(grown)} ({grown / n:,.0f} bytes/notice)",
            "(low: refills memory freed while generating)",
            "",
        ),
        Row("memory: peak RSS of the process (VmHWM)", mb(b.hwm), "(reference)", ""),
    ]


def build_rows(b: Build) -> list[Row]:
    return [
        Row(
            f"index build: Screener.add of {b.notices:,} notices",
            f"{b.rate:,.0f} notices/s ({b.seconds:.1f} s)",
            "(reference)",
            "",
        ),
        Row(
            "index build: add rate of the first; last tenth",
            f"{b.tenth_rate(0):,.0f}; {b.tenth_rate(9):,.0f} notices/s",
            "(flat: O(1) per add)",
            "",
        ),
    ]


def update_rows(u: Updates, b: Build) -> list[Row]:
    rows = []
    for label, values in (
        ("add a new notice", u.added_us),
        ("replace a notice (amendment)", u.amended_us),
        ("remove a notice (revocation)", u.removed_us),
    ):
        rows.append(
            Row(
                f"incremental, {len(values):,}x {label}: median; p99",
                f"{statistics.median(values):,.0f}; {percentile(values, 99):,.0f} µs",
                f"(mean add in the build: {b.mean_add_us:,.0f} µs)",
                "",
            )
        )
    p99 = percentile(u.all_us, 99)
    share = p99 / 1e6 / b.seconds
    checked = u.checked
    return [
        *rows,
        Row(
            f"incremental: p99 of all {len(u.all_us):,} updates / full build time",
            f"{p99:,.0f} µs / {b.seconds:.1f} s = {share:.1e}",
            f"< {UPDATE_SHARE_TARGET:.0e} (no rebuild)",
            verdict(share < UPDATE_SHARE_TARGET),
        ),
        Row(
            "incremental: slowest single update (a GC pass may land in it)",
            f"{max(u.all_us):,.0f} µs",
            "(reference)",
            "",
        ),
        Row(
            "incremental: index size after the updates",
            f"{u.size_after:,}",
            f"= {u.expected_size:,}",
            verdict(u.size_after == u.expected_size),
        ),
        Row(
            "after the updates: new found; amended at its new version; revoked returned",
            f"{u.new_found}/{checked}; {u.amended_current}/{checked}; {u.revoked_returned}/{checked}",
            f"{checked}; {checked}; 0",
            verdict((u.new_found, u.amended_current, u.revoked_returned) == (checked, checked, 0)),
        ),
    ]


def latency_rows(lat: Latency, size: int) -> list[Row]:
    if not lat.runs:
        return [
            Row(
                "screening in-process",
                "no application screened",
                f"p95 < {P95_TARGET_MS:.0f} ms",
                "MISSED",
            )
        ]
    wall = lat.wall()
    n = len(wall)
    p95 = percentile(wall, 95)
    head = f"screen in-process, 1 thread, {size:,} notices, {n:,} applications"
    rows = [
        Row(f"{head}: p50", f"{percentile(wall, 50):.2f} ms", "", ""),
        Row(
            f"{head}: p95",
            f"{p95:.2f} ms",
            f"< {P95_TARGET_MS:.0f} ms",
            verdict(p95 < P95_TARGET_MS),
        ),
        Row(f"{head}: p99; max", f"{percentile(wall, 99):.2f}; {max(wall):.2f} ms", "", ""),
        Row(
            "screen in-process: CPU time of the thread, p50; p95",
            f"{percentile(lat.cpu(), 50):.2f}; {percentile(lat.cpu(), 95):.2f} ms",
            "(wall >> CPU: machine noise)",
            "",
        ),
    ]
    for kind in ("derived", "generic", "unrelated"):
        values = lat.wall(kind)
        if values:
            rows.append(
                Row(
                    f"screen in-process, {kind} applications ({len(values)}): p50; p95",
                    f"{percentile(values, 50):.2f}; {percentile(values, 95):.2f} ms",
                    "",
                    "",
                )
            )
    counts = [s.matches for s in lat.runs]
    derived = [s for s in lat.runs if s.found is not None]
    found = sum(bool(s.found) for s in derived)
    rows += [
        Row(
            "matches per application: median; p95; max",
            f"{percentile(counts, 50):.0f}; {percentile(counts, 95):.0f}; {max(counts)}",
            "",
            "",
        ),
        Row(
            "derived applications whose source notice is among the matches",
            f"{found} of {len(derived)} ({found / max(1, len(derived)):.1%})",
            "(sanity: high)",
            "",
        ),
        Row(
            "threads in the process while screening",
            f"{lat.threads}",
            "1",
            verdict(lat.threads == 1),
        ),
    ]
    if lat.errors:
        rows.append(Row("applications whose screen raised", f"{len(lat.errors)}", "0", "MISSED"))
    return rows


def baseline_rows(base: Baseline, lat: Latency) -> list[Row]:
    if not base.ms:
        return []
    scan, indexed = statistics.median(base.ms), statistics.median(base.indexed_ms)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(base.kinds.items()))
    return [
        Row(
            f"baseline: normalise all {base.names:,} names (before the clock)",
            f"{base.prepare_seconds:.1f} s",
            "(reference)",
            "",
        ),
        Row(
            f"baseline: rapidfuzz token_sort_ratio >= {SCORE_CUTOFF} over all names, 1 thread, "
            f"{len(base.ms)} applications ({kinds}): median; max",
            f"{scan:,.1f}; {max(base.ms):,.1f} ms",
            "(reference)",
            "",
        ),
        Row(
            "indexed screen, the same applications: median; max",
            f"{indexed:.2f}; {max(base.indexed_ms):.2f} ms",
            "(reference)",
            "",
        ),
        Row(
            "speed-up: baseline median / indexed median (same applications)",
            f"{scan / indexed:,.0f}x",
            "(reference)",
            "",
        ),
        Row(
            "baseline median / indexed median of all applications",
            f"{scan / statistics.median(lat.wall()):,.0f}x",
            "(reference)",
            "",
        ),
        Row(
            "derived among them: source found by the scan; by the index",
            f"{base.found_by_scan}/{base.derived}; {base.found_by_index}/{base.derived}",
            "(reference)",
            "",
        ),
    ]


def found_by_variation(lat: Latency) -> str:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in lat.runs:
        if s.found is not None:
            totals[s.app.variation][0] += bool(s.found)
            totals[s.app.variation][1] += 1
    return "; ".join(f"{v} {f}/{n}" for v, (f, n) in sorted(totals.items()))


def _names(app: SyntheticApplication) -> str:
    return " + ".join(repr(p["name"]) for p in app.body["parties"])


def diagnostics(lat: Latency, base: Baseline | None, top: int = 8) -> str:
    lines = ["Found by variation (derived applications): " + found_by_variation(lat), ""]
    gcs = sum(s.full_gc for s in lat.runs)
    lines.append(
        f"Slowest {top} applications (wall ms, CPU ms, kind, matches, destination, entries, "
        f"names; 'gc' = a full collection ran during it, {gcs} of {len(lat.runs)} screens):"
    )
    for s in sorted(lat.runs, key=lambda s: -s.wall_ms)[:top]:
        entries = ",".join(i["control_entry"] for i in s.app.body["items"])
        lines.append(
            f"  {s.wall_ms:8.2f} {s.cpu_ms:8.2f} {'gc' if s.full_gc else '  '} {s.app.kind:<9} "
            f"{s.matches:>5}  {s.app.body['destination']} {entries}  {_names(s.app)}"
        )
    missed = [s for s in lat.runs if s.found is False]
    if missed:
        lines += [
            "",
            f"Derived applications that missed their source ({min(top, len(missed))} of {len(missed)}):",
        ]
        for s in missed[:top]:
            lines.append(
                f"  {s.app.variation:<13} top {s.top:.2f}  {_names(s.app)}  <- {s.app.source}"
            )
    if lat.errors:
        lines += ["", f"Applications whose screen raised ({len(lat.errors)}):"]
        for app, error in lat.errors[:top]:
            lines.append(f"  {app.kind}/{app.variation} {_names(app)}: {error}")
    if base is not None and base.hits:
        lines += ["", f"Baseline hits per application: {base.hits}"]
    return "\n".join(lines)


def markdown(
    rows: list[Row],
    args: argparse.Namespace,
    started: dt.datetime,
    host: str,
    wall: float,
    notes: str,
) -> str:
    lines = [
        f"## Screening (bench/screening.py), {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {host} (at the start of the run).  ",
        f"Run: `python bench/screening.py --notices {args.notices} --applications "
        f"{args.applications} --baseline-apps {args.baseline_apps} --updates {args.updates} "
        f"--seed {args.seed}`{' (--quick)' if args.quick else ''}; in-process, one thread; "
        f"synthetic notices from {len(ORIGINS)} origins; {wall / 60:.1f} min in all.",
        "",
        "| measure | figure | target | |",
        "|---|---:|---|---|",
    ]
    lines += [f"| {r.measure} | {r.figure} | {r.target} | {r.verdict} |" for r in rows]
    lines += ["", notes]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# 6. Over HTTP, against a real `denex serve`
# ---------------------------------------------------------------------------------------------


def http_section(
    args: argparse.Namespace, today: dt.date, apps: Sequence[SyntheticApplication]
) -> list[Row]:
    """The very notices indexed above (before the updates), stored as signed entries of 40
    origins in a real node; the same applications screened through `denex serve`."""
    stored: Row
    if args.http_node is not None:  # a node this script populated before, kept
        data_dir = args.http_node
        say(f"HTTP: reusing the node in {data_dir}")
        stored = Row("HTTP: notices stored as signed entries", "(reused node)", "(set-up)", "")
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="denex-bench-screening-")) / "node"
        say(f"HTTP: storing {args.notices:,} notices as signed entries of 40 origins in {data_dir}")
        count, seconds = populate(data_dir, NoticeGenerator(args.seed, today).bodies(args.notices))
        stored = Row(
            "HTTP: notices stored as signed entries (Merkle tree, checkpoints, derived tables)",
            f"{count:,} in {seconds:.0f} s ({count / seconds:,.0f}/s)",
            "(set-up)",
            "",
        )
    say(f"HTTP: screening {len(apps):,} applications through `denex serve`")
    result = http_latency(data_dir, [app.body for app in apps], data_dir.parent / "serve.log")
    if args.http_node is None:
        shutil.rmtree(data_dir.parent, ignore_errors=True)
    lat = result.latencies_ms
    p95 = percentile(lat, 95)
    return [
        stored,
        Row(
            "HTTP: live index loaded from the database at `denex serve` start (its log line)",
            "not logged" if result.load_seconds is None else f"{result.load_seconds:,.1f} s",
            "(reference: once per start)",
            "",
        ),
        Row(
            "HTTP: first screening once `denex serve` answers /readyz (waits for that load)",
            f"{result.first_ms / 1000:,.1f} s",
            "(reference: once per start)",
            "",
        ),
        Row(
            f"HTTP: POST /api/v1/screenings, 1 client, keep-alive, {len(lat):,} applications "
            "(stored with matches and an audit record): p50; p99; max",
            f"{percentile(lat, 50):.2f}; {percentile(lat, 99):.2f}; {max(lat):.2f} ms",
            "",
            "",
        ),
        Row(
            "HTTP: POST /api/v1/screenings: p95",
            f"{p95:.2f} ms",
            f"< {P95_TARGET_MS:.0f} ms",
            verdict(p95 < P95_TARGET_MS and result.errors == 0),
        ),
        Row(
            "HTTP: answers other than 201; matches per answer, median",
            f"{result.errors}; {statistics.median(result.matches or [0]):.0f}",
            "0",
            verdict(result.errors == 0),
        ),
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=1_000_000, help="active notices to index")
    parser.add_argument("--applications", type=int, default=1_000, help="applications to screen")
    parser.add_argument(
        "--baseline-apps", type=int, default=20, help="applications for the brute-force baseline"
    )
    parser.add_argument(
        "--updates", type=int, default=1_000, help="adds, amendments and revocations (each)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the synthetic data")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50,000 notices")
    parser.add_argument("--markdown", type=Path, help="append a results section to this file")
    parser.add_argument(
        "--no-http", action="store_true", help="skip the HTTP section (a real `denex serve`)"
    )
    parser.add_argument(
        "--http-node",
        type=Path,
        help="reuse this node data dir, populated by an earlier run with the same --notices "
        "and --seed (kept afterwards)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.notices = 50_000
    if min(args.applications, args.updates) < 1 or args.baseline_apps < 0:
        parser.error("--applications and --updates must be positive")
    if args.notices < 10 * args.updates:
        parser.error("--notices must be at least ten times --updates")
    args.baseline_apps = min(args.baseline_apps, args.applications)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, host = dt.datetime.now(dt.UTC), machine()
    clock = time.perf_counter()
    say(f"generating {args.notices:,} synthetic notices (seed {args.seed})")
    gen = generate(args.notices, args.seed)
    today = gen.generator.today
    say(f"building the index: Screener.add x {args.notices:,}")
    b = build(gen.records)
    say(f"incremental updates on the full index: {args.updates:,} adds, amendments, revocations")
    u, live = updates(b.screener, gen, args.updates, args.seed, today)
    apps = applications(live, args.applications, seed=args.seed + 7)
    warmup = applications(live, WARMUP, seed=args.seed + 11)
    say(f"screening {len(apps):,} applications in-process ({WARMUP} more to warm up)")
    lat = screen_all(b.screener, apps, warmup, today)
    base = baseline(live, lat.runs, args.baseline_apps) if args.baseline_apps else None
    say("measuring what the records alone cost (tracemalloc on a sample)")
    size = record_size(args.seed)
    rows = [
        *generation_rows(gen),
        *build_rows(b),
        *memory_rows(gen, b, size),
        *update_rows(u, b),
        *latency_rows(lat, len(b.screener)),
        *(baseline_rows(base, lat) if base is not None else []),
    ]
    notes = diagnostics(lat, base)
    print(f"\nin-process figures ({host}):\n", flush=True)  # kept if the HTTP part fails
    print(text_table(rows), flush=True)
    if not args.no_http:
        rows += http_section(args, today, apps)
    wall = time.perf_counter() - clock
    print(f"\ndenex screening benchmark ({host}); {wall / 60:.1f} min in all\n")
    print(text_table(rows))
    print()
    print(notes)
    if args.markdown:
        found = "Found by variation (derived applications): " + found_by_variation(lat)
        with args.markdown.open("a", encoding="utf-8") as out:
            out.write("\n" + markdown(rows, args, started, host, wall, found))
        say(f"appended the results to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
