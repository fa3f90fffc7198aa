# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The option ``order`` of kato_upgrade and kato_role, once: the modules accept it (it never reaches them: their
action plugins take it out, plugins/plugin_utils/_ordered_action.py) and the action plugins validate it."""

from __future__ import annotations

ORDER_OPTIONS = dict(
    dir=dict(type="path", required=True),
    name=dict(type="str", required=True),
    after=dict(type="list", elements="str", default=[]),
    run=dict(type="bool", default=True),
    timeout=dict(type="int", default=0),
)
ORDER_ARG_SPEC = dict(type="dict", options=ORDER_OPTIONS)
