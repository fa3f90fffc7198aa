"""kato's output formats (bare YAML, JSON, flat) and `config set`'s type guessing."""

from __future__ import annotations

import json
import re

_INT = re.compile(r"^[-+]?[0-9]+$")
_NUMBERISH = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_PLAIN_UNSAFE_START = set("-?:,[]{}#&*!|>'\"%@`~ ")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n", ""}


def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    s = str(value)
    if any(ord(c) < 32 for c in s):
        return json.dumps(s)          # double quotes escape control characters
    if (s.lower() in _YAML_WORDS or _NUMBERISH.match(s) or s[0] in _PLAIN_UNSAFE_START
            or s != s.strip() or ": " in s or " #" in s or s.endswith(":")):
        return "'" + s.replace("'", "''") + "'"   # like Ruby's Psych: single-quote ambiguity
    return s


def _lines(value, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        out = []
        for k, v in value.items():
            key = _scalar(str(k))
            if isinstance(v, dict) and v:
                out.append(f"{pad}{key}:")
                out.extend(_lines(v, indent + 2))
            elif isinstance(v, list) and v:
                out.append(f"{pad}{key}:")
                out.extend(_lines(v, indent))      # Psych style: list items at key's indent
            else:
                out.append(f"{pad}{key}: {_inline(v)}")
        return out
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        out = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = _lines(item, indent + 2)
                out.append(f"{pad}- {sub[0].lstrip()}")
                out.extend(sub[1:])
            else:
                out.append(f"{pad}- {_inline(item)}")
        return out
    return [pad + _scalar(value)]


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def to_yaml(value) -> str:
    """Bare YAML (no '---'): a scalar is one line, a map `key: value` lines, a list `- item`."""
    return "\n".join(_lines(value, 0)) + "\n"


def to_json(value) -> str:
    return json.dumps(value, indent=2) + "\n"


def _flat(prefix: str, value, out: list[str]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flat(f"{prefix}/{k}" if prefix else str(k), v, out)
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            _flat(f"{prefix}/{i}" if prefix else str(i), v, out)
    else:
        text = value if isinstance(value, str) else json.dumps(value)
        out.append(f"{prefix} {text}" if prefix else text)


def to_flat(value, prefix: str = "") -> str:
    """`<full-config-path> <value>` lines; the path starts with the component."""
    out: list[str] = []
    _flat(prefix.strip("/"), value, out)
    return "".join(line + "\n" for line in out)


def guess(raw: str):
    """`config set` without --json: (value, type name for the WARNING line)."""
    text = raw.strip()
    if text in ("true", "false"):
        return text == "true", "bool"
    if _INT.match(text):
        return int(text), "int"
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text), "struct"
        except ValueError:
            pass
    return raw, "string"
