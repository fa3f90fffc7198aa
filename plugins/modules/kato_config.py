#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kato_config
short_description: Set or delete a Helion Stackato configuration key with kato config
version_added: 1.0.0
description:
  - Reads a key with C(kato config get <component> <key> --json), compares it with O(value),
    and sets it with C(kato config set <component> <key> <json-value> --json) or deletes it with
    C(kato config del <component> <key>) only when it differs.
  - When the key cannot be read, C(kato config get <component> --json) reads the whole component. The key is
    missing (and O(state=present) creates it) only when that gives the component without the key. A component
    that cannot be read fails the task (C(component X not found)); the module never creates a component and does
    not parse the wording of kato's errors.
  - Values are passed as JSON, so their type is kept (V(true) is a boolean, V("true") a string).
    Booleans, integers, floats, strings, lists and dictionaries are distinct types (V(4096) and V(4096.5) differ in type).
  - With O(order), the read comes first and the change waits for the node's turn (O(order.gate)); M(stackato.cluster.kato_upgrade)'s
    O(stackato.cluster.kato_upgrade#module:restart.maintenance_off) starts it so on the core node while the core node
    restarts, and says its word once the restart is done - the window's end then costs no module start.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.ACTIONGROUP_KATO
  - stackato.cluster.order
attributes:
  check_mode:
    support: full
    details:
      - Reads as a real run does, so a missing component or a type change without O(force) fails in check mode too.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  component:
    description:
      - The configuration component, V(cluster), V(local) or a process name such as V(cloud_controller_ng).
    type: str
    required: true
  key:
    description:
      - The key path inside O(component), with C(/) between levels, for example V(maintenance_mode)
        or V(quota_definitions/default/memory_limit).
    type: str
    required: true
  value:
    description:
      - The wanted value, of any JSON type (string, number, boolean, list, dictionary).
      - Required when O(state=present).
    type: raw
  state:
    description:
      - V(present) sets the key to O(value); V(absent) deletes the key.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Allow changing the type of an existing value (for example from boolean to string, or from integer
        to float), which C(kato config set) refuses without C(--force).
      - Without it, a type change fails before anything is set, in check mode too, naming both types.
    type: bool
    default: false
seealso:
  - module: stackato.cluster.kato_info
"""

EXAMPLES = r"""
- name: Put the cluster into maintenance mode
  stackato.cluster.kato_config:
    component: cloud_controller_ng
    key: maintenance_mode
    value: true

- name: Set a nested string value
  stackato.cluster.kato_config:
    component: cluster
    key: endpoint/proxy
    value: "http://proxy.example.com:3128"

- name: Remove a key
  stackato.cluster.kato_config:
    component: cloud_controller_ng
    key: custom_banner
    state: absent
"""

RETURN = r"""
before:
  description: The value before the task, V(null) when the key did not exist.
  returned: success
  type: raw
  sample: false
after:
  description: The value after the task (predicted in check mode), V(null) when the key does not exist.
  returned: success
  type: raw
  sample: true
diff:
  description: The value before and after, as JSON text.
  returned: success
  type: dict
  sample: {"before": "false\n", "after": "true\n"}
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
    - Where the module started before its turn waits on the node (O(order.arm)), to pass to the node's ordered task as
      O(order.armed); V(null) when nothing was started (then C(msg) says why).
  returned: when O(order.arm) is set
  type: dict
  sample: {"path": "/home/stackato/.stackato-cluster/order/3f2a9c", "job": "j108836577123", "limit": 7500, "args": "9b1d..."}
said:
  description: The word O(order.go) said to the module started before its turn (V(go)), or V(null) when it said none.
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
  description: What the module started before its turn returned once told to stop (O(order.stop)).
  returned: when O(order.stop) is set
  type: dict
  sample: {"changed": false, "order_gate": "stop", "msg": "not started on the node: the run stopped"}
not_started:
  description: The node was not started because a node before it, or any node of the task, failed or did not start.
  returned: when O(order) is set and the node was not started
  type: bool
  sample: true
changed_at:
  description:
    - When kato made the change, in seconds since the epoch on the node (the middle of the C(kato config set) or
      C(kato config del) run); V(null) when nothing was changed (unchanged, or check mode). The progress callback
      stackato.cluster.upgrade_progress times maintenance mode on and off with it.
  returned: success
  type: float
  sample: 1796095879.218
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils import _gate, _order_spec
from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    cmd_to_str,
    fail_from_error,
    parse_json_output,
)


# kato keeps a value's type and refuses to change it without --force: these are distinct types
# (a boolean is not an integer, an integer not a float).
JSON_TYPES = ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"), ((list, tuple), "list"), (dict, "dict"))


def json_type(value):
    if value is None:
        return "null"
    for types, name in JSON_TYPES:
        if isinstance(value, types):
            return name
    return type(value).__name__


def canonical(value):
    """JSON text that compares values by type and content (1 != true, 1 != 1.0, key order ignored)."""
    return json.dumps(value, sort_keys=True)


def diff_text(value):
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True) + "\n"


_ABSENT = object()


def lookup(document, key):
    """The value at the /-separated key path in a component's JSON, or _ABSENT."""
    value = document
    for part in [part for part in key.split("/") if part]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _ABSENT
    return value


class KatoConfig:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.component = module.params["component"]
        self.key = module.params["key"]
        self.name = f"{self.component}/{self.key}"

    def _get(self, *args):
        """(cmd, rc, stdout, stderr, the JSON value or _ABSENT) of kato config get <args> --json."""
        argv = self.client.argv(("config", "get") + args + ("--json",))
        rc, stdout, stderr = self.client.run_argv(argv, check_rc=False)
        value = _ABSENT
        if rc == 0:
            try:
                value = parse_json_output(stdout)
            except ValueError:
                pass
        return cmd_to_str(argv), rc, stdout, stderr, value

    def read(self):
        """The current value, None when the key does not exist. Fails when the component does not exist.

        A ``get <component> <key>`` that fails (or, as kato before 3.4.1 does, exits 0 without a value)
        means a missing key only when ``get <component>`` gives the component; kato's error wording is
        not parsed. The component's JSON then tells whether the key is there.
        """
        cmd, rc, stdout, stderr, value = self._get(self.component, self.key)
        if value is not _ABSENT:
            return value
        key_read = {"key_cmd": cmd, "key_rc": rc, "key_stdout": stdout, "key_stderr": stderr}
        cmd, rc, stdout, stderr, document = self._get(self.component)
        if not isinstance(document, dict) or not document:
            answer = f"rc={rc}: {(stderr or stdout).strip() or 'no output'}" if rc else \
                f"it printed {stdout.strip()[:200] or 'nothing'!r}"
            raise KatoError(
                f"component {self.component} not found; check the name with kato config get (it lists every "
                f"component). Reading {self.name} gave no value and reading the whole component gave no "
                f"configuration ({answer}); if the name is right, check that the primary node is up "
                f"(kato config reads the cluster state from it)",
                cmd=cmd, rc=rc, stdout=stdout, stderr=stderr, **key_read,
            )
        value = lookup(document, self.key)
        return None if value is _ABSENT else value

    def set(self, value, force):
        args = ["config", "set", self.component, self.key, json.dumps(value, separators=(",", ":")), "--json"]
        if force:
            args.append("--force")
        self.client.run(*args, what=f"kato config set {self.name}")

    def delete(self):
        self.client.run("config", "del", self.component, self.key, what=f"kato config del {self.name}")


def run_module(module, config, gate=None):
    """``gate`` (O(order.gate)): the node's turn, waited for right before kato changes the key."""
    params = module.params
    wanted = params["value"] if params["state"] == "present" else None
    before = config.read()
    changed_at = None

    if canonical(before) == canonical(wanted):
        after = before
    else:
        if params["state"] == "present" and before is not None and not params["force"] \
                and json_type(before) != json_type(wanted):
            module.fail_json(
                msg=f"{config.name} holds a {json_type(before)} ({canonical(before)}) and value is a "
                    f"{json_type(wanted)} ({canonical(wanted)}); kato changes a key's type only with --force: give "
                    f"a {json_type(before)} value (in YAML, unquoted true/false and numbers are not strings, "
                    f"and 4096 is an int where 4096.0 is a float), or set force: true to change the type",
                before=before, after=before,
            )
        if not module.check_mode:
            if gate is not None:
                gate.open()
            started = time.time()
            if wanted is None:
                config.delete()
            else:
                config.set(wanted, params["force"])
            changed_at = round((started + time.time()) / 2, 3)
            after = config.read()
            if canonical(after) != canonical(wanted):
                module.fail_json(
                    msg=f"kato accepted the change of {config.name} but reading it back gives {canonical(after)} "
                        f"instead of {canonical(wanted)}; check the key path and the cluster state with kato config get",
                    before=before, after=after,
                )
        else:
            after = wanted

    return {
        "changed": canonical(before) != canonical(after),
        "before": before,
        "after": after,
        "changed_at": changed_at,
        "diff": {
            "before": diff_text(before),
            "after": diff_text(after),
            "before_header": f"{config.name} (before)",
            "after_header": f"{config.name} (after)",
        },
    }


def main():
    argument_spec = dict(
        KATO_COMMON_ARGS,
        component={"type": "str", "required": True},
        key={"type": "str", "required": True, "no_log": False},
        value={"type": "raw"},
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        force={"type": "bool", "default": False},
        # handled by the action plugin on the controller (plugins/plugin_utils/_order.py ORDER_SPEC); never reaches the module
        order=_order_spec.ORDER_ARG_SPEC,
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["value"])],
        supports_check_mode=True,
    )
    # started before its turn (order.arm): its end published for the controller's wait
    _gate.publish_on_exit(module)
    gate = _gate.Gate(module.params)
    try:
        result = run_module(module, KatoConfig(module, KatoClient(module)), gate)
    except _gate.NotStarted as exc:
        _gate.exit_not_started(module, exc)
    except KatoError as exc:
        fail_from_error(module, exc)
    finally:
        gate.discard()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
