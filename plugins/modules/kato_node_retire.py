#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kato_node_retire
short_description: Gracefully retire a Helion Stackato DEA node with kato node retire
version_added: 1.0.0
description:
  - Checks first that the other DEA nodes have the free memory for the instances of O(node),
    and refuses (changing nothing) when they do not.
  - Then runs C(kato node retire -n <node>), which starts new instances of its apps on other DEAs
    before the DEA shuts down, and reports where the instances went.
  - A DEA that runs no instances counts as retired already.
  - Run it on the Core node.
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
  node:
    description:
      - The address of the DEA node to retire, as C(kato node list) shows it.
    type: str
    required: true
  wait_timeout:
    description:
      - Seconds C(kato node retire) may take before it is stopped and the task fails.
    type: int
    default: 600
notes:
  - Reads C(kato node list -j) and C(kato info -n <ip> -j) of every DEA node, and C(kato process list -n <ip> -j)
    of the other DEA nodes (a DEA whose C(dea_ng) process is not running takes no instances). The per-DEA memory and
    instance figures (the C(dea) key of C(kato info -j)) are not part of kato's documented output;
    when kato does not report them the up-front capacity check is skipped with a warning and
    kato itself refuses a retire that does not fit.
seealso:
  - module: stackato.cluster.kato_info
"""

EXAMPLES = r"""
- name: Retire the DEA before upgrading it
  stackato.cluster.kato_node_retire:
    node: "{{ ansible_host }}"
  delegate_to: "{{ groups['stackato_core'] | first }}"
"""

RETURN = r"""
moved:
  description: The instances that moved, one entry per instance.
  returned: success
  type: list
  elements: dict
  contains:
    app:
      description: The app name.
      type: str
    from:
      description: The retired DEA.
      type: str
    to:
      description: The DEA that runs the new instance.
      type: str
  sample: [{"app": "web", "from": "127.42.0.13", "to": "127.42.0.14"}]
needed_mb:
  description: The memory of the instances on O(node), in MB; V(null) when kato does not report it.
  returned: success
  type: int
  sample: 512
free_mb:
  description:
    - The free memory of the other DEAs that are not retired and run C(dea_ng), in MB; V(null) when kato does not report it.
  returned: success
  type: int
  sample: 3584
"""

from collections import Counter

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    fail_from_error,
    single_node_entry,
)


def dea_nodes(client):
    nodes = client.run_json("node", "list", "-j")
    if not isinstance(nodes, dict):
        raise KatoError(f"kato node list -j returned {nodes!r}, expected a JSON object keyed by node IP")
    return sorted(ip for ip, info in nodes.items() if "dea" in ((info or {}).get("roles") or [])), nodes


def dea_report(client, ip):
    """The 'dea' figures of kato info -n <ip> -j, or None when kato does not report them."""
    info = single_node_entry(client.run_json("info", "-n", ip, "-j"), f"kato info -n {ip} -j", ip)[1] or {}
    dea = info.get("dea")
    return dea if isinstance(dea, dict) and "instances" in dea else None


def is_retired(dea):
    return bool(dea.get("retired")) or int(dea.get("memory_mb") or 0) <= 0


def dea_ng_running(client, ip):
    """Whether the DEA process of node ip runs (a retired or stopped DEA takes no instances)."""
    data = client.run_json("process", "list", "-n", ip, "-j")
    processes = single_node_entry(data, f"kato process list -n {ip} -j", ip)[1] or {}
    return processes.get("dea_ng", "RUNNING") in ("RUNNING", "STARTING")


def free_mb(dea):
    return max(int(dea.get("memory_mb") or 0) - int(dea.get("used_mb") or 0), 0)


def apps(dea):
    return Counter(instance.get("app") for instance in (dea or {}).get("instances") or [])


def read_all(client, deas):
    return {ip: dea_report(client, ip) for ip in deas}


def moved_instances(node, before, after):
    moved = []
    leaving = apps(before[node])
    for ip in sorted(after):
        if ip == node or before.get(ip) is None or after.get(ip) is None:
            continue
        for app, count in sorted((apps(after[ip]) - apps(before[ip])).items()):
            count = min(count, leaving[app])
            leaving[app] -= count
            moved += [{"app": app, "from": node, "to": ip}] * count
    return moved


def run_module(module, client):
    node = module.params["node"]
    deas, nodes = dea_nodes(client)
    if node not in deas:
        roles = (nodes.get(node) or {}).get("roles")
        where = f"it has the roles {', '.join(roles)}" if roles is not None else \
            f"it is not in kato node list ({', '.join(sorted(nodes))})"
        module.fail_json(msg=f"{node} is not a DEA node: {where}; give the address of a node with the dea role")
    before = read_all(client, deas)
    result = {"changed": False, "moved": [], "needed_mb": None, "free_mb": None}
    target = before[node]
    if target is None:
        module.warn(f"kato info -n {node} -j does not report DEA memory and instances: skipping the capacity check; "
                    f"kato node retire refuses by itself when the other DEAs lack memory")
    else:
        if not target.get("instances"):
            result["diff"] = {"before": {"instances": []}, "after": {"instances": []}}
            return result
        result["needed_mb"] = sum(int(i.get("memory_mb") or 0) for i in target["instances"])
        result["free_mb"] = sum(free_mb(dea) for ip, dea in before.items()
                                if ip != node and dea is not None and not is_retired(dea)
                                and dea_ng_running(client, ip))
        if result["needed_mb"] > result["free_mb"]:
            module.fail_json(
                msg=f"refusing to retire DEA {node}: its instances need {result['needed_mb']} MB but the other DEAs "
                    f"have {result['free_mb']} MB free; add a DEA node (or free memory on the others) first",
                **result)
    result["changed"] = True
    if module.check_mode:
        result["diff"] = {"before": {"instances": (target or {}).get("instances")}, "after": {"instances": []}}
        return result
    client.run("node", "retire", "-n", node, timeout=module.params["wait_timeout"], what=f"kato node retire -n {node}")
    after = read_all(client, deas)
    if target is not None:
        if (after[node] or {}).get("instances"):
            module.fail_json(msg=f"kato node retire -n {node} finished but {node} still runs "
                                 f"{len(after[node]['instances'])} instance(s); check kato node list and the DEA logs",
                             **result)
        result["moved"] = moved_instances(node, before, after)
    result["diff"] = {"before": {"instances": (target or {}).get("instances")},
                      "after": {"instances": (after[node] or {}).get("instances")}}
    return result


def main():
    argument_spec = dict(
        KATO_COMMON_ARGS,
        node={"type": "str", "required": True},
        wait_timeout={"type": "int", "default": 600},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["wait_timeout"] < 1:
        module.fail_json(msg=f"wait_timeout={module.params['wait_timeout']} is invalid: give seconds, at least 1")
    try:
        result = run_module(module, KatoClient(module))
    except KatoError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
