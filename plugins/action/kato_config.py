# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller side of kato_config: its option ``order`` (plugin_utils/_ordered_action.py)."""

from __future__ import annotations

from ansible_collections.stackato.cluster.plugins.plugin_utils._ordered_action import OrderedModuleAction


class ActionModule(OrderedModuleAction):
    pass
