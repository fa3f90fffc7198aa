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
  - Checks from C(kato node list) that the node has every role in O(roles), reads its processes with
    C(kato process list [-n node] -j), runs C(kato start|stop|restart [-n node] [role...]) when needed, waits with
    C(kato process ready -b <wait_timeout> [-n node] all) and reads the processes again.
  - V(started) does nothing when the processes of the roles in O(roles) are all RUNNING; V(stopped) does nothing when
    none of them is RUNNING or STARTING; V(restarted) always restarts. With O(roles) empty, all roles of the node,
    that is every process of the node, count.
  - Which processes belong to a role is documented for V(dea) only (C(dea_ng), C(dir_server), C(fence), C(apptail)).
    For other roles the module reads the role states of C(kato status -j), which kato does not document, as a
    best-effort refinement; when that is unavailable it warns and judges by every process of the node.
  - C(changed) comes from the process states before and after (V(restarted) always changes).
  - V(restarted) acts whatever the states are, so outside check and diff mode it reads no states before
    the restart (one kato call less on the node; the post-upgrade restarts run inside the maintenance window), and
    RV(before) and RV(roles_before) are then V(null); with O(wait) it reads none after it either (C(kato process
    ready) returned, so every process of the node runs), and RV(after) is V(null) too.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.ACTIONGROUP_KATO
  - stackato.cluster.progress
  - stackato.cluster.order
attributes:
  check_mode:
    support: full
    details:
      - Predicts from the process states of C(kato process list -j), setting the judged processes (see the description)
        to the state asked for. When every process of the node is judged (a role other than V(dea) and no role states
        from C(kato status -j)), a stopped role next to running ones is predicted to change, and RV(after) to stop
        every process; the real run then stops only the role and reports what changed.
  diff_mode:
    support: full
    details:
      - The diff shows the states of the judged processes.
  idempotent:
    support: partial
    details:
      - V(restarted) always restarts and reports a change.
options:
  roles:
    description:
      - The roles to act on, such as V(dea) or V(router). All roles of the node when empty.
      - V(data-services) stands for the data-service roles the node has (C(filesystem), C(mysql), C(postgresql),
        C(mongodb), C(redis), C(rabbit), C(rabbit3), C(memcached)).
      - A role the node does not have (as C(kato node list) shows it) fails the task before anything runs.
        Naming roles therefore needs O(node).
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
      - The node to act on, as C(kato node list) shows its address; the roles pass C(stackato_node_ip) for the node
        itself. Every kato command gets C(-n <node>), and the node's roles come from its line of C(kato node list).
      - When not set, the local node, whose roles kato does not document a way to read; O(roles) must then be empty.
    type: str
  wait:
    description:
      - After starting or restarting, block until all processes of the node are ready
        (C(kato process ready -b <wait_timeout> [-n node] all)).
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
    node: "{{ stackato_node_ip }}"
    roles: [dea]
    state: stopped
"""

RETURN = r"""
cause:
  description: V(not_ready) when the processes were not ready within O(wait_timeout) after the action (which was done).
  returned: failure
  type: str
  sample: not_ready
resumable:
  description: Whether running the task again can succeed without another fix (V(true) for V(not_ready)).
  returned: failure
  type: bool
  sample: true
order_after:
  description: The nodes this node's call waited for (O(order.after)); set by the action plugin.
  returned: when O(order) is set
  type: list
  elements: str
  sample: [dea1]
order_waited:
  description: Seconds the call waited on the controller for the nodes of RV(order_after).
  returned: when O(order) is set
  type: float
  sample: 41.07
order_early:
  description: Whether the module was started on the node before the node's turn (O(order.early)) and waited there.
  returned: when O(order) is set
  type: bool
  sample: true
armed:
  description:
    - Where the module started before the window waits on the node (O(order.arm)), to pass to the node's ordered task as
      O(order.armed); V(null) when nothing was started (then C(msg) says why).
  returned: when O(order.arm) is set
  type: dict
  sample: {"path": "/home/stackato/.stackato-cluster/order/3f2a9c", "job": "j108836577123", "limit": 7500, "args": "9b1d..."}
said:
  description: The word O(order.go) said to the module started before the window (V(go)), or V(null) when it said none.
  returned: when O(order.go) is set
  type: str
  sample: go
begun:
  description:
    - With O(order.begun), what the module told to begin did first - this module says nothing before it ends, so
      V(ended) - or V(null) when it had not ended within 120 seconds.
  returned: when O(order.begun) is set and the word was said
  type: str
  sample: ended
armed_result:
  description: What the module started before the window returned once told to stop (O(order.stop)).
  returned: when O(order.stop) is set
  type: dict
  sample: {"changed": false, "order_gate": "stop", "msg": "not started on the node: the backup failed"}
not_started:
  description: The node was not started because a node before it, or any node of the task, failed or did not start.
  returned: when O(order) is set and the node was not started
  type: bool
  sample: true
progress:
  description:
    - What O(progress) recorded - V(path), V(step), V(changed) (the record did not have the step yet; predicted in check
      mode) and V(done) (the steps finished, in order) - or V(null) when O(progress) is not set.
  returned: success
  type: dict
  sample: {"path": "/home/stackato/.stackato-cluster/progress.json", "step": "ready", "changed": true, "done": [upgrade, ready]}
before:
  description:
    - The node's processes and their states before the task (C(kato process list -j)).
    - V(null) for V(restarted) outside check and diff mode, which does not read them.
  returned: success
  type: dict
  sample: {"dea_ng": "STOPPED", "router2g": "RUNNING"}
after:
  description:
    - The processes and their states after the task (C(kato process list -j)).
    - In check mode, predicted (see the check mode attribute).
    - V(null) for V(restarted) with O(wait) outside check and diff mode, which does not read them (every process
      of the node is ready).
  returned: success
  type: dict
  sample: {"dea_ng": "RUNNING", "router2g": "RUNNING"}
node_roles:
  description: The node's roles from C(kato node list); V(null) when O(node) is not set.
  returned: success
  type: list
  elements: str
  sample: [base, dea]
acted_on:
  description: The roles the task acted on (V(data-services) expanded); V([]) for all roles of the node.
  returned: success
  type: list
  elements: str
  sample: [dea]
roles_before:
  description:
    - The states of the roles in RV(acted_on) before the task, from the undocumented C(kato status -j).
    - V(null) when it was not needed (O(roles) empty, or only V(dea); V(restarted) outside check and diff mode) or is
      unavailable.
  returned: success
  type: dict
  sample: {"mysql": "STOPPED"}
roles_after:
  description: The states of those roles after the task (predicted in check mode); V(null) as RV(roles_before).
  returned: success
  type: dict
  sample: {"mysql": "RUNNING"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils import _gate, _order_spec, _progress

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    cmd_to_str,
    fail_from_error,
    find_node,
    single_node_entry,
)

ACTIVE = ("RUNNING", "STARTING")
# kato's role group (the contract, section 2: all databases, RabbitMQ, filesystem): it stands for those
# of these roles the node has.
ROLE_GROUPS = {"data-services": ("filesystem", "mysql", "postgresql", "mongodb", "redis", "rabbit", "rabbit3",
                                 "memcached")}
# The processes of a role, where Stackato documents them (the contract, section 2).
ROLE_PROCESSES = {"dea": ("dea_ng", "dir_server", "fence", "apptail")}


def node_args(node):
    return ["-n", node] if node else []


def processes(client, node):
    """(node address as kato keys it, process -> state) from kato process list -j."""
    ip, procs = single_node_entry(client.run_json("process", "list", *node_args(node), "-j"),
                                  "kato process list -j", node)
    if not isinstance(procs, dict):
        raise KatoError(f"kato process list -j gave {procs!r} for {ip}, expected process -> state")
    return ip, dict(procs)


def resolve_roles(module, client):
    """(the node's roles from kato node list or None, the roles to act on). Fails for a role the node lacks."""
    wanted, node = module.params["roles"], module.params["node"]
    if not node:
        if wanted:
            module.fail_json(msg=f"roles {', '.join(wanted)} need node: set node to the node's address as kato node "
                                 f"list shows it (the roles pass stackato_node_ip), so that the task can check "
                                 f"that the node has these roles before it acts")
        return None, []
    listed = find_node(client.node_list(), node, cmd=cmd_to_str(client.argv(("node", "list"))))[1]
    acted_on = []
    for role in wanted:
        members = [r for r in ROLE_GROUPS.get(role, (role,)) if r in listed]
        if not members:
            what = f"any of the roles of {role} ({', '.join(ROLE_GROUPS[role])})" if role in ROLE_GROUPS else role
            module.fail_json(msg=f"node {node} does not have {what} (kato node list gives it: {', '.join(listed)}); "
                                 f"add it with kato role add, or leave it out of roles", node_roles=listed)
        acted_on.extend(r for r in members if r not in acted_on)
    return listed, acted_on


def role_states(module, client, ip, acted_on):
    """role -> state of the roles from the undocumented kato status -j; None (with a warning) when unavailable."""
    try:
        data = client.run_json("status", "-j")
        problem = f"kato status -j does not give the states of {', '.join(acted_on)} on {ip}"
    except KatoError as exc:
        data, problem = None, exc.msg
    entry = data.get(ip) if isinstance(data, dict) else None
    states = entry.get("roles") if isinstance(entry, dict) else None
    if not isinstance(states, dict) or not all(role in states for role in acted_on):
        module.warn(f"kato documents which processes belong to the dea role only, and the role states "
                    f"are unavailable ({problem}): judging {', '.join(acted_on)} by every process of {ip}")
        return None
    return {role: states[role] for role in acted_on}


def judged(module, ip, before, acted_on):
    """The processes whose states decide and predict: those of the roles where documented, else None."""
    names = {proc for role in acted_on for proc in ROLE_PROCESSES.get(role, ())}
    if not acted_on or not all(role in ROLE_PROCESSES for role in acted_on):
        return None
    watched = {name: state for name, state in before.items() if name in names}
    if not watched:
        module.warn(f"kato process list shows none of the processes of {', '.join(acted_on)} on {ip} "
                    f"({', '.join(sorted(names))}): judging by every process of {ip}")
        return None
    return watched


def needs_action(state, states):
    if state == "restarted":
        return True
    if state == "started":
        return not states or any(value != "RUNNING" for value in states.values())
    return any(value in ACTIVE for value in states.values())


def wait_ready(client, node, timeout):
    try:
        client.run("process", "ready", "-b", timeout, *node_args(node), "all", what="kato process ready")
    except KatoError as exc:
        where = f" on {node}" if node else ""
        exc.msg = (f"processes{where} not ready within wait_timeout={timeout} seconds: "
                   f"{' '.join((exc.stdout or exc.stderr).split())}; check them with kato process list and "
                   f"the logs in /s/logs, or raise wait_timeout")
        # as kato_upgrade's wait (ready_timeout): the action is done, a re-run acts and waits again
        exc.extra.update(cause="not_ready", resumable=True)
        raise


def apply_state(module, client, gate, state, node, acted_on):
    """The change: at the node's turn (``gate``), kato start|stop|restart, then, after a start or restart with
    O(wait), the wait until the node's processes are ready."""
    if gate is not None:
        gate.open()
    client.run({"started": "start", "stopped": "stop", "restarted": "restart"}[state], *node_args(node), *acted_on)
    if module.params["wait"] and state != "stopped":
        wait_ready(client, node, module.params["wait_timeout"])


def restart_unread(module, client, gate, node, node_roles, acted_on):
    """V(restarted) without check or diff mode: a restart acts whatever the states, so none is read before it, nor,
    with O(wait), after it (kato process ready, which returned, says every process of the node runs)."""
    apply_state(module, client, gate, "restarted", node, acted_on)
    after = None if module.params["wait"] else processes(client, node)[1]
    return {"changed": True, "before": None, "after": after, "node_roles": node_roles,
            "acted_on": acted_on, "roles_before": None, "roles_after": None}


def run_module(module, client, gate=None):
    """``gate`` (O(order.gate)): the node's turn, waited for right before kato changes the roles."""
    params = module.params
    state, node = params["state"], params["node"]
    node_roles, acted_on = resolve_roles(module, client)
    if state == "restarted" and not (module.check_mode or module._diff):
        return restart_unread(module, client, gate, node, node_roles, acted_on)
    ip, before = processes(client, node)
    # What decides: the documented processes of the roles; else the role states of kato status -j
    # (undocumented, best effort); else every process of the node (all roles: exactly that).
    watched = judged(module, ip, before, acted_on)
    roles_before = role_states(module, client, ip, acted_on) if acted_on and watched is None else None
    if watched is None and roles_before is None:
        watched = dict(before)
    act = needs_action(state, roles_before if roles_before is not None else watched)
    target = "STOPPED" if state == "stopped" else "RUNNING"
    roles_after = roles_before
    if not act:
        after = before
    elif module.check_mode:
        after = dict(before, **dict.fromkeys(watched or (), target))
        roles_after = None if roles_before is None else dict.fromkeys(roles_before, target)
    else:
        apply_state(module, client, gate, state, node, acted_on)
        after = processes(client, node)[1]
        if roles_before is not None:
            roles_after = role_states(module, client, ip, acted_on)
    changed = act if module.check_mode else state == "restarted" or before != after
    if roles_before is not None:
        diff = {"before": roles_before, "after": roles_after}
    else:
        diff = {"before": {name: before.get(name) for name in watched},
                "after": {name: after.get(name) for name in watched}}
    return {
        "changed": changed,
        "before": before,
        "after": after,
        "node_roles": node_roles,
        "acted_on": acted_on,
        "roles_before": roles_before,
        "roles_after": roles_after,
        "diff": diff,
    }


def main():
    argument_spec = dict(
        KATO_COMMON_ARGS,
        roles={"type": "list", "elements": "str", "default": []},
        state={"type": "str", "default": "started", "choices": ["started", "stopped", "restarted"]},
        node={"type": "str"},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": 600},
        progress=_progress.PROGRESS_ARG_SPEC,
        # handled by the action plugin on the controller (plugins/plugin_utils/_order.py ORDER_SPEC); never reaches the module
        order=_order_spec.ORDER_ARG_SPEC,
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    # started before the window (order.arm): its end published for the controller's wait
    _gate.publish_on_exit(module)
    if module.params["wait_timeout"] < 0:
        module.fail_json(msg=f"wait_timeout={module.params['wait_timeout']} is invalid: use 0 (forever) or more seconds")
    gate = _gate.Gate(module.params)
    try:
        result = run_module(module, KatoClient(module), gate)
    except _gate.NotStarted as exc:
        _gate.exit_not_started(module, exc)
    except KatoError as exc:
        fail_from_error(module, exc)
    finally:
        gate.discard()
    _progress.exit_recording(module, result, f"the roles are {module.params['state']}")


if __name__ == "__main__":
    main()
