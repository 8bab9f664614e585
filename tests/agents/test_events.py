"""The output builders (router.events): each record is valid against its contract model, and
timestamps are RFC 3339 in UTC with milliseconds, cached or not."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

import schemas
from router.events import breach, deadletter, dumps, receipt, rfc3339, routed
from tests.core.test_cases import T0, new_case


@given(st.lists(st.floats(min_value=0, max_value=4e9, allow_nan=False), min_size=1, max_size=20))
def test_rfc3339_is_utc_with_milliseconds(stamps: list[float]) -> None:
    for ts in stamps + stamps:  # the second time from the cache
        expected = datetime.fromtimestamp(round(ts * 1000) / 1000, UTC).isoformat(timespec="milliseconds")
        assert rfc3339(ts) == expected.replace("+00:00", "Z")


def test_every_builder_makes_a_valid_record() -> None:
    case = new_case()
    schemas.ReportRoutedV1.model_validate_json(dumps(routed(case.to_dict())))
    schemas.ReportReceiptV1.model_validate_json(dumps(receipt("r1", "routed", case.case_id, "outbound.x", T0)))
    schemas.ReportReceiptV1.model_validate_json(dumps(receipt(None, "rejected", None, "reports.deadletter", T0,
                                                              "decode: bad")))
    schemas.SlaBreachV1.model_validate_json(dumps(breach(case, "ack", case.ack_due, T0 + 100)))
    schemas.ReportDeadLetterV1.model_validate_json(dumps(deadletter(
        topic="reports.submitted", partition=0, offset=1, key=b"\xff", value=b"{", kind="decode", detail=["x"],
        at=T0)))
