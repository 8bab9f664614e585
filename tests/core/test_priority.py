from __future__ import annotations

import pytest

from router.core.priority import priority_for, requested_actions


@pytest.mark.parametrize(
    ("severity", "legal", "designations", "mirror", "expected"),
    [
        ("normal", [], [], False, "normal"),
        ("critical", [], [], False, "critical"),
        ("normal", ["Regulation (EU) 2021/784, Art. 3 removal order"], [], False, "critical"),
        ("normal", ["TCO"], [], False, "critical"),
        ("normal", ["PECA 2016 s.37"], [], False, "normal"),
        ("high", [], [], False, "high"),
        ("normal", [], [["UN"]], False, "high"),
        ("normal", [], [["US", "PK"]], False, "high"),
        ("normal", [], [["PK"]], False, "normal"),
        ("normal", [], [], True, "high"),
        ("high", [], [["UN"]], True, "high"),  # tags never make a case critical
    ],
)
def test_priority(severity, legal, designations, mirror, expected) -> None:
    assert priority_for(severity, legal, designations, mirror) == expected


def test_requested_actions() -> None:
    assert requested_actions("content", "x", False) == ["remove_content", "preserve_evidence"]
    assert requested_actions("account", "x", False) == ["suspend_account", "preserve_evidence"]
    assert requested_actions("content", "x", True) == ["remove_content", "suspend_account", "preserve_evidence"]
    assert requested_actions("content", "unknown", False) == ["review", "preserve_evidence"]
