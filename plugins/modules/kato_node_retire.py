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
  - Places the app instances of the DEA O(node) on the other DEAs first, the way DEA retirement does
    (the collection's one capacity rule places the instances biggest first, each onto a DEA with room for it,
    spreading an app's instances), and refuses, changing nothing, when an instance fits on no other DEA.
    The refusal names the instance, the largest free slot and the fix.
  - Then runs C(kato node retire -n <node>), which starts new instances of its apps on other DEAs
    before the DEA shuts down, and reports where the instances went (RV(moved)).
  - A DEA that runs no app instances is left alone (no change).
  - Returns the instances read before the retirement (RV(instances_before)); the role counts an app's instances
    after the DEA's upgrade against them, and O(progress) keeps them in the node's record with the C(retire) step.
  - The DEAs come from C(kato node list), their memory from C(kato config get dea_ng resources/memory_mb)
    or O(dea_memory_mb), the app instances and where they run from the Cloud Controller v2 API (O(api_url)).
  - Run it on the Core node.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.cc_api
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.progress
attributes:
  check_mode:
    support: full
    details:
      - Predicts the placement (RV(placed)) and refuses as a real run would.
  diff_mode:
    support: full
  idempotent:
    support: full
  action_group:
    description: Use C(group/stackato.cluster.kato) or C(group/stackato.cluster.cc_api) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - stackato.cluster.kato
      - stackato.cluster.cc_api
options:
  node:
    description:
      - The address of the DEA node to retire, as C(kato node list) shows it.
    type: str
    required: true
  dea_memory_mb:
    description:
      - Memory in MB of the DEAs sized differently from the cluster's C(dea_ng resources/memory_mb),
        by address (the roles pass each DEA's C(stackato_dea_memory_mb)).
      - C(kato config get dea_ng resources/memory_mb) is not read when every DEA is given here.
    type: dict
    default: {}
  wait_timeout:
    description:
      - Seconds C(kato node retire) may take before it is stopped and the task fails.
    type: int
    default: 600
notes:
  - "Reads, all documented: C(kato node list) text [doc] (the DEAs: nodes with the C(dea) role);
    C(kato config get dea_ng resources/memory_mb --json) [doc] (one cluster-wide DEA memory);
    C(kato process list -c -j) [doc] (one call for the cluster; C(kato process list -n <ip> -j) [doc] per other DEA only when
    it fails) (a DEA whose C(dea_ng) is not running, or that the output leaves out, takes no instance);
    C(GET /v2/info), a password-grant token, C(GET /v2/apps) and C(GET /v2/apps/<guid>/stats) of the Cloud
    Controller v2 API [doc: Cloud Foundry v2 API] (the instances, their memory and their DEA), before and after
    the retirement. Runs C(kato node retire -n <node>) [doc]."
  - C(kato info -j) and C(kato node list -j) are not read (their forms are not documented).
seealso:
  - module: stackato.cluster.stackato_apps_info
  - module: stackato.cluster.kato_info
"""

EXAMPLES = r"""
- name: Retire the DEA before upgrading it
  stackato.cluster.kato_node_retire:
    node: "{{ stackato_node_ip }}"
    # the DEAs sized differently from dea_ng resources/memory_mb: {address: MB}
    dea_memory_mb: >-
      {{ groups['dea'] | map('extract', hostvars) | selectattr('stackato_dea_memory_mb', 'defined')
         | items2dict(key_name='stackato_node_ip', value_name='stackato_dea_memory_mb') }}
    api_url: "{{ stackato_api_url }}"
    api_username: "{{ stackato_api_username }}"
    api_password: "{{ stackato_api_password }}"
    ca_path: "{{ stackato_api_ca_path | default(omit) }}"
  delegate_to: "{{ groups['core'] | first }}"
"""

RETURN = r"""
instances_before:
  description:
    - Every running instance of every started app before the retirement, as M(stackato.cluster.stackato_apps_info)
      returns them in RV(stackato.cluster.stackato_apps_info#module:instances) (one Cloud Controller read for both).
  returned: success
  type: list
  elements: dict
  sample: [{"app": "web", "guid": "5a1f...", "index": 0, "memory_mb": 256, "host": "127.42.0.13", "state": "RUNNING"}]
progress:
  description:
    - What O(progress) recorded - V(path), V(step), V(changed) (the record did not have the step yet; predicted in check
      mode) and V(done) (the steps finished, in order) - or V(null) when O(progress) is not set. The step's entry in
      the record keeps RV(instances_before) as V(instances).
  returned: success
  type: dict
  sample: {"path": "/home/stackato/.stackato-cluster/progress.json", "step": "retire", "changed": true, "done": [retire]}
moved:
  description: The instances that moved, one entry per instance (from the Cloud Controller before and after).
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
placed:
  description:
    - Where the capacity rule places each instance of O(node), biggest first (the prediction in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    app:
      description: The app name.
      type: str
    memory_mb:
      description: The instance's memory in MB.
      type: int
    from:
      description: O(node).
      type: str
    to:
      description: The DEA the instance goes to.
      type: str
  sample: [{"app": "web", "memory_mb": 256, "from": "127.42.0.13", "to": "127.42.0.14"}]
unplaced:
  description: The instances of O(node) that fit on no other DEA (the task then fails, changing nothing).
  returned: always
  type: list
  elements: dict
  contains:
    app:
      description: The app name.
      type: str
    memory_mb:
      description: The instance's memory in MB.
      type: int
    from:
      description: O(node).
      type: str
    largest_free_mb:
      description: The largest free memory on one other DEA, in MB.
      type: int
    largest_free_dea:
      description: The DEA with that free memory; V(null) when no other DEA is available.
      type: str
  sample: []
needed_mb:
  description: The memory of the instances on O(node), in MB.
  returned: always
  type: int
  sample: 512
free_mb:
  description: The free memory of the other DEAs whose C(dea_ng) runs, in MB, summed (for the record; placement decides).
  returned: always
  type: int
  sample: 3584
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._ccapi import (
    CC_API_ARGS,
    CloudControllerClient,
    CloudControllerError,
    fail_from_api_error,
)
from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    fail_from_error,
    find_node,
    single_node_entry,
)
from ansible_collections.stackato.cluster.plugins.module_utils import _progress
from ansible_collections.stackato.cluster.plugins.module_utils._rules import dea_nodes, place_retirement

RUNNING = ("RUNNING", "STARTING")
MEMORY_KEY = ("config", "get", "dea_ng", "resources/memory_mb", "--json")


def address(text):
    try:
        return str(ipaddress.ip_address(str(text).strip()))
    except ValueError:
        return str(text).strip()


def memory_overrides(module):
    """dea_memory_mb as {address: MB}; a value that is not a positive whole number fails the task."""
    overrides = {}
    for ip, value in (module.params["dea_memory_mb"] or {}).items():
        try:
            memory = int(str(value).strip())
        except ValueError:
            memory = 0
        if memory <= 0:
            module.fail_json(msg=f"dea_memory_mb: {ip}: {value!r} is not a memory size in MB; give a whole number such as 4096")
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


def run_module(module, kato, api):
    params = module.params
    nodes = kato.node_list()
    node, roles = find_node(nodes, params["node"])
    if "dea" not in roles:
        module.fail_json(msg=f"{node} is not a DEA node: it has the roles {', '.join(roles) or 'none'}; "
                             f"give the address of a node with the dea role")
    overrides = memory_overrides(module)
    dea_ips = sorted(ip for ip, node_roles in nodes.items() if "dea" in node_roles)
    deas = dea_nodes(nodes, dea_memory(kato, dea_ips, overrides), overrides)
    before = api.instances()
    retiring = on_dea(before, node)
    result = {"changed": False, "moved": [], "placed": [], "unplaced": [], "instances_before": before,
              "needed_mb": sum(i["memory_mb"] for i in retiring), "free_mb": 0}
    if not retiring:
        result["diff"] = {"before": {"instances": []}, "after": {"instances": []}}
        return result
    unavailable = stopped_deas(module, kato, deas, node)
    used = {}
    for instance in before:
        if str(instance.get("state")).upper() in RUNNING:
            used[instance.get("host")] = used.get(instance.get("host"), 0) + instance["memory_mb"]
    result["free_mb"] = sum(max(0, deas[ip]["memory_mb"] - used.get(ip, 0)) for ip in deas
                            if ip != node and ip not in unavailable)
    placement = place_retirement(deas, before, node, unavailable)
    result.update(placed=placement["placed"], unplaced=placement["unplaced"])
    if placement["unplaced"]:
        module.fail_json(msg=refusal(node, placement["unplaced"]), **result)
    result["changed"] = True
    result["diff"] = {"before": {"instances": summary(retiring)}, "after": {"instances": []}}
    if module.check_mode:
        return result
    kato.run("node", "retire", "-n", node, timeout=params["wait_timeout"], what=f"kato node retire -n {node}")
    after = api.instances()
    left = on_dea(after, node)
    result["moved"] = moved_instances(node, before, after)
    result["diff"]["after"] = {"instances": summary(left)}
    if left:
        module.fail_json(msg=f"kato node retire -n {node} finished but the Cloud Controller still shows {len(left)} "
                             f"instance(s) on {node}; check kato node list, the DEA logs and the app stats", **result)
    return result


def main():
    argument_spec = dict(
        KATO_COMMON_ARGS,
        **CC_API_ARGS,
        node={"type": "str", "required": True},
        dea_memory_mb={"type": "dict", "default": {}},
        wait_timeout={"type": "int", "default": 600},
        progress=_progress.PROGRESS_ARG_SPEC,
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["wait_timeout"] < 1:
        module.fail_json(msg=f"wait_timeout={module.params['wait_timeout']} is invalid: give seconds, at least 1")
    try:
        result = run_module(module, KatoClient(module), CloudControllerClient.from_params(module))
    except KatoError as exc:
        fail_from_error(module, exc)
    except CloudControllerError as exc:
        fail_from_api_error(module, exc)
    _progress.exit_recording(module, result, f"{module.params['node']} is retired",
                             data={"instances": result["instances_before"]})


if __name__ == "__main__":
    main()
