"""The README is the user's door: it must stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from router.cli import parser
from router.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [f"ROUTER_{name.upper()}" for name in Settings.model_fields if f"`ROUTER_{name.upper()}`" not in README]
    assert not missing, f"settings missing from the README: {missing}"


def test_no_documented_setting_is_stale() -> None:
    documented = set(re.findall(r"`ROUTER_([A-Z0-9_]+)`", README))
    known = {name.upper() for name in Settings.model_fields}
    assert documented <= known, f"README documents settings that do not exist: {sorted(documented - known)}"


def test_the_two_commands_and_every_cli_command_are_documented() -> None:
    assert "make run" in README and "make test" in README
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"router {name}" in README, f"`router {name}` is not in the README"
