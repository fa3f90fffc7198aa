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
    mode, the upgrade status and, on the Core node, every node of the cluster with its roles.
  - Only reads; never changes anything.
author:
  - stackato.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.INFO_MODULE
  - stackato.cluster.kato.ACTIONGROUP_KATO
options: {}
notes:
  - Commands run, in order, C(kato version), C(kato info -j), C(kato process list -j),
    C(kato config get cloud_controller_ng maintenance_mode --json), C(kato node upgrade --status --json)
    and, on the Core node only, C(kato node list -j).
  - When maintenance mode or the upgrade status cannot be read (for example while the primary node
    is down), the module warns and returns V(null) for them instead of failing.
seealso:
  - module: stackato.cluster.kato_config
  - module: stackato.cluster.kato_upgrade
"""

EXAMPLES = r"""
- name: Read the node's Stackato state
  stackato.cluster.kato_info:
  register: stackato_node

- name: Refuse to upgrade while processes are down
  ansible.builtin.assert:
    that:
      - stackato_node.processes | dict2items | rejectattr('value', 'equalto', 'RUNNING') | list | length == 0
    fail_msg: "{{ inventory_hostname }}: processes not RUNNING: {{ stackato_node.processes }}; run kato start"
"""

RETURN = r"""
version:
  description: The installed Stackato version (C(kato version)).
  returned: success
  type: str
  sample: 3.4.2
ip:
  description: This node's address as kato reports it (the key of C(kato info -j)).
  returned: success
  type: str
  sample: 10.0.0.11
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
  sample: 10.0.0.11
is_core:
  description: Whether this node has the C(primary) role.
  returned: success
  type: bool
  sample: true
processes:
  description: This node's processes and their states (V(RUNNING), V(STOPPED), V(STARTING), V(FATAL)).
  returned: success
  type: dict
  sample: {"cloud_controller_ng": "RUNNING", "router2g": "RUNNING"}
maintenance_mode:
  description: Whether the Cloud Controller is in maintenance mode; V(null) when the cluster state cannot be read.
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
  description: On the Core node, every node of the cluster (C(kato node list -j)); V({}) on other nodes.
  returned: success
  type: dict
  sample: {"10.0.0.11": {"roles": ["base", "controller", "primary", "router"]}, "10.0.0.12": {"roles": ["base", "dea"]}}
dea:
  description:
    - On DEA nodes, C(memory_mb), C(used_mb) and C(instances) (a list of dictionaries with C(app) and C(memory_mb));
      V({}) elsewhere or when kato does not report it.
  returned: success
  type: dict
  sample: {"memory_mb": 4096, "used_mb": 512, "instances": [{"app": "web", "memory_mb": 256}]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    fail_from_error,
    single_node_entry,
)

UPGRADE_KEYS = ("version", "available", "state", "step", "cached")


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


def gather(module, client):
    version = client.version()
    ip, info = single_node_entry(client.run_json("info", "-j"), "kato info -j")
    roles = sorted(info.get("roles") or [])
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
        "maintenance_mode": read_maintenance_mode(module, client),
        "upgrade": read_upgrade_status(module, client),
        "nodes": {},
        "dea": info.get("dea") or {},
    }
    if result["is_core"]:
        result["nodes"] = client.run_json("node", "list", "-j")
    return result


def main():
    module = AnsibleModule(argument_spec=dict(KATO_COMMON_ARGS), supports_check_mode=True)
    try:
        result = gather(module, KatoClient(module))
    except KatoError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
