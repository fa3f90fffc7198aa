# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kato's role group data-services (contract section 2) means the same roles to kato_role and to the simulator."""

from __future__ import annotations

import sys
from pathlib import Path

from ansible_collections.stackato.cluster.plugins.modules import kato_role

CONTRACT = {"filesystem", "mysql", "postgresql", "mongodb", "redis", "rabbit", "rabbit3", "memcached"}


def test_data_services_group_is_the_contracts_in_module_and_simulator():
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "simulator"))
    try:
        from stackato_sim import roles
    finally:
        sys.path.pop(0)
    assert set(kato_role.ROLE_GROUPS["data-services"]) == CONTRACT
    assert set(roles.ROLE_GROUPS["data-services"]) == CONTRACT
