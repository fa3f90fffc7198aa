"""kato's output formats and argument parsing (in-process, no cluster)."""

from __future__ import annotations

import pytest

from stackato_sim import katofmt
from stackato_sim.kato import UsageError, parse


@pytest.mark.parametrize("value, text", [
    (False, "false\n"), (3, "3\n"), (None, "null\n"), ("plain text", "plain text\n"),
    ("a: b", "'a: b'\n"), ("", "''\n"), ("yes", "'yes'\n"), ("1.5", "'1.5'\n"),
    ("it's", "it's\n"), ("- x", "'- x'\n"), ("two\nlines", '"two\\nlines"\n'),
    ([], "[]\n"), ({}, "{}\n"), (["a", 1, True], "- a\n- 1\n- true\n"),
    ({"a": {"b": [1, {"c": "d", "e": []}]}, "f": {}},
     "a:\n  b:\n  - 1\n  - c: d\n    e: []\nf: {}\n"),
])
def test_yaml(value, text):
    assert katofmt.to_yaml(value) == text


def test_flat():
    assert katofmt.to_flat({"acl": {"enabled": False, "rules": ["x y"]}, "n": {}}, "router2g") == (
        "router2g/acl/enabled false\nrouter2g/acl/rules/0 x y\nrouter2g/n {}\n")
    assert katofmt.to_flat(True, "c/k") == "c/k true\n"


@pytest.mark.parametrize("raw, value, kind", [
    ("true", True, "bool"), ("false", False, "bool"), ("-12", -12, "int"),
    ("[1]", [1], "struct"), ('{"a":1}', {"a": 1}, "struct"), ("[oops", "[oops", "string"),
    ("1.5", "1.5", "string"), ("True", "True", "string"),
])
def test_guess(raw, value, kind):
    assert katofmt.guess(raw) == (value, kind)


def test_parse_options_anywhere():
    spec = {"-j": ("json", False), "-b": ("block", True), "--node": ("node", True)}
    assert parse(["a", "-j", "b", "--node=1.2.3.4", "-b", "5", "-3"], spec) == (
        {"json": True, "node": "1.2.3.4", "block": "5"}, ["a", "b", "-3"])
    assert parse(["--", "-j"], spec) == ({}, ["-j"])
    with pytest.raises(UsageError):
        parse(["--nope"], spec)
    assert parse(["--exclude-droplets"], spec, tolerant=True)[0] == {"exclude-droplets": True}
