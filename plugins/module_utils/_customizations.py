# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The rules of customizations: which files an upgrade would lose, and how they come back.

Pure functions, table-tested in tests/unit/plugins/module_utils/test_customizations.py:

- :func:`classify` tells a file under the customizable trees apart: ``pristine`` (as the
  installed release shipped it), ``modified`` (the release shipped it, its content differs) or
  ``new`` (no installed component ships it).
- :func:`merge3` applies the customized hunks (old pristine -> customized) onto the new pristine
  when none of them overlaps a change the release made (old pristine -> new pristine); otherwise
  it reports every overlapping hunk as a conflict and merges nothing.
- :func:`restore_action` decides, per saved file, what the restore does after the upgrade.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib

# Default trees the seed names ("Upgrading with Customizations").
TREES = ("/s/code", "/s/etc", "/s/static")
CUSTOMIZED_SUFFIX = ".customized"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def excluded(path, patterns):
    """True when path matches a glob pattern, or lies under a directory a pattern names."""
    for pattern in patterns or ():
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern + "/"):
            return True
    return False


def classify(path, content_sha256, pristine):
    """'pristine', 'modified' or 'new' for a file, given {path: sha256} of the installed release."""
    expected = pristine.get(path)
    if expected is None:
        return "new"
    return "pristine" if expected == content_sha256 else "modified"


def _hunks(old, new):
    """[(i1, i2, replacement lines)] turning old into new."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [(i1, i2, tuple(new[j1:j2])) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _overlap(a, b):
    """Two hunks over the same base touch: their ranges intersect, or one inserts at or inside the other."""
    a1, a2 = a[0], a[1]
    b1, b2 = b[0], b[1]
    if a1 == a2 or b1 == b2:
        return a1 <= b2 and b1 <= a2
    return a1 < b2 and b1 < a2


def merge3(old, new, custom):
    """Three-way line merge of texts: (merged text or None, [conflicts]).

    A conflict is {"base_lines": [first, last] (1-based, of the old pristine), "release": text,
    "customized": text}. With any conflict nothing is merged (merged is None)."""
    old_l, new_l, custom_l = (t.splitlines(True) for t in (old, new, custom))
    release = _hunks(old_l, new_l)
    mine = _hunks(old_l, custom_l)
    conflicts = []
    for hunk in mine:
        for theirs in release:
            if hunk == theirs or not _overlap(hunk, theirs):
                continue
            conflicts.append({"base_lines": [hunk[0] + 1, max(hunk[0] + 1, hunk[1])],
                              "release": "".join(theirs[2]), "customized": "".join(hunk[2])})
    if conflicts:
        return None, conflicts
    edits = sorted(set(release) | set(mine), key=lambda h: (h[0], h[1]))
    out, pos = [], 0
    for i1, i2, lines in edits:
        out.extend(old_l[pos:i1])
        out.extend(lines)
        pos = i2
    out.extend(old_l[pos:])
    return "".join(out), []


def restore_action(entry, current, new_pristine, old_pristine=None, custom=None):
    """What the restore does with one saved file after the upgrade.

    entry: {"kind": "new"|"modified"}; current: bytes now on the node or None (missing);
    new_pristine: bytes of the file in the new release or None (the release ships no such file);
    old_pristine, custom: bytes. Returns (action, content to write at the path or None,
    content to keep beside it as <path>.customized or None, conflicts):
      unchanged | restored | merged | conflict | aside-unchanged."""
    if entry["kind"] == "new" or new_pristine is None:
        if new_pristine is not None and new_pristine != custom:
            # the release brought a file of that name: keep the release's, the customized beside it
            return "conflict", None, custom, [{"reason": "the new release ships a file of this name"}]
        if current == custom:
            return "unchanged", None, None, []
        if current is None or new_pristine is not None:
            return "restored", custom, None, []
        return "conflict", None, custom, [{"reason": "the file changed on the node since it was saved"}]
    try:
        texts = [b.decode("utf-8") for b in (old_pristine, new_pristine, custom)]
    except (UnicodeDecodeError, AttributeError):
        texts = None
    if texts is None:
        if old_pristine == new_pristine:
            merged, conflicts = custom, []
        else:
            merged, conflicts = None, [{"reason": "binary file changed by both the release and the customization"}]
    else:
        text, conflicts = merge3(*texts)
        merged = None if text is None else text.encode("utf-8")
    if conflicts:
        return "conflict", None, custom, conflicts
    if current == merged:
        return "unchanged", None, None, []
    return ("restored" if merged == custom else "merged"), merged, None, []
