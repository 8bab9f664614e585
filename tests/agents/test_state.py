"""Table access by partition (router.state) on a real RocksDB store: what is written is read
back, and the changelog gets every change."""

from __future__ import annotations

import faust

from router.core.cases import Case
from router.events import dumps
from router.output import Outbox
from router.state import case_state
from tests.core.test_cases import new_case


def test_cases_are_read_back_from_rocksdb(tmp_path) -> None:
    app = faust.App("state-test", broker="kafka://127.0.0.1:1", store="rocksdb://", datadir=str(tmp_path))
    state = case_state(app.Table("cases", partitions=4, key_type=bytes, value_type=bytes))
    out = Outbox()
    cases = [new_case(case_id=f"x-{i}") for i in range(3)]
    state.put_raw(1, cases[0].case_id, dumps(cases[0]), out)  # type: ignore[arg-type]
    state.put(1, cases[1].case_id, cases[1], out)
    state.put(2, cases[2].case_id, cases[2], out)
    assert [r.key for r in out.then] == [c.case_id.encode() for c in cases]
    assert all(r.topic == "state-test-cases-changelog" for r in out.then)
    for partition, case in zip((1, 1, 2), cases, strict=True):
        got = state.get(partition, case.case_id)
        assert got == case and isinstance(got, Case)
    assert state.get(1, "nothing") is None and state.get(2, "x-0") is None  # another partition's database
    state.delete(1, "x-0", out)
    assert state.get(1, "x-0") is None and out.then[-1].value is None
