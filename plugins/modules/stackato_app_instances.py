#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: stackato_app_instances
short_description: Check that the apps of a Helion Stackato cluster run as many instances as before
version_added: 1.1.0
description:
  - Reads the app instances from the Cloud Controller v2 API on the Core node, as M(stackato.cluster.stackato_apps_info)
    does (C(GET /v2/apps), all pages, and C(GET /v2/apps/<guid>/stats) of each started app), and compares them with
    O(before), where every app must run at least as many instances (V(RUNNING) or V(STARTING)) as it did then
    (the rule of the C(stackato.cluster.instance_shortfall) filter).
  - Fails, listing each app that runs fewer (C(app - before -> now)), when one does; changes nothing on the cluster.
  - With O(progress), records the step (V(verify) after a DEA's upgrade) on the node once the check passed, in the same
    call, instead of a task of its own.
  - Does not need kato.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.cc_api
  - stackato.cluster.cc_api.ACTIONGROUP_CC_API
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.progress
attributes:
  check_mode:
    support: full
    details:
      - Reads and compares as in a real run; records nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  before:
    description:
      - The app instances to compare with, as RV(stackato.cluster.stackato_apps_info#module:instances) or
        RV(stackato.cluster.kato_node_retire#module:instances_before) returned them (at least C(app) and C(state) per
        instance).
      - Empty passes without reading the API.
    type: list
    elements: dict
    required: true
seealso:
  - module: stackato.cluster.stackato_apps_info
  - module: stackato.cluster.kato_node_retire
"""

EXAMPLES = r"""
- name: Check that the apps are back after the DEA's upgrade and record the verify step
  stackato.cluster.stackato_app_instances:
    before: "{{ retired.instances_before }}"
    api_url: "{{ stackato_api_url }}"
    api_username: "{{ stackato_api_username }}"
    api_password: "{{ stackato_api_password }}"
    progress:
      target: "3.6.2"
      step: verify
"""

RETURN = r"""
instances:
  description: The instances now, as RV(stackato.cluster.stackato_apps_info#module:instances); V([]) when O(before) is empty.
  returned: always
  type: list
  elements: dict
  sample: [{"app": "web", "guid": "5a1f...", "index": 0, "memory_mb": 256, "host": "127.42.0.13", "state": "RUNNING"}]
short:
  description: One line per app that runs fewer instances than in O(before) (C(app - before -> now)); empty on success.
  returned: always
  type: list
  elements: str
  sample: ["web: 2 -> 1"]
progress:
  description:
    - What O(progress) recorded - V(path), V(step), V(also), V(changed) (the record did not have the step yet;
      predicted in check mode) and V(done) (the steps finished, in order) - or V(null) when O(progress) is not set.
  returned: success
  type: dict
  sample: {"path": "/home/stackato/.stackato-cluster/progress.json", "step": "verify", "also": [], "changed": true,
           "done": [retire, upgrade, ready, verify]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils import _progress
from ansible_collections.stackato.cluster.plugins.module_utils._ccapi import (
    CC_API_ARGS,
    CloudControllerClient,
    CloudControllerError,
    fail_from_api_error,
)
from ansible_collections.stackato.cluster.plugins.module_utils._rules import instance_shortfall


def main():
    module = AnsibleModule(
        argument_spec=dict(CC_API_ARGS, before={"type": "list", "elements": "dict", "required": True},
                           progress=_progress.PROGRESS_ARG_SPEC),
        supports_check_mode=True,
    )
    before = module.params["before"]
    instances = []
    if before:
        try:
            client = CloudControllerClient.from_params(module)
            instances = client.instances(client.apps())
        except CloudControllerError as exc:
            fail_from_api_error(module, exc)
        for warning in client.warnings:
            module.warn(warning)
    short = instance_shortfall(before, instances)
    result = {"changed": False, "instances": instances, "short": short}
    if short:
        module.fail_json(msg=f"these apps run fewer instances than before (app: before -> now): {', '.join(short)}; "
                             f"check them with `stackato apps` and the DEAs' logs before re-running", **result)
    _progress.exit_recording(module, result, "the apps run as many instances as before")


if __name__ == "__main__":
    main()
