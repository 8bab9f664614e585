"""The event contracts: committed JSON Schemas match the models, examples validate against both,
and the ``schemas`` package works without Faust (connectors install it alone)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import schemas
from schemas.export import EXAMPLES_DIR, JSON_DIR, file_name, render

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))


@pytest.mark.parametrize("name", sorted(schemas.MODELS))
def test_committed_schema_matches_the_model(name: str) -> None:
    path = JSON_DIR / file_name(name)
    assert path.exists(), f"{path} missing: run `router schemas export`"
    assert path.read_text(encoding="utf-8") == render(schemas.MODELS[name]), \
        f"{path.name} drifted from its model: run `router schemas export` and review the diff"


def test_every_family_has_an_example() -> None:
    covered = {json.loads(p.read_text())["schema"] for p in EXAMPLES}
    assert covered == set(schemas.MODELS)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate_against_model_and_schema(path: Path) -> None:
    document = json.loads(path.read_text())
    model = schemas.MODELS[document["schema"]]
    model.model_validate(document)
    schema = json.loads((JSON_DIR / file_name(document["schema"])).read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


def _submitted(**changes: object) -> dict[str, object]:
    base = json.loads((EXAMPLES_DIR / "report.submitted.v1.example.json").read_text())
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    "changes",
    [
        {"report_id": "has spaces"},
        {"report_id": "x" * 129},
        {"submitted_at": "2026-11-01T12:30:00"},  # no offset
        {"submitted_at": None},
        {"source": ""},
        {"url": "ftp://x.com/a"},
        {"url": "https://"},
        {"url": "https://x.com/" + "a" * 2048},
        {"url": None, "platform": None},
        {"url": None, "account": None},
        {"text": "x" * 20_001},
        {"severity": "urgent"},
        {"signals": {"ip": "999.1.1.1"}},
        {"signals": {"country": "PAK"}},
        {"schema": "report.submitted/v2"},
        {"language": "not a tag!"},
        {"legal_basis": "not a list"},
    ],
)
def test_submitted_rejects_what_the_contract_rejects(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        schemas.ReportSubmittedV1.model_validate(_submitted(**changes))


def test_submitted_accepts_an_account_report_and_ignores_unknown_fields() -> None:
    report = schemas.ReportSubmittedV1.model_validate(
        _submitted(url=None, platform="x", account="@a", future_field={"nested": 1}, text=None))
    assert report.severity == "high" and report.url is None


def test_output_models_forbid_extra_fields() -> None:
    routed = json.loads((EXAMPLES_DIR / "report.routed.v1.example.json").read_text())
    for extra in ({"reporter": {"name": "x"}}, {"signals": {"phone": "+92"}}):
        with pytest.raises(ValidationError):
            schemas.ReportRoutedV1.model_validate({**routed, **extra})
    assert "reporter" not in schemas.ReportRoutedV1.model_fields
    assert "signals" not in schemas.ReportRoutedV1.model_fields


def test_schemas_import_without_faust() -> None:
    code = ("import sys; sys.modules['faust'] = None; sys.modules['aiokafka'] = None; import schemas; "
            "from schemas.export import export; assert 'router' not in sys.modules; print(len(schemas.MODELS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "7"


def test_schemas_package_builds_alone(tmp_path: Path) -> None:
    """``pip install ./schemas`` gives a distribution with the models and the JSON Schemas."""
    root = Path(schemas.__file__).parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(root)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("report_router_schemas-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "schemas/__init__.py" in names and "schemas/json/report.routed.v1.schema.json" in names
    assert not any(n.startswith("router/") for n in names)


_IP_TEXT = st.one_of(
    st.text(alphabet="0123456789.:abcdefx% \x00", max_size=24),
    st.tuples(*[st.integers(0, 300).map(str) | st.sampled_from(["00", "01", "007", ""]) for _ in range(4)]).map(
        ".".join),
    st.ip_addresses().map(str),
)


@given(_IP_TEXT)
@settings(max_examples=3000, deadline=None)
def test_the_ip_signal_is_valid_exactly_when_ipaddress_parses_it(value: str) -> None:
    import ipaddress

    try:
        ipaddress.ip_address(value)
        expected = True
    except ValueError:
        expected = False
    try:
        schemas.Signals(ip=value)
        valid = True
    except ValidationError:
        valid = False
    assert valid == expected, value
