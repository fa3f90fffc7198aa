# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rules on the operator's input (``plugins/module_utils/_inputs.py``) as a filter.

The documentation of the filter is ``input_findings.yml`` next to this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.stackato.cluster.plugins.module_utils import _inputs


def input_findings(facts):
    try:
        return _inputs.input_findings(facts)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.input_findings: {exc}") from exc


class FilterModule:
    """The stackato.cluster input rules."""

    def filters(self):
        return {"input_findings": input_findings}
