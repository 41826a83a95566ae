"""Kept maps of notice heads follow a copy's growth (decision 0032): `advance` extends the map
kept under the old root in place, starts one for an empty log, and never builds one."""

import hashlib

from federation.core import merkle
from federation.core.noticemap import NoticeMap
from federation.storage import noticeheads


def _h(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def test_advance_extends_what_is_kept_and_starts_an_empty_log() -> None:
    origin = "advance-test"
    pairs = [(_h(f"k{i % 3}"), _h(f"l{i}")) for i in range(6)]
    noticeheads.advance(
        origin, size=0, root=merkle.EMPTY_ROOT, new_size=3, new_root=_h("r3"), entries=pairs[:3]
    )
    noticeheads.advance(
        origin, size=3, root=_h("r3"), new_size=6, new_root=_h("r6"), entries=pairs[3:]
    )
    kept = noticeheads._maps[(origin, _h("r6"))]
    assert kept[0] == 6
    expected = NoticeMap()
    expected.extend(pairs)
    assert kept[1].root() == expected.root()
    assert (origin, _h("r3")) not in noticeheads._maps  # extended in place, kept once

    # a copy whose map is not kept (evicted, or never built): nothing is built here
    noticeheads.advance(
        origin, size=9, root=_h("r9"), new_size=10, new_root=_h("r10"), entries=pairs[:1]
    )
    assert (origin, _h("r10")) not in noticeheads._maps
    # nor is a kept map of another size taken for it
    noticeheads.advance(
        origin, size=5, root=_h("r6"), new_size=7, new_root=_h("r7"), entries=pairs[:1]
    )
    assert (origin, _h("r7")) not in noticeheads._maps
    noticeheads.release(origin, _h("r6"))
