"""The group watchlist: frozen pydantic models and validation of the parsed YAML document.

``load_watchlist_dict(data)`` takes the already-parsed document (no file I/O here) and returns a frozen
``Watchlist`` or raises ``WatchlistError`` naming the location of every problem, one per line, for example
``groups[3].designations[0].authority: unknown authority 'XX'``. Structural problems (types, patterns,
dates, URLs, unknown fields) are reported for every group; the cross-reference checks (unique ids,
``exact_case`` within ``aliases``, names that are ``ambiguous`` or shared between groups, umbrella ``covers``)
run over every group that is itself structurally valid.

Names are compared in their *matching form* (``textnorm.match_key``): two names the matcher cannot tell
apart are the same name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from router.core.textnorm import HARD, case_signature, match_key

AUTHORITIES = frozenset({"UN", "US", "UK", "PK", "EU", "CA", "AU", "IN"})
_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")


class WatchlistError(ValueError):
    """The watchlist is invalid; ``problems`` holds one ``"<location>: <message>"`` line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid watchlist:\n" + "\n".join(f"  {p}" for p in problems))


def _authority(value: str) -> str:
    if value not in AUTHORITIES:
        raise ValueError(f"unknown authority {value!r} (known: {', '.join(sorted(AUTHORITIES))})")
    return value


def _partial_date(value: object) -> str:
    """``date`` objects (YAML parses unquoted ``2011-07-29`` as one) or ``YYYY``/``YYYY-MM``/``YYYY-MM-DD``."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and _DATE.fullmatch(value):
        parts = [int(p) for p in value.split("-")]
        try:
            dt.date(parts[0], *(parts[1:] + [1, 1][len(parts) - 1 :]))
        except ValueError:
            raise ValueError(f"not a calendar date: {value!r}") from None
        return value
    raise ValueError(f"expected YYYY-MM-DD, or a quoted 'YYYY-MM' / 'YYYY' string, got {value!r}")


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


def _read_only(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _plain_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Names = tuple[Name, ...]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,15}$")]
PartialDate = Annotated[str, BeforeValidator(_partial_date)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
SourceKind = Literal["official", "secondary"]
# Read-only mappings (the models are frozen all the way down), dumped as plain dicts.
ReadOnly = (AfterValidator(_read_only), PlainSerializer(_plain_dict))
NamesByCode = Annotated[Mapping[Code, Names], *ReadOnly]
ContextMap = Annotated[Mapping[Name, Annotated[Names, Field(min_length=1)]], *ReadOnly]


# An empty read-only mapping as a default (a factory: pydantic copies plain defaults, and a mappingproxy
# cannot be copied).
_EMPTY: Any = Field(default_factory=lambda: MappingProxyType({}))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Designation(_Frozen):
    """One listing of a group by one authority."""

    authority: Annotated[str, AfterValidator(_authority)]
    list_name: Name = Field(alias="list")
    reference: Name | None = None
    date: PartialDate
    source: HttpUrl
    source_kind: SourceKind


class MediaWing(_Frozen):
    name: Name
    publications: Names = ()


class Group(_Frozen):
    """A proscribed group and every name that tags it.

    ``not_followed_by`` / ``not_preceded_by`` (optional, for precision) map one of the group's names to
    words that, right after / before it, mean someone else (``Tehrik-e-Taliban`` followed by
    ``Afghanistan``). The value ``<number>`` stands for any number (``ISK 5,000`` is Icelandic krona).
    """

    id: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=32)]
    name: Name
    aliases: Names  # not empty: checked with the cross-references (pydantic would also blame valid items)
    exact_case: Names = ()
    scripts: NamesByCode = _EMPTY
    state_names: Names = ()
    media: tuple[MediaWing, ...] = ()
    hashtags: tuple[Annotated[Name, StringConstraints(pattern=r"^[^#\s]")], ...] = ()
    accounts: NamesByCode = _EMPTY
    designations: tuple[Designation, ...]  # not empty: likewise
    not_followed_by: ContextMap = _EMPTY
    not_preceded_by: ContextMap = _EMPTY

    @property
    def authorities(self) -> tuple[str, ...]:
        """Sorted unique authority codes of the designations, e.g. ``("PK", "UK", "UN", "US")``."""
        return tuple(sorted({d.authority for d in self.designations}))

    def names(self) -> Iterator[tuple[str, str]]:
        """Every name that tags this group, with its location inside the group (``"aliases[2]"``)."""
        for field in ("aliases", "state_names", "hashtags"):
            for i, name in enumerate(getattr(self, field)):
                yield f"{field}[{i}]", name
        for lang, names in self.scripts.items():
            for i, name in enumerate(names):
                yield f"scripts.{lang}[{i}]", name
        for m, wing in enumerate(self.media):
            yield f"media[{m}].name", wing.name
            for i, name in enumerate(wing.publications):
                yield f"media[{m}].publications[{i}]", name
        for platform, handles in self.accounts.items():
            for i, handle in enumerate(handles):
                yield f"accounts.{platform}[{i}]", handle.lstrip("@")


class UmbrellaName(_Frozen):
    """A name the state applies to several groups at once: it never tags one group on its own."""

    name: Name
    variants: Names = ()
    covers: Annotated[tuple[str, ...], Field(min_length=1)]  # ids of groups
    date: PartialDate | None = None
    source: HttpUrl | None = None
    source_kind: SourceKind | None = None

    @property
    def all_names(self) -> tuple[str, ...]:
        return (self.name, *self.variants)


class Watchlist(_Frozen):
    version: Literal[1]
    groups: tuple[Group, ...]  # not empty: checked in load_watchlist_dict
    umbrella_names: tuple[UmbrellaName, ...] = ()
    ambiguous: Names = ()


def _location(loc: tuple[int | str, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if part == "[key]":
            out += " (key)"
        else:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _problems(error: ValidationError, prefix: str = "") -> list[str]:
    lines = []
    for e in error.errors(include_url=False):
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] in ("missing", "extra_forbidden"):
            msg = msg.lower()
        lines.append(f"{_location(tuple(e['loc']), prefix)}: {msg}")
    return lines


def _name_problems(where: str, name: str) -> list[str]:
    key = match_key(name)
    if not key.replace(" ", ""):
        return [f"{where}: {name!r} has no letters or digits"]
    if HARD in key:
        return [f"{where}: {name!r} contains punctuation that the matcher treats as a boundary"]
    return []


def _group_checks(i: int, group: Group) -> list[str]:
    """Checks inside one structurally valid group."""
    where = f"groups[{i}]"
    empty = [field for field in ("aliases", "designations") if not getattr(group, field)]
    problems = [f"{where}.{field}: must not be empty" for field in empty]
    problems += [p for loc, name in group.names() for p in _name_problems(f"{where}.{loc}", name)]
    inexact = {match_key(a) for a in group.aliases if a not in group.exact_case}
    for j, acronym in enumerate(group.exact_case):
        if acronym not in group.aliases:
            problems.append(f"{where}.exact_case[{j}]: {acronym!r} is not in aliases")
        elif match_key(acronym) in inexact:
            problems.append(
                f"{where}.exact_case[{j}]: {acronym!r} matches like an alias that is not exact_case, "
                "so its case would never be checked"
            )
        elif not case_signature(acronym):
            problems.append(f"{where}.exact_case[{j}]: {acronym!r} has no letters or digits")
    own = {match_key(n) for _, n in group.names()}
    for field in ("not_followed_by", "not_preceded_by"):
        for name in getattr(group, field):
            if match_key(name) not in own:
                problems.append(f"{where}.{field}: {name!r} is not a name of this group")
    return problems


def _cross_checks(watchlist: Mapping[str, Any], groups: dict[int, Group]) -> list[str]:
    """Checks across groups, umbrella names and the ambiguous list (over the valid groups only)."""
    problems: list[str] = []
    first_id: dict[str, int] = {}
    for i, group in groups.items():
        if group.id in first_id:
            problems.append(f"groups[{i}].id: duplicate id {group.id!r} (first at groups[{first_id[group.id]}])")
        first_id.setdefault(group.id, i)
    raw_groups = watchlist.get("groups")
    raw_groups = raw_groups if isinstance(raw_groups, list | tuple) else ()
    known_ids = {g.get("id") for g in raw_groups if isinstance(g, Mapping)}
    umbrellas = _valid_items(watchlist.get("umbrella_names"), UmbrellaName)
    for u, umbrella in umbrellas.items():
        for j, gid in enumerate(umbrella.covers):
            if gid not in known_ids:
                problems.append(f"umbrella_names[{u}].covers[{j}]: unknown group id {gid!r}")
    declared: dict[str, set[str]] = {}  # umbrella name key -> the group ids it covers
    for umbrella in umbrellas.values():
        for name in umbrella.all_names:
            declared.setdefault(match_key(name), set()).update(umbrella.covers)
    ambiguous = {match_key(a): k for k, a in _valid_items(watchlist.get("ambiguous"), Name).items()}
    umbrella_keys = {key: where for u, um in umbrellas.items() for key, where in _umbrella_keys(u, um)}
    owner: dict[str, tuple[str, str]] = {}  # name key -> (group id, location) of its first use
    users: dict[str, set[str]] = {}  # name key -> ids of the groups that list it
    for group in groups.values():
        for _, name in group.names():
            users.setdefault(match_key(name), set()).add(group.id)
    for i, group in groups.items():
        for loc, name in group.names():
            key, where = match_key(name), f"groups[{i}].{loc}"
            if key in ambiguous:
                problems.append(f"{where}: {name!r} is listed as ambiguous (ambiguous[{ambiguous[key]}])")
            # An umbrella name may appear in groups only as a name they share and the umbrella covers.
            if key in umbrella_keys and (group.id not in declared[key] or len(users[key]) < 2):
                problems.append(f"{where}: {name!r} is also an umbrella name ({umbrella_keys[key]})")
            other = owner.setdefault(key, (group.id, where))
            if other[0] != group.id and not {other[0], group.id} <= declared.get(key, set()):
                problems.append(
                    f"{where}: {name!r} is also a name of group {other[0]!r} ({other[1]}); a name shared by "
                    "several groups belongs in umbrella_names"
                )
    return problems


def _umbrella_keys(u: int, umbrella: UmbrellaName) -> Iterator[tuple[str, str]]:
    yield match_key(umbrella.name), f"umbrella_names[{u}].name"
    for j, variant in enumerate(umbrella.variants):
        yield match_key(variant), f"umbrella_names[{u}].variants[{j}]"


def _valid_items(items: object, model: Any) -> dict[int, Any]:
    """The items of a list that validate on their own, by index (for checks that must not stop early)."""
    if not isinstance(items, list | tuple):
        return {}
    adapter: TypeAdapter[Any] = TypeAdapter(model)
    valid = {}
    for i, item in enumerate(items):
        try:
            valid[i] = adapter.validate_python(item)
        except ValidationError:
            continue
    return valid


def load_watchlist_dict(data: Mapping[str, Any]) -> Watchlist:
    """Validate a parsed watchlist document; raise ``WatchlistError`` listing every problem found."""
    if not isinstance(data, Mapping):
        raise WatchlistError([f"(document): expected a mapping, got {type(data).__name__}"])
    problems: list[str] = []
    watchlist = None
    try:
        watchlist = Watchlist.model_validate(dict(data))
    except ValidationError as error:
        problems.extend(_problems(error))
    groups = _valid_items(data.get("groups"), Group)
    if not data.get("groups"):
        problems.append("groups: must not be empty")
    for i, group in groups.items():
        problems.extend(_group_checks(i, group))
    problems.extend(_cross_checks(data, groups))
    if problems or watchlist is None:
        raise WatchlistError(problems)
    return watchlist
