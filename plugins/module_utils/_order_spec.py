# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The option ``order`` of kato_upgrade and kato_role, once: the modules accept it and the action plugins
validate it (plugins/plugin_utils/_ordered_action.py). The action plugin takes it out of the module's arguments;
when it starts the module early (``early``) it passes it back with ``gate`` set (module_utils/_gate.py), which
is the action plugin's to set, never the task's."""

from __future__ import annotations

ORDER_OPTIONS = dict(
    dir=dict(type="path", required=True),
    name=dict(type="str", required=True),
    after=dict(type="list", elements="str", default=[]),
    run=dict(type="bool", default=True),
    timeout=dict(type="int", default=0),
    early=dict(type="bool", default=True),
    gate=dict(type="dict", options=dict(
        path=dict(type="str", required=True),
        timeout=dict(type="int", required=True),
    )),
)
ORDER_ARG_SPEC = dict(type="dict", options=ORDER_OPTIONS)
