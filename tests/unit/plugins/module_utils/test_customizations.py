# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The customization rules: classify, merge3, restore_action, excluded."""

import pytest

from ansible_collections.stackato.cluster.plugins.module_utils import _customizations as c

OLD = "# Stackato 3.4.2\nworker_processes 2;\nevents {}\n"
NEW = "# Stackato 3.6.2\nworker_processes 2;\nevents {}\n"


@pytest.mark.parametrize("path,digest,pristine,expected", [
    ("/s/etc/a", "x", {"/s/etc/a": "x"}, "pristine"),
    ("/s/etc/a", "y", {"/s/etc/a": "x"}, "modified"),
    ("/s/etc/b", "y", {"/s/etc/a": "x"}, "new"),
    ("/s/etc/b", "y", {}, "new"),
])
def test_classify(path, digest, pristine, expected):
    assert c.classify(path, digest, pristine) == expected


@pytest.mark.parametrize("path,patterns,expected", [
    ("/s/code/sentinel/cli/bin/sentinel", ["/s/code/sentinel"], True),
    ("/s/code/sentinel2/x", ["/s/code/sentinel"], False),
    ("/s/etc/a.pyc", ["*.pyc"], True),
    ("/s/etc/a.py", ["*.pyc"], False),
    ("/s/etc/a", [], False),
    ("/s/etc/a", None, False),
])
def test_excluded(path, patterns, expected):
    assert c.excluded(path, patterns) is expected


@pytest.mark.parametrize("old,new,custom,merged", [
    # an edit away from the release's change is carried over
    (OLD, NEW, OLD.replace("2;", "4;"), NEW.replace("2;", "4;")),
    # appended lines survive
    (OLD, NEW, OLD + "# mine\n", NEW + "# mine\n"),
    # the release changed nothing: the customized text
    (OLD, OLD, OLD + "x\n", OLD + "x\n"),
    # no customization: the new text
    (OLD, NEW, OLD, NEW),
    # the same edit on both sides is applied once
    (OLD, NEW, NEW, NEW),
    # deleting a line the release left alone
    (OLD, NEW, OLD.replace("events {}\n", ""), NEW.replace("events {}\n", "")),
    # empty files
    ("", "a\n", "", "a\n"),
])
def test_merge3_clean(old, new, custom, merged):
    assert c.merge3(old, new, custom) == (merged, [])


@pytest.mark.parametrize("old,new,custom,lines", [
    # both changed the first line
    (OLD, NEW, OLD.replace("# Stackato 3.4.2", "# ours"), [1, 1]),
    # an insertion right after a line the release changed
    (OLD, NEW, "# Stackato 3.4.2\n# mine\nworker_processes 2;\nevents {}\n", [2, 2]),
    # the customization deleted the line the release changed
    (OLD, NEW, OLD.replace("# Stackato 3.4.2\n", ""), [1, 1]),
])
def test_merge3_conflict(old, new, custom, lines):
    merged, conflicts = c.merge3(old, new, custom)
    assert merged is None
    assert [x["base_lines"] for x in conflicts] == [lines]
    assert conflicts[0]["release"] in ("", "# Stackato 3.6.2\n")


def B(text):
    return text.encode()


@pytest.mark.parametrize("kind,current,new,old,custom,action,write,aside", [
    # new files
    ("new", None, None, None, B("n"), "restored", B("n"), None),
    ("new", B("n"), None, None, B("n"), "unchanged", None, None),
    ("new", B("other"), None, None, B("n"), "conflict", None, B("n")),
    ("new", B("rel"), B("rel"), None, B("n"), "conflict", None, B("n")),
    ("new", B("n"), B("n"), None, B("n"), "unchanged", None, None),
    # modified files
    ("modified", B(NEW), B(NEW), B(OLD), B(OLD + "# mine\n"), "merged", B(NEW + "# mine\n"), None),
    ("modified", B(NEW + "# mine\n"), B(NEW), B(OLD), B(OLD + "# mine\n"), "unchanged", None, None),
    ("modified", B(NEW), B(NEW), B(OLD), B(OLD.replace("3.4.2", "x")), "conflict", None, B(OLD.replace("3.4.2", "x"))),
    ("modified", B(OLD), B(OLD), B(OLD), B(OLD + "x\n"), "restored", B(OLD + "x\n"), None),
    # the release dropped the file: the customized one comes back
    ("modified", None, None, B(OLD), B("c"), "restored", B("c"), None),
    # binary files: carried only when the release left them alone
    ("modified", b"\xff\x00", b"\xff\x00", b"\xff\x00", b"\xff\x01", "restored", b"\xff\x01", None),
    ("modified", b"\xff\x02", b"\xff\x02", b"\xff\x00", b"\xff\x01", "conflict", None, b"\xff\x01"),
])
def test_restore_action(kind, current, new, old, custom, action, write, aside):
    got = c.restore_action({"kind": kind}, current, new, old, custom)
    assert got[:3] == (action, write, aside)
    assert bool(got[3]) == (action == "conflict")
