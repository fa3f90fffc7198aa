# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rules on the operator's input (``plugins/module_utils/_inputs.py``) and the upgrade's plan
(``plugins/module_utils/_plan.py``) as filters.

The documentation of each filter is the ``<filter name>.yml`` file next to this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.stackato.cluster.plugins.module_utils import _inputs, _plan


def input_findings(facts):
    try:
        return _inputs.input_findings(facts)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.input_findings: {exc}") from exc


def upgrade_plan(groups, versions, target, backup=True, restart=True):
    try:
        return _plan.upgrade_plan(groups, versions, target, backup, restart)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.upgrade_plan: {exc}") from exc


class FilterModule:
    """The stackato.cluster input rules and upgrade plan."""

    def filters(self):
        return {"input_findings": input_findings, "upgrade_plan": upgrade_plan}
