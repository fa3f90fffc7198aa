# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What an upgrade run would do, in the playbook's order: pure functions, no I/O.

``playbooks/upgrade.yml`` upgrades the DEAs one at a time (``dea:!core``), then the routers
(``router:!dea:!core``), the controllers, the data-services nodes together, and the core node
last; :data:`STAGES` is that order. A node at the target is skipped. The window (maintenance mode
on) opens only when a node is below the target, and closes after every node has restarted.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.stackato.cluster.plugins.module_utils._kato import compare_versions

# (group, what the stage is called, one node at a time?) in the order of playbooks/upgrade.yml
STAGES = (("dea", "DEAs", True), ("router", "routers", True), ("controller", "controllers", True),
          ("data_services", "data-services nodes", False), ("core", "the core node", True))


def upgrade_order(groups):
    """``[(stage, [hosts])]``: every host once, in the first stage whose group holds it (core last)."""
    groups = groups if isinstance(groups, Mapping) else {}
    core = [str(h) for h in groups.get("core") or []]
    seen = set(core)
    order = []
    for group, label, serial in STAGES:
        hosts = core if group == "core" else [str(h) for h in groups.get(group) or [] if str(h) not in seen]
        seen.update(hosts)
        order.append(((group, label, serial), hosts))
    return order


def _below(version, target):
    try:
        return compare_versions(str(version), str(target)) < 0
    except ValueError:
        return True


def upgrade_plan(groups, versions, target, backup=True, restart=True):
    """The plan of a run as lines to print: the window, each stage's nodes in order, and the end.

    ``versions`` is ``{host: version}`` as read now (a host without one is shown as unknown and
    counted as to upgrade)."""
    versions = versions if isinstance(versions, Mapping) else {}
    order = upgrade_order(groups)
    pending = [h for _stage, hosts in order for h in hosts if _below(versions.get(h) or "0", target)]
    if not pending:
        return [f"Plan: every node already runs {target}: nothing to upgrade, maintenance mode is not touched."]
    lines = [f"Plan: upgrade {len(pending)} node(s) to {target}, in this order, inside one maintenance window:",
             "1. turn maintenance mode on (kato config set cloud_controller_ng maintenance_mode true on the core): "
             "the API becomes read-only, apps keep serving web requests"]
    step = 2
    if backup:
        lines.append(f"{step}. back up all data (kato data export on the core), fetched to the controller")
        step += 1
    for (group, label, serial), hosts in order:
        if not hosts:
            continue
        shown = ", ".join(f"{h} {versions.get(h) or '?'} -> {target}" if h in pending else f"{h} (at {target}, skipped)"
                          for h in hosts)
        how = "one at a time" if serial and len(hosts) > 1 else ("together" if len(hosts) > 1 else "")
        retire = ", each retired first so its app instances move to the other DEAs" if group == "dea" else ""
        lines.append(f"{step}. upgrade {label}{' ' + how if how else ''}{retire}: {shown}")
        step += 1
    if restart:
        lines.append(f"{step}. restart every node (kato restart), check that every node runs {target}")
        step += 1
    lines.append(f"{step}. turn maintenance mode off: the window closes")
    return lines
