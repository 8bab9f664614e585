"""JSON Schema export of the event models: one file per event family and major version,
``schemas/json/<name>.v<N>.schema.json`` (committed; tests/test_schemas.py fails on drift)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

JSON_DIR = Path(__file__).parent / "json"
EXAMPLES_DIR = Path(__file__).parent / "examples"
BASE_ID = "https://github.com/report-router/report-router/schemas/json/"


def file_name(schema: str) -> str:
    """``report.submitted/v1`` -> ``report.submitted.v1.schema.json``"""
    name, version = schema.split("/")
    return f"{name}.{version}.schema.json"


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema: str = model.SCHEMA  # type: ignore[attr-defined]
    document = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_ID + file_name(schema),
        **document,
    }


def render(model: type[BaseModel]) -> str:
    return json.dumps(json_schema(model), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(directory: Path = JSON_DIR) -> list[Path]:
    """Write every model's schema; returns the paths written."""
    from schemas import MODELS

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for schema, model in MODELS.items():
        path = directory / file_name(schema)
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written
