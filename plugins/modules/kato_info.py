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
  - Reports the installed version, this node's roles, its processes, maintenance mode, the DEA memory
    configured for the cluster, the patch status, the upgrade status and every node of the cluster with its roles.
  - Reads the documented forms of kato's output wherever they exist, tolerating extra lines, warnings and
    trailing whitespace; where no documented form exists it warns, naming what is missing, and returns V(null).
  - Only reads; never changes anything.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.INFO_MODULE
  - stackato.cluster.kato.ACTIONGROUP_KATO
options:
  node:
    description:
      - This node's address as kato knows it (as C(kato node list) shows it); the roles pass C(stackato_node_ip).
      - Its roles come from its line of C(kato node list), the documented source. A node that C(kato node list)
        does not list fails the task.
      - When not set, the module falls back to the undocumented C(kato info -j) for this node's address and roles,
        with a warning; a kato that does not print it that way fails the task.
    type: str
  gather_subset:
    description:
      - What to read besides this node's roles. Every C(kato) call costs time, so a task that needs a few values
        asks for those only.
      - V(all) reads V(version), V(processes), V(maintenance_mode), V(dea_memory), V(patches), V(upgrade) and V(nodes).
      - What is not read is returned empty (V(null), V({}) or, for RV(upgrade), V(null) values).
    type: list
    elements: str
    choices: [all, version, processes, maintenance_mode, dea_memory, patches, upgrade, nodes]
    default: [all]
  run_lock:
    description:
      - The file M(stackato.cluster.kato_upgrade) holds on this node while it runs (its O(stackato.cluster.kato_upgrade#module:run_lock)).
        An upgrade whose controller was lost goes on holding it until its kato ends, and the node's kato may be
        missing while it replaces it.
      - Before kato is called, the module looks whether another run holds it (a shared C(flock), taken and released
        at once); it never creates the file. An empty string does not look.
    type: path
    default: ~/.stackato-cluster/kato-upgrade.lock
  run_lock_timeout:
    description:
      - Seconds to wait (blocking, no polling) for a run holding O(run_lock) to end before reading the node. When it
        still holds it after that, the task fails with C(cause=busy), naming the file; re-run it once that upgrade
        has ended.
      - V(0) does not wait; the node is read at once, and RV(run_lock_held) and a warning say that an upgrade was
        running there.
    type: int
    default: 0
notes:
  - "Commands run, in order: C(kato version); C(kato node list) (with O(node), or for V(nodes)) or, without
    O(node), C(kato info -j); C(kato process list -j); C(kato config get cloud_controller_ng maintenance_mode --json);
    C(kato config get dea_ng resources/memory_mb --json); C(kato patch status) (its text form, and C(kato patch status -j)
    only when the text cannot be read); C(kato node upgrade --status --json). O(gather_subset) leaves out the ones not asked for."
  - Undocumented outputs are read only where kato documents no other source, and never make the task fail,
    C(kato info -j) without O(node) aside. C(kato node upgrade --status --json) is one; when it is unavailable or does
    not give the expected keys, RV(upgrade) holds V(null) values and a warning says so.
  - When maintenance mode, the DEA memory, the patch status or the upgrade status cannot be read (for example while
    the primary node is down), the module warns and returns V(null) for them instead of failing.
seealso:
  - module: stackato.cluster.kato_config
  - module: stackato.cluster.kato_upgrade
"""

EXAMPLES = r"""
- name: Read the node's Stackato state
  stackato.cluster.kato_info:
    node: "{{ stackato_node_ip }}"
  register: stackato_node

- name: Read the version, maintenance mode and the DEA memory only
  stackato.cluster.kato_info:
    node: "{{ stackato_node_ip }}"
    gather_subset: [version, maintenance_mode, dea_memory]
  register: stackato_dea

- name: Refuse to upgrade while processes are down
  ansible.builtin.assert:
    that:
      - stackato_node.processes | dict2items | rejectattr('value', 'equalto', 'RUNNING') | list | length == 0
    fail_msg: "{{ inventory_hostname }}: processes not RUNNING: {{ stackato_node.processes }}; run kato start"
"""

RETURN = r"""
run_lock_held:
  description:
    - Whether another run held O(run_lock) when the node was read (only with O(run_lock_timeout=0); after a wait the
      task fails instead).
  returned: success
  type: bool
  sample: false
waited:
  description: Seconds the module waited for a run holding O(run_lock) to end (V(0) when none held it).
  returned: success
  type: float
  sample: 0.0
version:
  description: The installed Stackato version, from C(kato version); V(null) when O(gather_subset) leaves it out.
  returned: success
  type: str
  sample: 3.4.2
ip:
  description:
    - This node's address as kato knows it; O(node) as C(kato node list) writes it, or, without O(node),
      the key of the undocumented C(kato info -j).
  returned: success
  type: str
  sample: 127.42.0.11
roles:
  description:
    - The roles assigned to this node, sorted, from its line of C(kato node list) (without O(node), from
      the undocumented C(kato info -j)).
  returned: success
  type: list
  elements: str
  sample: [base, controller, primary, router]
is_core:
  description: Whether this node has the C(primary) role (RV(roles)).
  returned: success
  type: bool
  sample: true
processes:
  description:
    - This node's processes and their states (V(RUNNING), V(STOPPED), V(STARTING), V(FATAL)), from C(kato process list -j).
    - V({}) when O(gather_subset) leaves them out.
  returned: success
  type: dict
  sample: {"cloud_controller_ng": "RUNNING", "router2g": "RUNNING"}
maintenance_mode:
  description:
    - Whether the Cloud Controller is in maintenance mode, from C(kato config get cloud_controller_ng maintenance_mode --json);
      V(null) when it cannot be read (with a warning) or O(gather_subset) leaves it out.
  returned: success
  type: bool
  sample: false
dea_memory_mb:
  description:
    - The memory, in MB, each DEA offers to app instances, from C(kato config get dea_ng resources/memory_mb --json)
      (one value for the whole cluster; a DEA sized differently is given in the inventory).
    - V(null) when it cannot be read (with a warning) or O(gather_subset) leaves it out.
  returned: success
  type: int
  sample: 4096
upgrade:
  description:
    - The upgrade status, from the undocumented C(kato node upgrade --status --json).
    - Every value is V(null) when it cannot be read or lacks the expected keys (with a warning), or when
      O(gather_subset) leaves it out.
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
    - Every node of the cluster with its roles, from C(kato node list); V({}) when O(gather_subset) leaves it out.
  returned: success
  type: dict
  sample: {"127.42.0.11": {"roles": ["base", "controller", "primary", "router"]}, "127.42.0.12": {"roles": ["base", "dea"]}}
patches:
  description:
    - The patches C(kato patch status) lists for the installed version (its documented text form; its C(-j) form only
      when the text cannot be read), one dictionary per patch; V([]) when there are none, V(null) (with a warning)
      when the patch status cannot be read or O(gather_subset) leaves it out.
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
      description: Whether the patch still has to be installed on this node (its address or C(127.0.0.1) in RV(patches[].to_be_installed_on)).
      type: bool
  sample:
    - {"id": 1, "name": "router-websocket-fix", "description": "Keep websocket connections open across router reloads",
       "roles": ["router"], "installed_on": [], "to_be_installed_on": ["127.42.0.11"], "installed": false, "pending": true}
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    RUN_LOCK,
    KatoClient,
    KatoError,
    cmd_to_str,
    fail_from_error,
    find_node,
    parse_json_output,
    single_node_entry,
    strip_noise,
    wait_for_run_lock,
)

UPGRADE_KEYS = ("version", "available", "state", "step", "cached")
# The type each key of kato node upgrade --status --json must have (null allowed).
UPGRADE_TYPES = {"version": str, "available": str, "state": str, "step": str, "cached": bool}
ALL_SUBSET = ("version", "processes", "maintenance_mode", "dea_memory", "patches", "upgrade", "nodes")
LOCAL_ADDRESSES = ("127.0.0.1", "localhost")
DEA_MEMORY_ARGS = ("config", "get", "dea_ng", "resources/memory_mb", "--json")
# kato patch status text: a "N updates are available for V." line, then per patch a "<name>: <description>"
# line and, indented deeper, "<field>: <value>" lines.
PATCH_FIELDS = {"patch id": "id", "roles affected": "roles", "installed on": "installed_on",
                "to be installed on": "to_be_installed_on"}
PATCH_COUNT_RE = re.compile(r"\b(?:\d+|no)\s+(?:updates?|patch(?:es)?)\b.*\bavailable\b", re.IGNORECASE)
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


def _memory_mb(value):
    """An int number of MB from a JSON value (4096, 4096.0 or "4096"); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value > 0 else None


def read_dea_memory(module, client):
    fix = "give each DEA's memory as stackato_dea_memory_mb in the inventory"
    try:
        value = client.run_json(*DEA_MEMORY_ARGS)
    except KatoError as exc:
        module.warn(f"dea_memory_mb is unknown: {exc.msg}; {fix}")
        return None
    memory_mb = _memory_mb(value)
    if memory_mb is None:
        module.warn(f"dea_memory_mb is unknown: kato config get dea_ng resources/memory_mb gave {value!r}, "
                    f"not a number of MB; {fix}")
    return memory_mb


def read_upgrade_status(module, client):
    """kato node upgrade --status --json (undocumented): the expected keys, or all null with a warning."""
    status = dict.fromkeys(UPGRADE_KEYS)
    what = "the upgrade status (upgrade.version, available, state, step, cached) is unknown"
    try:
        data = client.run_json("node", "upgrade", "--status", "--json")
    except KatoError as exc:
        module.warn(f"{what}: {exc.msg}; kato documents no other source for it")
        return status
    if not isinstance(data, dict):
        module.warn(f"{what}: kato node upgrade --status --json gave {data!r}, not a JSON object")
        return status
    missing = [key for key in UPGRADE_KEYS if key not in data]
    wrong = [key for key in UPGRADE_KEYS
             if key in data and data[key] is not None and not isinstance(data[key], UPGRADE_TYPES[key])]
    if missing or wrong:
        problems = ([f"no {', '.join(missing)}"] if missing else []) + \
                   ([f"unexpected values of {', '.join(wrong)}"] if wrong else [])
        module.warn(f"{what}: kato node upgrade --status --json has {'; '.join(problems)}")
        return status
    status.update((key, data[key]) for key in UPGRADE_KEYS)
    return status


def _address_list(value):
    if isinstance(value, str):
        value = [] if value.strip().lower() in ("", "none", "-") else re.split(r"[,\s]+", value.strip())
    return [str(item) for item in value or [] if str(item)]


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
    """The patches of kato patch status's documented text output. Raises ValueError when it is not that.

    After the "N updates are available" line, a "<name>: <description>" line starts each patch and the
    deeper-indented "<field>: <value>" lines below it describe it (unknown fields are ignored).
    """
    patches, seen_header, patch_indent = [], False, None
    for line in strip_noise(text):
        if not seen_header:
            seen_header = bool(PATCH_COUNT_RE.search(line))
            continue
        match = PATCH_LINE_RE.match(line)
        if not match:
            continue
        key, indent = match.group("key").strip(), len(match.group("indent"))
        field = PATCH_FIELDS.get(key.lower())
        if patches and (field or indent > patch_indent):
            if field:
                patches[-1][field] = match.group("value").strip()
            continue
        patch_indent = indent
        patches.append({"name": key, "description": match.group("value").strip()})
    if not seen_header:
        raise ValueError("no 'N updates are available' line")
    return patches


def _patches_from_json(client):
    """The patches of the undocumented kato patch status -j; None when it gives nothing usable."""
    rc, stdout, dummy = client.run("patch", "status", "-j", check_rc=False)
    if rc != 0:
        return None
    try:
        data = parse_json_output(stdout)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("patches"), list):
        return data["patches"]
    return data if isinstance(data, list) else None


def read_patches(module, client, ip):
    try:
        dummy, stdout, dummy = client.run("patch", "status", what="kato patch status")
        patches = parse_patch_text(stdout)
    except (KatoError, ValueError) as exc:
        patches = _patches_from_json(client)
        if patches is None:
            module.warn(f"the patch status is unknown: {getattr(exc, 'msg', exc)}")
            return None
    return [normalise_patch(patch, ip) for patch in patches if isinstance(patch, dict)]


def this_node(module, client):
    """(ip, roles, nodes or None): from kato node list with the node option, else from kato info -j."""
    node = module.params["node"]
    if node:
        nodes = client.node_list()
        ip, roles = find_node(nodes, node, cmd=cmd_to_str(client.argv(("node", "list"))))
        return ip, roles, nodes
    module.warn("node is not set, so this node's address and roles come from kato info -j, which kato does not "
                "document; set node to the address kato node list shows for this node (the roles pass stackato_node_ip)")
    try:
        ip, info = single_node_entry(client.run_json("info", "-j"), "kato info -j")
    except KatoError as exc:
        exc.msg = f"{exc.msg}; set node to the address kato node list shows for this node"
        raise
    roles = info.get("roles") if isinstance(info, dict) else None
    if not isinstance(roles, list) or not roles:
        raise KatoError(f"kato info -j does not give the roles of {ip} ({info!r}); set node to the address "
                        f"kato node list shows for this node", cmd=cmd_to_str(client.argv(("info", "-j"))))
    return ip, sorted(str(role) for role in roles), None


def wait_for_other_run(module):
    """(held, waited) for O(run_lock); fails the task when a run still holds it after the timeout."""
    path, seconds = module.params["run_lock"], module.params["run_lock_timeout"]
    if not path:
        return False, 0.0
    if seconds < 0:
        raise KatoError(f"run_lock_timeout={seconds} is invalid: give 0 (do not wait) or the seconds to wait")
    held, waited = wait_for_run_lock(path, seconds)
    if held and seconds > 0:
        raise KatoError(f"another upgrade run on this node still holds {path} after run_lock_timeout={seconds} "
                        f"seconds (a run whose controller was lost may still be running kato node upgrade there: see "
                        f"kato node upgrade --status); re-run once it has ended, or raise run_lock_timeout",
                        cause="busy", resumable=True)
    if held:
        module.warn(f"another upgrade run on this node holds {path} (a run whose controller was lost may still be "
                    f"running kato node upgrade there): the node was read while it runs")
    elif waited:
        module.warn(f"waited {waited:g} s for another upgrade run on this node (an earlier run whose controller was "
                    f"lost) to end; the node was read after it")
    return held, waited


def gather(module, client, subset):
    wanted = set(subset)
    if "all" in wanted:
        wanted |= set(ALL_SUBSET)
    version = client.version() if "version" in wanted else None
    ip, roles, nodes = this_node(module, client)
    processes = {}
    if "processes" in wanted:
        processes = single_node_entry(client.run_json("process", "list", "-j"), "kato process list -j", ip)[1] or {}
    result = {
        "changed": False,
        "version": version,
        "ip": ip,
        "roles": roles,
        "is_core": "primary" in roles,
        "processes": processes,
        "maintenance_mode": read_maintenance_mode(module, client) if "maintenance_mode" in wanted else None,
        "dea_memory_mb": read_dea_memory(module, client) if "dea_memory" in wanted else None,
        "patches": read_patches(module, client, ip) if "patches" in wanted else None,
        "upgrade": read_upgrade_status(module, client) if "upgrade" in wanted else dict.fromkeys(UPGRADE_KEYS),
        "nodes": {},
    }
    if "nodes" in wanted:
        if nodes is None:
            nodes = client.node_list()
        result["nodes"] = {address: {"roles": listed} for address, listed in sorted(nodes.items())}
    return result


def main():
    argument_spec = dict(
        KATO_COMMON_ARGS,
        node={"type": "str"},
        gather_subset={"type": "list", "elements": "str", "default": ["all"], "choices": ["all"] + list(ALL_SUBSET)},
        run_lock={"type": "path", "default": RUN_LOCK},
        run_lock_timeout={"type": "int", "default": 0},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        held, waited = wait_for_other_run(module)
        result = gather(module, KatoClient(module), module.params["gather_subset"])
        result.update(run_lock_held=held, waited=waited)
    except KatoError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
