"""Strict parsing of configuration dataclasses: every value is converted to its field's type
and checked against its range, and a wrong one is reported with its full dotted key.

A field describes itself through ``setting(default, help, ...)`` (its metadata: a one-line
help, a range, choices), so the same table drives parsing, error messages and key listings
(`section_keys`). Values come from JSON, YAML (where YAML 1.1 reads ``1e-4`` as a string),
``--set`` and converted zoo configs alike; all go through `parse_section`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Union

from growgan.errors import GrowganError

_MISSING = dataclasses.MISSING


def setting(default: Any = _MISSING, help: str = "", *, factory: Any = _MISSING, ge: float | None = None,
            gt: float | None = None, le: float | None = None, lt: float | None = None,
            choices: tuple | None = None, section: type | None = None) -> Any:
    """A dataclass field with parsing metadata: ``help`` (one line), numeric bounds
    (``ge``/``gt``/``le``/``lt``, applied to numbers and to each number of a list, tuple or
    dict of numbers), ``choices`` (allowed strings) and ``section`` (a nested dataclass)."""
    meta = {"help": help, "ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices, "section": section}
    if factory is not _MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class _Bad(Exception):
    """A value that does not fit; the message says what the key needs."""


def _needs(f: dataclasses.Field, tp: Any) -> str:
    """'a float > 0', 'an integer >= 1', 'one of a, b', ... for a field."""
    m = f.metadata
    if m.get("choices"):
        return "one of " + ", ".join(map(str, m["choices"]))
    bounds = [f"{op} {m[k]:g}" for k, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")) if m.get(k) is not None]
    return type_name(tp) + (" " + " and ".join(bounds) if bounds else "")


def type_name(tp: Any) -> str:
    """A readable name of a type annotation: 'float', 'integer', 'list of floats', 'float or null'."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else type_name(a) for a in args)
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    if tp is Any:
        return "any value"
    if origin is tuple:
        return f"a list of {len(args)} numbers"
    if tp is list or origin is list:
        return "a list" + (f" of {type_name(args[0]).split(' ', 1)[-1]}s" if args else "")
    if tp is dict or origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _number(v: Any, integer: bool) -> float | int:
    if isinstance(v, bool):
        raise _Bad
    if isinstance(v, str):  # YAML 1.1 reads 1e-4 as a string; --set passes JSON text
        try:
            v = float(v.strip()) if not integer or any(c in v for c in ".eE") else int(v.strip())
        except ValueError:
            raise _Bad from None
    if not isinstance(v, (int, float)) or isinstance(v, float) and not math.isfinite(v):
        raise _Bad
    if integer:
        if isinstance(v, float) and not v.is_integer():
            raise _Bad
        return int(v)
    return float(v)


def _check_bounds(v: float, m: dict) -> None:
    if (m.get("gt") is not None and not v > m["gt"]) or (m.get("ge") is not None and not v >= m["ge"]) \
            or (m.get("lt") is not None and not v < m["lt"]) or (m.get("le") is not None and not v <= m["le"]):
        raise _Bad


def _convert(v: Any, tp: Any, m: dict) -> Any:
    """v converted to annotation `tp` (raises _Bad); bounds apply to every number inside."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if v is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(v, a, m)
            except _Bad:
                continue
        raise _Bad
    if tp is Any:
        return v
    if tp in (int, float):
        out = _number(v, tp is int)
        _check_bounds(out, m)
        return out
    if tp is bool:
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower() == "true"
        raise _Bad
    if tp is str:
        if not isinstance(v, str) or not v or (m.get("choices") and v not in m["choices"]):
            raise _Bad
        return v
    if origin is tuple:
        if not isinstance(v, (list, tuple)) or len(v) != len(args):
            raise _Bad
        return tuple(_convert(x, a, m) for x, a in zip(v, args))
    if tp is list or origin is list:
        if not isinstance(v, (list, tuple)):
            raise _Bad
        return [_convert(x, args[0], m) for x in v] if args else list(v)
    if tp is dict or origin is dict:
        if not isinstance(v, dict):
            raise _Bad
        if not args:
            return dict(v)
        def key(k: Any) -> Any:  # YAML reads {4: 64} with int keys; tables are keyed by "4"
            return str(k) if args[0] is str and isinstance(k, int) and not isinstance(k, bool) else _convert(k, args[0], {})

        return {key(k): _convert(x, args[1], m) for k, x in v.items()}
    raise _Bad


def _hints(cls: type) -> dict:
    return typing.get_type_hints(cls)


def parse_section(cls: type, data: Any, prefix: str, source: str) -> dict:
    """Convert and check `data` (a mapping) against dataclass `cls`: unknown keys, wrong types
    and out-of-range values are a one-line GrowganError naming ``prefix.key`` and what it
    needs. Returns the converted values of the keys present (absent keys keep defaults)."""
    where = f"{prefix}: " if prefix else ""
    if not isinstance(data, dict):
        raise GrowganError(f"{source}: {where}needs a mapping of keys to values, got {data!r:.60}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in data if k not in fields)
    if unknown:
        keys = ", ".join(f"{prefix}.{k}" if prefix else k for k in unknown)
        raise GrowganError(f"{source}: unknown config key(s) {keys}; known: {', '.join(sorted(fields))}")
    hints, out = _hints(cls), {}
    for name, value in data.items():
        f, key = fields[name], f"{prefix}.{name}" if prefix else name
        sub = f.metadata.get("section")
        if sub is not None and value is not None:
            out[name] = parse_section(sub, value, key, source)
            continue
        try:
            out[name] = _convert(value, hints[name], f.metadata)
        except _Bad:
            raise GrowganError(f"{source}: {key}={value!r:.60} is not valid; {key} needs {_needs(f, hints[name])}") from None
    return out


def section_keys(cls: type, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """(dotted key, type name, default, one-line help) of every field of `cls`, nested
    sections expanded (for `growgan train --show-keys` and the fuzz test)."""
    rows = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        default = f.default if f.default is not _MISSING else (f.default_factory() if f.default_factory is not _MISSING else None)
        rows.append((key, _needs(f, hints[f.name]), default, f.metadata.get("help", "")))
        if f.metadata.get("section") is not None:
            rows += section_keys(f.metadata["section"], key)
    return rows
