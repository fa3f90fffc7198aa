#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kato_role
short_description: Start, stop or restart the roles of a Helion Stackato node
version_added: 1.0.0
description:
  - Reads the node's processes with C(kato process list -j) and its role states with C(kato status -j),
    runs C(kato start|stop|restart [-n node] [role...]) when needed, waits with
    C(kato process ready --block <wait_timeout> [-n node] all) and reads both again.
  - V(started) does nothing when every role in O(roles) is RUNNING; V(stopped) does nothing when none of them is
    RUNNING or STARTING; V(restarted) always restarts. With O(roles) empty, all roles of the node count.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.ACTIONGROUP_KATO
attributes:
  check_mode:
    support: full
    details:
      - Predicts from the role states of C(kato status -j). When kato does not report role states (or the
        cluster state cannot be read), it warns and judges by all of the node's processes instead.
  diff_mode:
    support: full
    details:
      - The diff shows the role states (the process states when kato does not report roles).
  idempotent:
    support: partial
    details:
      - V(restarted) always restarts and reports a change.
options:
  roles:
    description:
      - The roles to act on, such as V(dea) or V(router). All roles of the node when empty.
      - V(data-services) stands for the data-service roles the node has.
      - A role the node does not have fails the task.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(started), V(stopped) or V(restarted).
    type: str
    choices: [started, stopped, restarted]
    default: started
  node:
    description:
      - Act on this node (C(-n)) instead of the local one, as C(kato node list) shows its address.
    type: str
  wait:
    description:
      - After starting or restarting, block until all processes of the node are ready
        (C(kato process ready --block <wait_timeout> [-n node] all)).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the processes to be ready; V(0) waits forever.
    type: int
    default: 600
seealso:
  - module: stackato.cluster.kato_info
"""

EXAMPLES = r"""
- name: Restart every role after the upgrade, before leaving maintenance mode
  stackato.cluster.kato_role:
    state: restarted

- name: Stop the DEA role to free memory for the upgrade
  stackato.cluster.kato_role:
    roles: [dea]
    state: stopped
"""

RETURN = r"""
before:
  description: The node's processes and their states before the task.
  returned: success
  type: dict
  sample: {"dea_ng": "STOPPED", "router2g": "RUNNING"}
after:
  description:
    - The processes and their states after the task.
    - In check mode, predicted only when O(roles) is empty (kato does not say which processes belong to a role);
      RV(roles_after) carries the prediction.
  returned: success
  type: dict
  sample: {"dea_ng": "RUNNING", "router2g": "RUNNING"}
roles_before:
  description:
    - The states of the roles in O(roles) (all of the node's roles when empty) before the task, from C(kato status -j).
    - V(null) when kato does not report role states.
  returned: success
  type: dict
  sample: {"dea": "STOPPED"}
roles_after:
  description: The states of those roles after the task (predicted in check mode); V(null) when kato does not report them.
  returned: success
  type: dict
  sample: {"dea": "RUNNING"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    fail_from_error,
    single_node_entry,
)

ACTIVE = ("RUNNING", "STARTING")
# kato's role group (the contract, section 2): it stands for those of these roles the node has.
ROLE_GROUPS = {"data-services": ("filesystem", "mysql", "postgresql", "mongodb", "redis", "rabbit", "rabbit3",
                                 "memcached")}


def processes(client, node):
    """(node address as kato keys it, process -> state)."""
    args = ["process", "list"] + (["-n", node] if node else []) + ["-j"]
    ip, procs = single_node_entry(client.run_json(*args), "kato process list -j", node)
    return ip, dict(procs or {})


def role_states(module, client, ip, wanted):
    """role -> state of the wanted roles (all when empty) from kato status -j; None when kato does not report roles."""
    try:
        data = client.run_json("status", "-j")
    except KatoError as exc:
        module.warn(f"cannot read the role states ({exc.msg}): judging by all of the processes of {ip} instead")
        return None
    entry = data.get(ip) if isinstance(data, dict) else None
    states = entry.get("roles") if isinstance(entry, dict) else None
    if not isinstance(states, dict):
        module.warn(f"kato status -j does not report the roles of {ip}: judging by all of its processes instead")
        return None
    if not wanted:
        return dict(states)
    selected = {}
    for role in wanted:
        members = [r for r in ROLE_GROUPS.get(role, (role,)) if r in states]
        if not members:
            module.fail_json(msg=f"role {role} is not configured on node {ip} (its roles: {', '.join(sorted(states))}); "
                                 f"add it with kato role add, or leave it out of roles")
        selected.update((r, states[r]) for r in members)
    return selected


def predict(state, before):
    target = "STOPPED" if state == "stopped" else "RUNNING"
    return {name: target for name in before}


def needs_action(state, before):
    if state == "restarted":
        return True
    if state == "started":
        return not before or any(value != "RUNNING" for value in before.values())
    return any(value in ACTIVE for value in before.values())


def wait_ready(client, node, timeout):
    args = ["process", "ready", "--block", timeout] + (["-n", node] if node else []) + ["all"]
    try:
        client.run(*args, what="kato process ready")
    except KatoError as exc:
        where = f" on {node}" if node else ""
        exc.msg = (f"processes{where} not ready within wait_timeout={timeout} seconds: "
                   f"{' '.join((exc.stdout or exc.stderr).split())}; check them with kato status and "
                   f"the logs in /s/logs, or raise wait_timeout")
        raise


def run_module(module, client):
    params = module.params
    state, node = params["state"], params["node"]
    ip, before = processes(client, node)
    roles_before = role_states(module, client, ip, params["roles"])
    # The decision looks at the roles asked for when kato reports role states, else at every process.
    act = needs_action(state, roles_before if roles_before is not None else before)
    if module.check_mode or not act:
        after = before
        roles_after = roles_before
        if act:
            roles_after = predict(state, roles_before) if roles_before is not None else None
            after = before if roles_before is not None and params["roles"] else predict(state, before)
    else:
        verb = {"started": "start", "stopped": "stop", "restarted": "restart"}[state]
        client.run(verb, *(["-n", node] if node else []), *params["roles"])
        if params["wait"] and state != "stopped":
            wait_ready(client, node, params["wait_timeout"])
        after = processes(client, node)[1]
        roles_after = role_states(module, client, ip, params["roles"])
    changed = state == "restarted" or before != after or roles_before != roles_after
    diff_before = roles_before if roles_before is not None else before
    diff_after = roles_after if roles_after is not None else after
    return {
        "changed": changed,
        "before": before,
        "after": after,
        "roles_before": roles_before,
        "roles_after": roles_after,
        "diff": {"before": diff_before, "after": diff_after},
    }


def main():
    argument_spec = dict(
        KATO_COMMON_ARGS,
        roles={"type": "list", "elements": "str", "default": []},
        state={"type": "str", "default": "started", "choices": ["started", "stopped", "restarted"]},
        node={"type": "str"},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": 600},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["wait_timeout"] < 0:
        module.fail_json(msg=f"wait_timeout={module.params['wait_timeout']} is invalid: use 0 (forever) or more seconds")
    try:
        result = run_module(module, KatoClient(module))
    except KatoError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
