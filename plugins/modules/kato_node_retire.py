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
)
from ansible_collections.stackato.cluster.plugins.module_utils import _progress
# The retirement itself is shared with kato_upgrade (option retire).
from ansible_collections.stackato.cluster.plugins.module_utils._retire import retire_dea


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
        params = module.params
        result = retire_dea(module, KatoClient(module), CloudControllerClient.from_params(module), params["node"],
                            params["dea_memory_mb"], params["wait_timeout"])
    except KatoError as exc:
        fail_from_error(module, exc)
    except CloudControllerError as exc:
        fail_from_api_error(module, exc)
    _progress.exit_recording(module, result, f"{module.params['node']} is retired",
                             data={"instances": result["instances_before"]})


if __name__ == "__main__":
    main()
