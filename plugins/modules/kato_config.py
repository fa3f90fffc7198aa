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
  - Values are passed as JSON, so their type is kept (V(true) is a boolean, V("true") a string).
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.ACTIONGROUP_KATO
attributes:
  check_mode:
    support: full
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
      - Allow changing the type of an existing value (for example from boolean to string),
        which C(kato config set) refuses without C(--force).
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
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    cmd_to_str,
    fail_from_error,
    parse_json_output,
)


def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    return "map"


def canonical(value):
    """JSON text that compares values by type and content (1 != true, key order ignored)."""
    return json.dumps(value, sort_keys=True)


def diff_text(value):
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True) + "\n"


class KatoConfig:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.component = module.params["component"]
        self.key = module.params["key"]
        self.name = f"{self.component}/{self.key}"

    def read(self):
        """The current value, None when the key does not exist."""
        rc, stdout, stderr = self.client.run("config", "get", self.component, self.key, "--json", check_rc=False)
        if rc != 0:
            if "not found" in (stderr + stdout).lower():
                return None
            raise KatoError(
                f"reading {self.name} failed (rc={rc}): {(stderr or stdout).strip()}; check that the component "
                f"name is right and that the primary node is up (kato config reads the cluster state from it)",
                cmd=cmd_to_str(self.client.argv(("config", "get", self.component, self.key, "--json"))),
                rc=rc, stdout=stdout, stderr=stderr,
            )
        if not stdout.strip():
            return None
        try:
            return parse_json_output(stdout)
        except ValueError as exc:
            raise KatoError(
                f"could not parse the value of {self.name} from kato config get --json: {exc}",
                cmd=cmd_to_str(self.client.argv(("config", "get", self.component, self.key, "--json"))),
                rc=rc, stdout=stdout, stderr=stderr,
            ) from None

    def set(self, value, force):
        args = ["config", "set", self.component, self.key, json.dumps(value, separators=(",", ":")), "--json"]
        if force:
            args.append("--force")
        self.client.run(*args, what=f"kato config set {self.name}")

    def delete(self):
        self.client.run("config", "del", self.component, self.key, what=f"kato config del {self.name}")


def run_module(module, config):
    params = module.params
    wanted = params["value"] if params["state"] == "present" else None
    before = config.read()

    if canonical(before) == canonical(wanted):
        after = before
    else:
        if params["state"] == "present" and before is not None and not params["force"] \
                and json_type(before) != json_type(wanted):
            module.fail_json(
                msg=f"{config.name} holds a {json_type(before)} ({canonical(before)}) and value is a "
                    f"{json_type(wanted)} ({canonical(wanted)}); give a {json_type(before)} value "
                    f"(in YAML, unquoted true/false and numbers are not strings), or set force=true to change the type",
                before=before, after=before,
            )
        if not module.check_mode:
            if wanted is None:
                config.delete()
            else:
                config.set(wanted, params["force"])
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
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["value"])],
        supports_check_mode=True,
    )
    try:
        result = run_module(module, KatoConfig(module, KatoClient(module)))
    except KatoError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
