#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kato_info
short_description: Read the state of a Helion Stackato node and its cluster from kato
version_added: 1.0.0
description:
  - Reports the installed version, this node's address and roles, its processes, maintenance
    mode, the upgrade status, the patch status and, on the Core node, every node of the cluster
    with its roles.
  - Only reads; never changes anything.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.INFO_MODULE
  - stackato.cluster.kato.ACTIONGROUP_KATO
options:
  gather_subset:
    description:
      - What to read besides C(kato info -j) (this node's address, roles and DEA state), which is always read.
        Every C(kato) call costs time, so a task that needs a few values asks for those only.
      - V(all) reads V(version), V(processes), V(maintenance_mode), V(upgrade), V(patches) and V(nodes).
      - V(nodes) reads C(kato node list -j) on the Core node only.
      - V(deas) reads, on a DEA node only, the DEA state of every DEA of the cluster in the same call
        (C(kato node list -j), then C(kato info -n <ip> -j) for each other DEA); see RV(deas). It is not part of V(all).
      - What is not read is returned empty (V(null), V({}) or, for RV(upgrade), V(null) values).
    type: list
    elements: str
    choices: [all, version, processes, maintenance_mode, upgrade, patches, nodes, deas]
    default: [all]
notes:
  - Commands run, in order, C(kato version), C(kato info -j), C(kato process list -j),
    C(kato config get cloud_controller_ng maintenance_mode --json), C(kato node upgrade --status --json),
    C(kato patch status -j) and, on the Core node only, C(kato node list -j); O(gather_subset) leaves out
    the ones not asked for, and V(deas) adds C(kato info -n <ip> -j) for each other DEA.
  - A kato whose C(patch status) has no C(-j) option is asked again without it, and its text output is read.
  - When maintenance mode, the upgrade status or the patch status cannot be read (for example while the
    primary node is down), the module warns and returns V(null) for them instead of failing.
seealso:
  - module: stackato.cluster.kato_config
  - module: stackato.cluster.kato_upgrade
"""

EXAMPLES = r"""
- name: Read the node's Stackato state
  stackato.cluster.kato_info:
  register: stackato_node

- name: Read the version, maintenance mode and every DEA's instances in one call
  stackato.cluster.kato_info:
    gather_subset: [version, maintenance_mode, deas]
  register: stackato_dea

- name: Refuse to upgrade while processes are down
  ansible.builtin.assert:
    that:
      - stackato_node.processes | dict2items | rejectattr('value', 'equalto', 'RUNNING') | list | length == 0
    fail_msg: "{{ inventory_hostname }}: processes not RUNNING: {{ stackato_node.processes }}; run kato start"
"""

RETURN = r"""
version:
  description: The installed Stackato version (C(kato version)); V(null) when O(gather_subset) leaves it out.
  returned: success
  type: str
  sample: 3.4.2
ip:
  description: This node's address as kato reports it (the key of C(kato info -j)).
  returned: success
  type: str
  sample: 127.42.0.11
roles:
  description: The roles assigned to this node, sorted.
  returned: success
  type: list
  elements: str
  sample: [base, controller, primary, router]
available_roles:
  description: The roles this node could take (C(kato info)).
  returned: success
  type: list
  elements: str
  sample: [dea, mysql]
mbusip:
  description: The address of the cluster's message bus (the Core node).
  returned: success
  type: str
  sample: 127.42.0.11
is_core:
  description: Whether this node has the C(primary) role.
  returned: success
  type: bool
  sample: true
processes:
  description:
    - This node's processes and their states (V(RUNNING), V(STOPPED), V(STARTING), V(FATAL)).
    - V({}) when O(gather_subset) leaves them out.
  returned: success
  type: dict
  sample: {"cloud_controller_ng": "RUNNING", "router2g": "RUNNING"}
maintenance_mode:
  description:
    - Whether the Cloud Controller is in maintenance mode; V(null) when the cluster state cannot be read
      or O(gather_subset) leaves it out.
  returned: success
  type: bool
  sample: false
upgrade:
  description: The upgrade status from C(kato node upgrade --status --json); values are V(null) when it cannot be read.
  returned: success
  type: dict
  contains:
    version:
      description: The installed version.
      type: str
    available:
      description: The newest version available.
      type: str
    state:
      description: One of V(idle), V(downloading), V(downloaded), V(upgrading), V(failed), V(done).
      type: str
    step:
      description: The current or last upgrade step.
      type: str
    cached:
      description: Whether the upgrade content is in the local cache.
      type: bool
  sample: {"version": "3.4.2", "available": "3.6.2", "state": "idle", "step": null, "cached": false}
nodes:
  description:
    - On the Core node, every node of the cluster (C(kato node list -j)); V({}) on other nodes, unless
      V(deas) in O(gather_subset) read it there; V({}) when not asked for.
  returned: success
  type: dict
  sample: {"127.42.0.11": {"roles": ["base", "controller", "primary", "router"]}, "127.42.0.12": {"roles": ["base", "dea"]}}
patches:
  description:
    - The patches C(kato patch status) lists for the installed version, one dictionary per patch;
      V([]) when there are none, V(null) (with a warning) when the patch status cannot be read.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The patch id; V(null) when kato does not give one.
      type: int
    name:
      description: The patch name.
      type: str
    description:
      description: What the patch fixes.
      type: str
    roles:
      description: The roles the patch affects.
      type: list
      elements: str
    installed_on:
      description: The nodes the patch is installed on, as kato writes them.
      type: list
      elements: str
    to_be_installed_on:
      description: The nodes the patch still has to be installed on, as kato writes them.
      type: list
      elements: str
    installed:
      description: Whether the patch is installed on this node (its address or C(127.0.0.1) in RV(patches[].installed_on)).
      type: bool
    pending:
      description: Whether the patch still has to be installed on this node (it affects one of its roles).
      type: bool
  sample:
    - {"id": 1, "name": "router-websocket-fix", "description": "Keep websocket connections open across router reloads",
       "roles": ["router"], "installed_on": [], "to_be_installed_on": ["127.42.0.11"], "installed": false, "pending": true}
dea:
  description:
    - On DEA nodes, C(memory_mb), C(used_mb) and C(instances) (a list of dictionaries with C(app) and C(memory_mb));
      V({}) elsewhere or when kato does not report it.
  returned: success
  type: dict
  sample: {"memory_mb": 4096, "used_mb": 512, "instances": [{"app": "web", "memory_mb": 256}]}
deas:
  description:
    - With V(deas) in O(gather_subset) on a DEA node, the DEA state (as RV(dea)) of every DEA of the cluster,
      this node included, keyed by address; V({}) otherwise.
  returned: success
  type: dict
  sample: {"127.42.0.13": {"memory_mb": 4096, "used_mb": 256, "instances": [{"app": "web", "memory_mb": 256}]},
           "127.42.0.14": {"memory_mb": 4096, "used_mb": 0, "instances": []}}
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    fail_from_error,
    parse_json_output,
    single_node_entry,
)

UPGRADE_KEYS = ("version", "available", "state", "step", "cached")
# What gather_subset=all reads besides kato info -j (deas only when asked for by name).
ALL_SUBSET = ("version", "processes", "maintenance_mode", "upgrade", "patches", "nodes")
LOCAL_ADDRESSES = ("127.0.0.1", "localhost")
# kato patch status text: a "<name>: <description>" line, then indented "<field>: <value>" lines.
PATCH_FIELDS = {"patch id": "id", "roles affected": "roles", "installed on": "installed_on",
                "to be installed on": "to_be_installed_on"}
PATCH_COUNT_RE = re.compile(r"^\s*\d+ updates? (?:is|are) available", re.IGNORECASE)
PATCH_LINE_RE = re.compile(r"^(?P<indent>\s*)(?P<key>[^:]+?):\s*(?P<value>.*)$")


def read_maintenance_mode(module, client):
    try:
        value = client.run_json("config", "get", "cloud_controller_ng", "maintenance_mode", "--json")
    except KatoError as exc:
        module.warn(f"maintenance_mode is unknown: {exc.msg}")
        return None
    if not isinstance(value, bool):
        module.warn(f"maintenance_mode is unknown: kato returned {value!r}, not true or false")
        return None
    return value


def read_upgrade_status(module, client):
    status = dict.fromkeys(UPGRADE_KEYS)
    try:
        data = client.run_json("node", "upgrade", "--status", "--json")
    except KatoError as exc:
        module.warn(f"the upgrade status is unknown: {exc.msg}")
        return status
    if isinstance(data, dict):
        status.update(data)
    return status


def _address_list(value):
    if isinstance(value, str):
        value = [] if value.strip().lower() in ("", "none") else re.split(r"[,\s]+", value.strip())
    return [str(item) for item in value or []]


def normalise_patch(patch, ip):
    """One patch of kato patch status, with lists for the node fields and this node's view of it."""
    here = (ip,) + LOCAL_ADDRESSES
    try:
        patch_id = int(patch.get("id"))
    except (TypeError, ValueError):
        patch_id = None
    roles = patch.get("roles") or []
    if isinstance(roles, str):
        roles = [role for role in re.split(r"[,\s]+", roles.strip()) if role]
    result = {
        "id": patch_id,
        "name": patch.get("name"),
        "description": patch.get("description"),
        "roles": list(roles),
        "installed_on": _address_list(patch.get("installed_on")),
        "to_be_installed_on": _address_list(patch.get("to_be_installed_on")),
    }
    result["installed"] = any(address in here for address in result["installed_on"])
    result["pending"] = any(address in here for address in result["to_be_installed_on"])
    return result


def parse_patch_text(text):
    """The patches of kato patch status's text output (kato without -j). Raises ValueError when it is not that."""
    patches, seen_header = [], False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("WARNING:", "WARN:", "NOTICE:", "INFO:")):
            continue
        if PATCH_COUNT_RE.match(line):
            seen_header = True
            continue
        match = PATCH_LINE_RE.match(line)
        if not match:
            continue
        key = match.group("key").strip().lower()
        if key in PATCH_FIELDS and patches:
            patches[-1][PATCH_FIELDS[key]] = match.group("value").strip()
        elif key not in PATCH_FIELDS and not key.startswith(("severity", "reboot")):
            patches.append({"name": match.group("key").strip(), "description": match.group("value").strip()})
    if not seen_header:
        raise ValueError("no 'N updates are available' line")
    return patches


def read_patches(module, client, ip):
    rc, stdout, stderr = client.run("patch", "status", "-j", check_rc=False)
    data = None
    if rc == 0:
        try:
            data = parse_json_output(stdout)
        except ValueError:
            data = None
    if isinstance(data, dict) and isinstance(data.get("patches"), list):
        patches = data["patches"]
    elif isinstance(data, list):
        patches = data
    else:
        # An older kato without -j: read the text form.
        try:
            rc, stdout, stderr = client.run("patch", "status", what="kato patch status")
            patches = parse_patch_text(stdout)
        except (KatoError, ValueError) as exc:
            module.warn(f"the patch status is unknown: {getattr(exc, 'msg', exc)}")
            return None
    return [normalise_patch(patch, ip) for patch in patches if isinstance(patch, dict)]


def read_deas(client, ip, own, nodes):
    """Every DEA's state, keyed by address: this node's own from its kato info, the others' with kato info -n."""
    deas = {ip: own}
    for other in sorted(nodes):
        entry = nodes[other] if isinstance(nodes[other], dict) else {}
        if other != ip and "dea" in (entry.get("roles") or []):
            deas[other] = single_node_entry(client.run_json("info", "-n", other, "-j"), f"kato info -n {other} -j",
                                            other)[1].get("dea") or {}
    return deas


def gather(module, client, subset):
    wanted = set(subset)
    if "all" in wanted:
        wanted |= set(ALL_SUBSET)
    version = client.version() if "version" in wanted else None
    ip, info = single_node_entry(client.run_json("info", "-j"), "kato info -j")
    roles = sorted(info.get("roles") or [])
    processes = {}
    if "processes" in wanted:
        processes = single_node_entry(client.run_json("process", "list", "-j"), "kato process list -j", ip)[1] or {}
    result = {
        "changed": False,
        "version": version,
        "ip": ip,
        "roles": roles,
        "available_roles": sorted(info.get("available_roles") or []),
        "mbusip": info.get("mbusip"),
        "is_core": "primary" in roles,
        "processes": processes,
        "maintenance_mode": read_maintenance_mode(module, client) if "maintenance_mode" in wanted else None,
        "upgrade": read_upgrade_status(module, client) if "upgrade" in wanted else dict.fromkeys(UPGRADE_KEYS),
        "patches": read_patches(module, client, ip) if "patches" in wanted else None,
        "nodes": {},
        "dea": info.get("dea") or {},
        "deas": {},
    }
    read_nodes = "deas" in wanted and "dea" in roles
    if read_nodes or ("nodes" in wanted and result["is_core"]):
        result["nodes"] = client.run_json("node", "list", "-j")
    if read_nodes:
        result["deas"] = read_deas(client, ip, result["dea"], result["nodes"] if isinstance(result["nodes"], dict) else {})
    return result


def main():
    argument_spec = dict(
        KATO_COMMON_ARGS,
        gather_subset={"type": "list", "elements": "str", "default": ["all"],
                       "choices": ["all"] + list(ALL_SUBSET) + ["deas"]},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        result = gather(module, KatoClient(module), module.params["gather_subset"])
    except KatoError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
