# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Stackato version order as a Jinja test, for select/reject in roles.

The comparison itself is the one of the modules and the filter
P(stackato.cluster.version_compare#filter): this test only wraps it.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: release
version_added: 1.0.0
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
short_description: Compare a Stackato release with another, numerically
description:
  - True when the tested version relates to O(right) as O(operator) says, with the numeric order of
    P(stackato.cluster.version_compare#filter) (V(3.4.2) < V(3.6.0) < V(3.6.2); V(3.6) equals V(3.6.0)).
  - Use it where a test is needed, as in C(select) and C(reject); fails on anything that is not digits and dots.
positional: right, operator
options:
  _input:
    description: The version tested.
    type: str
    required: true
  right:
    description: The version compared with.
    type: str
    required: true
  operator:
    description: How the tested version must relate to O(right).
    type: str
    default: "=="
    choices: ["<", "lt", "<=", "le", "==", "=", "eq", "!=", "<>", "ne", ">=", "ge", ">", "gt"]
"""

EXAMPLES = r"""
behind: "{{ versions | select('stackato.cluster.release', stackato_target_version, '<') | list }}"
at_target: "{{ kato_state.version is stackato.cluster.release('3.6.2') }}"
"""

RETURN = r"""
_value:
  description: Whether the comparison holds.
  type: bool
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.stackato.cluster.plugins.filter.rules import version_compare


def release(left, right, operator="=="):
    """Whether left <operator> right, in the Stackato version order."""
    result = version_compare(left, right, operator)
    if not isinstance(result, bool):
        raise AnsibleFilterError(f"release: unexpected comparison result {result!r}")
    return result


class TestModule:
    """The stackato.cluster Jinja tests."""

    def tests(self):
        return {"release": release}
