# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A DEA's retirement under the capacity rule: kato_node_retire runs it alone, kato_upgrade (option retire)
right before the node's upgrade in the same call.

The DEAs from C(kato node list) [doc], their memory from C(kato config get dea_ng resources/memory_mb --json)
[doc] or the overrides, which of them run C(dea_ng) from C(kato process list -c -j) [doc], the instances from
the Cloud Controller v2 API [doc]; the placement is the one rule of ``_rules.place_retirement``; then
C(kato node retire -n <node>) [doc]. A refusal changes nothing.
"""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KatoError,
    find_node,
    single_node_entry,
)
from ansible_collections.stackato.cluster.plugins.module_utils._rules import dea_nodes, place_retirement

RUNNING = ("RUNNING", "STARTING")
MEMORY_KEY = ("config", "get", "dea_ng", "resources/memory_mb", "--json")


def address(text):
    try:
        return str(ipaddress.ip_address(str(text).strip()))
    except ValueError:
        return str(text).strip()


class RetireError(KatoError):
    """The retirement was refused (nothing changed) or did not finish; ``extra`` has the partial result and the cause."""


def memory_overrides(values, option="dea_memory_mb"):
    """``values`` ({address: MB}) by address; a value that is not a positive whole number is refused (RetireError)."""
    overrides = {}
    for ip, value in (values or {}).items():
        try:
            memory = int(str(value).strip())
        except ValueError:
            memory = 0
        if memory <= 0:
            raise RetireError(f"{option}: {ip}: {value!r} is not a memory size in MB; give a whole number such as 4096",
                              cause="invalid_input", resumable=False)
        overrides[address(ip)] = memory
    return overrides


def dea_memory(client, dea_ips, overrides):
    """The cluster's dea_ng resources/memory_mb, or None when every DEA is in overrides. Fails when it is needed but unreadable."""
    missing = [ip for ip in dea_ips if ip not in overrides]
    if not missing:
        return None
    try:
        value = client.run_json(*MEMORY_KEY)
    except KatoError as exc:
        exc.msg = (f"could not read the DEA memory ({exc.msg}); set dea_memory_mb for {', '.join(missing)} "
                   f"(the roles pass stackato_dea_memory_mb), or check kato config get dea_ng resources/memory_mb")
        raise
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise KatoError(f"kato config get dea_ng resources/memory_mb gave {value!r}, not a memory size in MB; set "
                        f"dea_memory_mb for {', '.join(missing)} (the roles pass stackato_dea_memory_mb)",
                        cmd=" ".join(("kato",) + MEMORY_KEY))
    return int(value)


class _Warnings:
    """What stopped_deas warns about, kept until it is known to matter."""

    def __init__(self):
        self.messages = []

    def warn(self, message):
        self.messages.append(message)


def stopped_deas(module, client, deas, node):
    """The other DEAs whose dea_ng process is not running (they take no instances); unreadable ones count as stopped.

    One C(kato process list -c -j) for the whole cluster; per DEA (C(-n <ip> -j)) only when that call fails."""
    others = [ip for ip in deas if ip != node]
    try:
        data = client.run_json("process", "list", "-c", "-j")
        if not isinstance(data, dict):
            raise KatoError(f"kato process list -c -j returned {data!r}, expected a JSON object keyed by node IP")
    except KatoError as exc:
        module.warn(f"reading each DEA's processes instead: {exc.msg}")
        data = None
    stopped = []
    for ip in others:
        if data is not None:
            if ip not in data or not isinstance(data[ip], dict):
                module.warn(f"counting DEA {ip} as unavailable: kato process list -c -j does not list its processes")
                stopped.append(ip)
                continue
            processes = data[ip]
        else:
            try:
                processes = single_node_entry(client.run_json("process", "list", "-n", ip, "-j"),
                                              f"kato process list -n {ip} -j", ip)[1] or {}
            except KatoError as exc:
                module.warn(f"counting DEA {ip} as unavailable: {exc.msg}")
                stopped.append(ip)
                continue
        if str(processes.get("dea_ng", "")).upper() not in RUNNING:
            stopped.append(ip)
    return stopped


def on_dea(instances, ip):
    return [i for i in instances if i.get("host") == ip and str(i.get("state")).upper() in RUNNING]


def summary(instances):
    return [{"app": i["app"], "index": i["index"], "memory_mb": i["memory_mb"]} for i in instances]


def moved_instances(node, before, after):
    """{app, from, to} per instance that left node: per app, the DEAs that gained instances of it."""
    def counts(instances):
        table = {}
        for instance in instances:
            if str(instance.get("state")).upper() in RUNNING and instance.get("host"):
                key = (instance["app"], instance["host"])
                table[key] = table.get(key, 0) + 1
        return table

    was, now = counts(before), counts(after)
    leaving = {}
    for (app, host), count in was.items():
        if host == node:
            leaving[app] = count
    moved = []
    for (app, host), count in sorted(now.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
        gained = min(count - was.get((app, host), 0), leaving.get(app, 0))
        if host == node or gained <= 0:
            continue
        leaving[app] -= gained
        moved += [{"app": app, "from": node, "to": host}] * gained
    return moved


def refusal(node, unplaced):
    first = unplaced[0]
    more = f" nor {len(unplaced) - 1} more instance(s)" if len(unplaced) > 1 else ""
    slot = (f"the largest free slot is {first['largest_free_mb']} MB on {first['largest_free_dea']}"
            if first["largest_free_dea"] else "no other DEA runs dea_ng to take it")
    return (f"refusing to retire DEA {node}: the instance of app '{first['app']}' ({first['memory_mb']} MB){more} fits on "
            f"no other DEA: {slot}. Nothing was changed. Fix: add a DEA with at least {first['memory_mb']} MB free, or "
            f"scale app '{first['app']}' down (fewer instances, or less memory per instance), then run this task again")


def dea_inventory(kato, node, dea_memory_mb=None, option="dea_memory_mb"):
    """(the node's address, the cluster's DEAs as the capacity rule takes them, {ip: {"memory_mb"}}): the cluster's
    configuration - C(kato node list) [doc] and the DEA memory - not its state. kato_upgrade reads it before the node's
    turn (before its gate), so that the turn itself reads only what changes: the instances and which DEAs run."""
    overrides = memory_overrides(dea_memory_mb, option)
    nodes = kato.node_list()
    node, roles = find_node(nodes, node)
    if "dea" not in roles:
        raise RetireError(f"{node} is not a DEA node: it has the roles {', '.join(roles) or 'none'}; "
                          f"give the address of a node with the dea role", cause="invalid_input", resumable=False)
    dea_ips = sorted(ip for ip, node_roles in nodes.items() if "dea" in node_roles)
    return node, dea_nodes(nodes, dea_memory(kato, dea_ips, overrides), overrides)


def retire_dea(module, kato, api, node, dea_memory_mb=None, wait_timeout=600, option="dea_memory_mb", inventory=None):
    """Retire the DEA ``node`` where the capacity rule places its instances (predicted only in check mode).

    ``inventory``: what ``dea_inventory`` returned, read earlier by the caller (else read here). The instances and
    the DEAs running dea_ng are read here, right before the retirement.
    Returns the result (``changed``, ``moved``, ``placed``, ``unplaced``, ``instances_before``, ``needed_mb``,
    ``free_mb``, ``diff``); raises RetireError (``cause``: ``invalid_input``, ``capacity`` - nothing changed -,
    or ``retire_incomplete``) with the partial result."""
    node, deas = inventory or dea_inventory(kato, node, dea_memory_mb, option)
    # the instances (the Cloud Controller) and which DEAs run dea_ng (kato) at once: two services, one wait; the
    # warnings of the second only count when the DEA has instances to place
    read = _Warnings()
    with ThreadPoolExecutor(max_workers=1) as pool:
        stopped = pool.submit(stopped_deas, read, kato, deas, node)
        before = api.instances()
        unavailable = stopped.result()
    retiring = on_dea(before, node)
    result = {"changed": False, "moved": [], "placed": [], "unplaced": [], "instances_before": before,
              "needed_mb": sum(i["memory_mb"] for i in retiring), "free_mb": 0}
    if not retiring:
        result["diff"] = {"before": {"instances": []}, "after": {"instances": []}}
        return result
    for message in read.messages:
        module.warn(message)
    used = {}
    for instance in before:
        if str(instance.get("state")).upper() in RUNNING:
            used[instance.get("host")] = used.get(instance.get("host"), 0) + instance["memory_mb"]
    result["free_mb"] = sum(max(0, deas[ip]["memory_mb"] - used.get(ip, 0)) for ip in deas
                            if ip != node and ip not in unavailable)
    placement = place_retirement(deas, before, node, unavailable)
    result.update(placed=placement["placed"], unplaced=placement["unplaced"])
    if placement["unplaced"]:
        raise RetireError(refusal(node, placement["unplaced"]), cause="capacity", resumable=False, **result)
    result["changed"] = True
    result["diff"] = {"before": {"instances": summary(retiring)}, "after": {"instances": []}}
    if module.check_mode:
        return result
    kato.run("node", "retire", "-n", node, timeout=wait_timeout, what=f"kato node retire -n {node}")
    after = api.instances()
    left = on_dea(after, node)
    result["moved"] = moved_instances(node, before, after)
    result["diff"]["after"] = {"instances": summary(left)}
    if left:
        raise RetireError(f"kato node retire -n {node} finished but the Cloud Controller still shows {len(left)} "
                          f"instance(s) on {node}; check kato node list, the DEA logs and the app stats",
                          cause="retire_incomplete", resumable=False, **result)
    return result
