# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What an upgrade run would do, in the playbook's order: pure functions, no I/O.

``playbooks/upgrade.yml`` upgrades the nodes in waves (:func:`upgrade_waves`): the nodes of one
wave upgrade at the same time, and no wave holds two nodes of one redundant group
(:data:`REDUNDANT_GROUPS`: two DEAs, two routers, two controllers), so the other members of each
group keep serving; the data-services nodes hold their own services (no redundancy between them)
and join the waves where they lengthen them least; the core node is upgraded last, alone. The
restarts that close the window follow the same waves. A node at the target is skipped. The window
(maintenance mode on) opens only when a node is below the target, and closes after every node has
restarted.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.stackato.cluster.plugins.module_utils._kato import compare_versions

# The inventory groups of a cluster's nodes (architecture.md, "Inventory model").
NODE_GROUPS = ("core", "dea", "router", "controller", "data_services")
# Never two nodes of one of these groups out at the same time: the others keep serving (a DEA's app
# instances run on the other DEAs, the other routers take the requests, the other controllers the API).
REDUNDANT_GROUPS = ("dea", "router", "controller")
GROUP_LABELS = {"core": "core node", "dea": "DEA", "router": "router", "controller": "controller", "data_services": "data services"}


def _hosts(groups, group):
    return [str(h) for h in groups.get(group) or []]


def node_weight(host, groups, kato_roles=None):
    """What a node's upgrade costs relative to the others: the number of release components it upgrades
    (its kato roles when known, else its inventory groups)."""
    kato_roles = kato_roles if isinstance(kato_roles, Mapping) else {}
    in_groups = [g for g in NODE_GROUPS if host in _hosts(groups, g)]
    return len(node_components(kato_roles.get(host), in_groups))


def upgrade_waves(groups, kato_roles=None, weights=None, hosts=None):
    """``[[hosts]]``: the waves of an upgrade (and of the restarts after it), each upgraded at the same time.

    ``groups`` is the inventory's ``groups``; every host of :data:`NODE_GROUPS` is in exactly one
    wave (only ``hosts`` when given). Rules: no wave holds two members of one redundant group; the
    core node(s) come last, each alone. Within a group the heaviest node goes first (``weights``
    ``{host: number}``, default :func:`node_weight`), so the waves pair nodes of like length; a
    node in several groups takes the first wave where none of its groups is taken; a node in no
    redundant group (data services) joins the wave it lengthens least (the earliest on a tie), or
    the first wave when there is none."""
    groups = groups if isinstance(groups, Mapping) else {}
    core = _hosts(groups, "core")
    seen, order = set(core), []
    for group in NODE_GROUPS[1:]:
        for host in _hosts(groups, group):
            if host not in seen:
                seen.add(host)
                order.append(host)
    if hosts is not None:
        wanted = {str(h) for h in hosts}
        core = [h for h in core if h in wanted]
        order = [h for h in order if h in wanted]
    weights = weights if isinstance(weights, Mapping) else {}

    def weight(host):
        value = weights.get(host)
        return float(value) if value is not None else float(node_weight(host, groups, kato_roles))

    member = {h: {g for g in REDUNDANT_GROUPS if h in _hosts(groups, g)} for h in order}
    grouped = sorted((h for h in order if member[h]),
                     key=lambda h: (-len(member[h]), -weight(h), order.index(h)))
    waves, taken = [], []
    for host in grouped:
        for index, used in enumerate(taken):
            if not used & member[host]:
                break
        else:
            index = len(waves)
            waves.append([])
            taken.append(set())
        waves[index].append(host)
        taken[index] |= member[host]
    free = sorted((h for h in order if not member[h]), key=lambda h: (-weight(h), order.index(h)))
    for host in free:
        if not waves:
            waves.append([])
        lengths = [max((weight(h) for h in wave), default=0.0) for wave in waves]
        added = [max(length, weight(host)) - length for length in lengths]
        waves[added.index(min(added))].append(host)
    waves = [sorted(wave, key=order.index) for wave in waves if wave]
    return waves + [[host] for host in core]


def upgrade_after(groups, hosts=None, kato_roles=None):
    """``{host: [hosts]}``: the nodes each node of an upgrade in order (and of the restarts after it) starts after.

    The order of :func:`upgrade_waves` without its lock step: a node follows, in each redundant group it is in,
    the member of that group in the nearest earlier wave; a node in no redundant group (data services) follows
    none; the core node(s) follow every other node (and the core node before them). So never two nodes of one
    redundant group at once, the core last, and a DEA starts as soon as the DEA before it is done instead of
    when the whole wave is. Every host of ``hosts`` (of :data:`NODE_GROUPS` when not given) has an entry; the
    relation has no cycle (each node follows nodes of earlier waves only)."""
    waves = upgrade_waves(groups, kato_roles, hosts=hosts)
    groups = groups if isinstance(groups, Mapping) else {}
    core = set(_hosts(groups, "core"))
    last = {}
    after, before_core = {}, []
    for wave in waves:
        for host in wave:
            if host in core:
                after[host] = list(before_core)
                before_core.append(host)
                continue
            member = [g for g in REDUNDANT_GROUPS if host in _hosts(groups, g)]
            after[host] = sorted({last[g] for g in member if g in last})
            before_core.append(host)
        for host in wave:
            for group in REDUNDANT_GROUPS:
                if host not in core and host in _hosts(groups, group):
                    last[group] = host
    return after


# Which group's first node begins first when they tie (a DEA's turn also retires it: the longest turn).
FIRST_GROUPS = ("dea", "controller", "router")


def upgrade_first(groups, hosts=None, kato_roles=None):
    """``[host]``: of the nodes an upgrade in order begins with (they follow none, :func:`upgrade_after`), the one
    told first, alone, before the others: the first node of the redundant group whose nodes take longest together
    (the sum of :func:`node_weight` over its members other than the core node; on a tie DEAs, then controllers,
    then routers). That group's nodes go one after the other, so it decides when the core node can begin; the
    others have time to spare. Empty when no redundant group has a node outside the core node."""
    groups = groups if isinstance(groups, Mapping) else {}
    after = upgrade_after(groups, hosts=hosts, kato_roles=kato_roles)
    core = set(_hosts(groups, "core"))
    best, best_weight = None, 0
    for group in FIRST_GROUPS:
        members = [h for h in after if h in _hosts(groups, group) and h not in core]
        weight = sum(node_weight(h, groups, kato_roles) for h in members)
        if members and weight > best_weight:
            best, best_weight = members, weight
    heads = [h for h in best or [] if not after[h]]
    return heads[:1]


def upgrade_order(groups, kato_roles=None):
    """``[(wave label, [hosts])]``: :func:`upgrade_waves` with a label each ("wave 1", ..., "the core node")."""
    groups = groups if isinstance(groups, Mapping) else {}
    core = set(_hosts(groups, "core"))
    return [("the core node" if set(wave) <= core else f"wave {number}", wave)
            for number, wave in enumerate(upgrade_waves(groups, kato_roles), start=1)]


def _below(version, target):
    try:
        return compare_versions(str(version), str(target)) < 0
    except ValueError:
        return True


def _shown(host, groups, versions, target, pending):
    roles = "/".join(GROUP_LABELS[g] for g in NODE_GROUPS if host in _hosts(groups, g)) or "node"
    retire = ", retired first" if host in _hosts(groups, "dea") and host not in _hosts(groups, "core") else ""
    now = f"{versions.get(host) or '?'} -> {target}" if pending else f"at {target}, skipped"
    return f"{host} [{roles}{retire}] {now}"


def upgrade_plan(groups, versions, target, backup=True, restart=True):
    """The plan of a run as lines to print: the window, each stage's nodes in order, and the end.

    ``versions`` is ``{host: version}`` as read now (a host without one is shown as unknown and
    counted as to upgrade)."""
    versions = versions if isinstance(versions, Mapping) else {}
    order = upgrade_order(groups)
    pending = [h for _label, hosts in order for h in hosts if _below(versions.get(h) or "0", target)]
    if not pending:
        return [f"Plan: every node already runs {target}: nothing to upgrade, maintenance mode is not touched."]
    lines = [f"Plan: upgrade {len(pending)} node(s) to {target} in waves inside one maintenance window "
             "(never two DEAs, two routers or two controllers at once; the core node last):",
             "1. turn maintenance mode on (kato config set cloud_controller_ng maintenance_mode true on the core): "
             "the API becomes read-only, apps keep serving web requests"]
    step = 2
    if backup:
        lines.append(f"{step}. back up all data (kato data export on the core), fetched to the controller")
        step += 1
    for label, hosts in order:
        shown = ", ".join(_shown(h, groups, versions, target, h in pending) for h in hosts)
        if label == "the core node":
            lines.append(f"{step}. upgrade the core node last: {shown}")
        else:
            together = f"{len(hosts)} nodes together" if len(hosts) > 1 else "1 node"
            lines.append(f"{step}. upgrade {label}, {together}: {shown}")
        step += 1
    if restart:
        lines.append(f"{step}. restart every node in the same waves (kato restart), check that every node runs {target}")
        step += 1
    lines.append(f"{step}. turn maintenance mode off: the window closes")
    return lines


# --- estimates -------------------------------------------------------------------------------
# The components of a Stackato 3.x release by kato role, in kato's upgrade order (the release's
# component list; tests/simulator/stackato_sim/releases.py carries the same table, a unit test
# keeps them equal). A node upgrades every component of its roles ("base" is on every node).
RELEASE_COMPONENTS = {
    "base": ("stackato-kato", "stackato-base", "logyard", "nginx"),
    "dea": ("dea_ng", "fence", "apptail"),
    "controller": ("cloud_controller_ng", "aok", "console"),
    "router": ("router2g",),
    "primary": ("health_manager", "stackato-rest"),
    "mdns": ("mdns",), "filesystem": ("filesystem",), "mysql": ("mysql",), "postgresql": ("postgresql",),
    "mongodb": ("mongodb",), "redis": ("redis",), "rabbit": ("rabbit",), "rabbit3": ("rabbit3",),
    "memcached": ("memcached",), "harbor": ("harbor",),
}
DATA_SERVICE_ROLES = ("filesystem", "mysql", "postgresql", "mongodb", "redis", "rabbit", "rabbit3", "memcached", "harbor")
# kato roles assumed for an inventory group when kato's node list was not read.
GROUP_KATO_ROLES = {"core": ("base", "primary", "controller", "router"), "controller": ("base", "controller"),
                    "router": ("base", "router"), "dea": ("base", "dea"), "data_services": ("base",) + DATA_SERVICE_ROLES}
# No duration is documented for a component's upgrade: the collection's default per component,
# used until an earlier run measured the upgrade step (then seconds per component, measured).
DEFAULT_COMPONENT_SECONDS = 60.0
# The steps of one node's upgrade and of the whole cluster (the names of the event log's steps).
NODE_STEPS = ("gates", "retire", "upgrade", "ready", "verify")
CLUSTER_STEPS = ("maintenance on", "backup", "restart", "maintenance off")
# Defaults in seconds of the other steps (the same as _report.DEFAULT_DURATIONS). No gates by default:
# playbooks/upgrade.yml checks every node's free disk and memory before the window and turns maintenance mode on
# itself, so the waves run no gates (an earlier run that ran them measured them).
DEFAULT_STEP_SECONDS = {"gates": 0.0, "retire": 60.0, "ready": 120.0, "verify": 20.0,
                        "maintenance on": 5.0, "backup": 120.0, "restart": 180.0, "maintenance off": 5.0}


def node_components(kato_roles=None, groups_of_node=()):
    """The release's components a node upgrades: from its kato roles, else from its inventory groups."""
    roles = [str(r) for r in kato_roles or []]
    if "data-services" in roles:
        roles = [r for r in roles if r != "data-services"] + list(DATA_SERVICE_ROLES)
    if not roles:
        for group in groups_of_node or ():
            roles.extend(GROUP_KATO_ROLES.get(str(group), ()))
    roles = ["base"] + [r for r in roles if r != "base"]
    components = []
    for role in roles:
        for component in RELEASE_COMPONENTS.get(role, ()):
            if component not in components:
                components.append(component)
    return components


def kato_roles_by_host(node_ips=None, kato_nodes=None):
    """``{host: [kato roles]}`` from ``{host: stackato_node_ip}`` and kato's node list ``{ip: {"roles": [...]}}``
    (kato_info's ``nodes``); a host whose address kato does not list is left out."""
    node_ips = node_ips if isinstance(node_ips, Mapping) else {}
    kato_nodes = kato_nodes if isinstance(kato_nodes, Mapping) else {}
    roles = {}
    for host, ip in node_ips.items():
        entry = kato_nodes.get(str(ip)) if ip else None
        if isinstance(entry, Mapping) and entry.get("roles"):
            roles[str(host)] = [str(r) for r in entry["roles"]]
    return roles


def _median(values):
    values = sorted(float(v) for v in values)
    if not values:
        return None
    middle = len(values) // 2
    return round(values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2, 1)


def measured_steps(runs):
    """From earlier runs, each a list of ``{node, step, seconds, components}`` (steps that ended ok;
    ``components`` is the number of components the node upgraded, None when the run did not record it):
    ``{"steps": {step: [seconds]}, "per_component": [seconds per component of each measured upgrade]}``."""
    steps, per_component = {}, []
    for run in runs or []:
        for row in run or []:
            step, seconds = str(row.get("step")), row.get("seconds")
            if seconds is None:
                continue
            steps.setdefault(step, []).append(float(seconds))
            count = row.get("components")
            if step == "upgrade" and count:
                per_component.append(float(seconds) / int(count))
    return {"steps": steps, "per_component": per_component}


def step_estimate(step, measured=None, components=0):
    """``(seconds, source)`` of one step of one node: measured by earlier runs (median), else the default.

    The upgrade step scales with the node's components: the median measured seconds per component
    (earlier runs that recorded the node's components), else the median measured upgrade of a node,
    else DEFAULT_COMPONENT_SECONDS per component."""
    measured = measured or {}
    values = (measured.get("steps") or {}).get(step) or []
    if step == "upgrade":
        rate = _median(measured.get("per_component") or [])
        if rate is not None and components:
            return round(rate * components, 1), f"measured: {rate:g} s x {components} components"
        if values:
            return _median(values), f"measured: median of {len(values)} upgrade(s)"
        return round(DEFAULT_COMPONENT_SECONDS * max(1, components), 1), \
            f"default: {DEFAULT_COMPONENT_SECONDS:g} s x {max(1, components)} components"
    if values:
        return _median(values), f"measured: median of {len(values)}"
    return DEFAULT_STEP_SECONDS.get(step, 0.0), "default"


def next_command(inventory_sources, target, pending, failed):
    """The command to run next: the upgrade; after fixing the preflight failures, the plan again."""
    inventory = " ".join(f"-i {s}" for s in inventory_sources or []) or "-i <inventory>"
    if failed:
        return f"fix the preflight failures above, then: ansible-playbook stackato.cluster.plan {inventory}"
    if not pending:
        return "nothing: every node already runs the target"
    return f"ansible-playbook stackato.cluster.upgrade {inventory} -e stackato_target_version={target}"


def estimate(groups, versions, target, kato_roles=None, findings=(), failed=False, measured=None,
             inventory_sources=(), backup=True, restart=True):
    """The plan with its estimates, JSON-ready: per node (playbook order) its roles, current -> target,
    batch and position, components, each step's estimate and source; the cluster's steps; the
    maintenance window (maintenance on, backup, every wave of :func:`upgrade_waves` - its nodes
    together: the longest -, the restart, maintenance off); the preflight findings and the next command.

    ``kato_roles`` is ``{host: [kato roles]}`` (kato node list), ``findings`` the preflight
    summary's findings, ``measured`` from :func:`measured_steps`."""
    versions = versions if isinstance(versions, Mapping) else {}
    kato_roles = kato_roles if isinstance(kato_roles, Mapping) else {}
    groups = groups if isinstance(groups, Mapping) else {}
    target = str(target)
    order = upgrade_order(groups, kato_roles)
    rows, position, window_s, pending = [], 0, 0.0, []
    for batch, (label, hosts) in enumerate(order, start=1):
        lengths = []
        for host in hosts:
            position += 1
            in_groups = [g for g in NODE_GROUPS if host in _hosts(groups, g)]
            components = node_components(kato_roles.get(host), in_groups)
            is_pending = _below(versions.get(host) or "0", target)
            steps, sources = {}, {}
            if is_pending:
                pending.append(host)
                for step in NODE_STEPS:
                    if step == "retire" and "dea" not in in_groups and "dea" not in (kato_roles.get(host) or []):
                        continue
                    steps[step], sources[step] = step_estimate(step, measured, len(components))
            total = round(sum(steps.values()), 1)
            lengths.append(total)
            rows.append({"node": host, "roles": in_groups, "kato_roles": list(kato_roles.get(host) or []),
                         "current": versions.get(host), "target": target, "pending": is_pending, "batch": batch,
                         "batch_label": label, "one_at_a_time": len(hosts) == 1, "order": position,
                         "components": components, "steps": steps, "sources": sources, "estimate_s": total})
        # the nodes of a wave upgrade together: the wave lasts as long as its longest node
        window_s += max(lengths, default=0.0)
    cluster, cluster_sources = {}, {}
    if pending:
        for step in CLUSTER_STEPS:
            if (step == "backup" and not backup) or (step == "restart" and not restart):
                continue
            cluster[step], cluster_sources[step] = step_estimate(step, measured)
        window_s += sum(cluster.values())
    findings = [dict(f) for f in findings or [] if isinstance(f, Mapping)]
    return {"target": target, "nodes": rows, "pending": pending, "cluster_steps": cluster,
            "cluster_sources": cluster_sources, "window_s": round(window_s, 1) if pending else 0.0,
            "findings": findings, "preflight_failed": bool(failed),
            "next_command": next_command(inventory_sources, target, pending, failed)}


def _clock(seconds):
    seconds = int(round(max(0.0, float(seconds or 0))))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def estimate_lines(plan):
    """The plan of :func:`estimate` as lines to print."""
    if not plan["pending"]:
        lines = [f"Plan: every node already runs {plan['target']}: nothing to upgrade, no maintenance window."]
    else:
        lines = [f"Plan: upgrade {len(plan['pending'])} of {len(plan['nodes'])} node(s) to {plan['target']}; "
                 f"estimated maintenance window {_clock(plan['window_s'])} ({plan['window_s']:g} s)."]
    for row in plan["nodes"]:
        how = "alone" if row["one_at_a_time"] else "with the others of its wave"
        what = f"{row['current'] or '?'} -> {row['target']}" if row["pending"] else f"at {row['target']}, skipped"
        roles = ", ".join(row["kato_roles"] or row["roles"])
        lines.append(f"{row['order']}. {row['node']} [{roles}] {what}; batch {row['batch']} ({row['batch_label']}, {how})"
                     + (f"; {len(row['components'])} components; estimated {_clock(row['estimate_s'])}" if row["pending"] else ""))
        for step, seconds in row["steps"].items():
            lines.append(f"     {step} {_clock(seconds)} ({row['sources'][step]})")
    if plan["cluster_steps"]:
        lines.append("Cluster steps: " + ", ".join(f"{step} {_clock(s)} ({plan['cluster_sources'][step]})"
                                                   for step, s in plan["cluster_steps"].items()))
    tags = {"fail": "FAIL", "warn": "WARN", "info": "INFO"}
    found = [f"Preflight {tags.get(f.get('level'), str(f.get('level')).upper())} [{f.get('check')}] {f.get('msg')}"
             for f in plan["findings"]]
    lines.extend(found or ["Preflight: no finding."])
    lines.append(f"Next: {plan['next_command']}")
    return lines
