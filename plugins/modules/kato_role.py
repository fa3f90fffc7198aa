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
  - Reads the node's processes with C(kato process list -j), runs C(kato start|stop|restart [-n node] [role...])
    when needed, waits with C(kato process ready --block <wait_timeout> all) and reads the processes again.
  - V(started) does nothing when every process is RUNNING; V(stopped) does nothing when none is
    RUNNING or STARTING; V(restarted) always restarts.
author:
  - stackato.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.ACTIONGROUP_KATO
attributes:
  check_mode:
    support: full
    details:
      - kato does not say which processes belong to which role, so with O(roles) set the prediction
        looks at all of the node's processes.
  diff_mode:
    support: full
  idempotent:
    support: partial
    details:
      - V(restarted) always restarts and reports a change.
options:
  roles:
    description:
      - The roles to act on, such as V(dea) or V(router). All roles of the node when empty.
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
      - Act on this node (C(-n)) instead of the local one.
      - kato can only wait for local processes, so O(wait) is skipped (with a warning) when O(node) is set.
    type: str
  wait:
    description:
      - After starting or restarting, block until all processes are ready
        (C(kato process ready --block <wait_timeout> all)).
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
  description: The processes and their states after the task (predicted in check mode).
  returned: success
  type: dict
  sample: {"dea_ng": "RUNNING", "router2g": "RUNNING"}
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


def processes(client, node):
    args = ["process", "list"] + (["-n", node] if node else []) + ["-j"]
    return dict(single_node_entry(client.run_json(*args), "kato process list -j", node)[1] or {})


def predict(state, before):
    target = "STOPPED" if state == "stopped" else "RUNNING"
    return {name: target for name in before}


def needs_action(state, before):
    if state == "restarted":
        return True
    if state == "started":
        return not before or any(value != "RUNNING" for value in before.values())
    return any(value in ACTIVE for value in before.values())


def run_module(module, client):
    params = module.params
    state, node = params["state"], params["node"]
    before = processes(client, node)
    act = needs_action(state, before)
    if module.check_mode or not act:
        after = predict(state, before) if act else before
    else:
        verb = {"started": "start", "stopped": "stop", "restarted": "restart"}[state]
        client.run(verb, *(["-n", node] if node else []), *params["roles"])
        if params["wait"] and state != "stopped":
            if node:
                module.warn(f"not waiting for {node}: kato process ready only checks the local node")
            else:
                try:
                    client.run("process", "ready", "--block", params["wait_timeout"], "all",
                               what="kato process ready")
                except KatoError as exc:
                    exc.msg = (f"processes not ready within wait_timeout={params['wait_timeout']} seconds: "
                               f"{' '.join((exc.stdout or exc.stderr).split())}; check them with kato status and "
                               f"the logs in /s/logs, or raise wait_timeout")
                    raise
        after = processes(client, node)
    return {
        "changed": state == "restarted" or before != after,
        "before": before,
        "after": after,
        "diff": {"before": before, "after": after},
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
