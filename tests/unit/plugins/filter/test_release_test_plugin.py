# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Jinja test stackato.cluster.release: the modules' numeric version order, for select/reject."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.stackato.cluster.plugins.test.release import TestModule, release


@pytest.mark.parametrize("left, right, operator, expected", [
    ("3.6.2", "3.6.2", "==", True),
    ("3.6", "3.6.0", "==", True),
    ("3.4.2", "3.6.2", "<", True),
    ("3.10.0", "3.9.0", ">", True),      # numeric, not string order
    ("3.10.0", "3.9.0", "<", False),
    ("3.6.2", "3.6.1", "ge", True),
    ("3.6.2", "3.6.2", "!=", False),
])
def test_release_order(left, right, operator, expected):
    assert release(left, right, operator) is expected


def test_release_default_is_equality():
    assert release("3.6.2.0", "3.6.2") is True


@pytest.mark.parametrize("left, right, operator", [("3.6.x", "3.6.2", "<"), ("3.6.2", "3.6.2", "~")])
def test_release_refuses_garbage(left, right, operator):
    with pytest.raises(AnsibleFilterError):
        release(left, right, operator)


def test_release_is_registered():
    assert TestModule().tests() == {"release": release}
