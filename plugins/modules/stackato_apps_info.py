#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: stackato_apps_info
short_description: Read the apps of a Helion Stackato cluster and where their instances run
version_added: 1.0.0
description:
  - Reads the Cloud Controller v2 API on the Core node, the documented source of the apps, their memory
    and the DEA each instance runs on (kato prints none of it in a documented form).
  - Lists every app (C(GET /v2/apps), all pages) and, for each started app, its instances
    (C(GET /v2/apps/<guid>/stats)).
  - The roles feed RV(apps) and RV(instances) to the capacity and zero-downtime rules
    (for example the C(stackato.cluster.dea_capacity_findings) and C(stackato.cluster.instance_counts) filters).
  - Never changes anything. Does not need kato.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.cc_api
  - stackato.cluster.cc_api.ACTIONGROUP_CC_API
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.INFO_MODULE
options: {}
seealso:
  - module: stackato.cluster.kato_node_retire
  - module: stackato.cluster.kato_info
"""

EXAMPLES = r"""
- name: Read the apps and their instances from the Core node
  stackato.cluster.stackato_apps_info:
    api_url: "{{ stackato_api_url }}"
    api_username: "{{ stackato_api_username }}"
    api_password: "{{ stackato_api_password }}"
    ca_path: "{{ stackato_api_ca_path | default(omit) }}"
  delegate_to: "{{ groups['core'] | first }}"
  run_once: true
  register: apps_info

- name: Show the instances on each DEA
  ansible.builtin.debug:
    msg: "{{ apps_info.instances | groupby('host') }}"
"""

RETURN = r"""
apps:
  description: Every app of the cluster, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    guid:
      description: The app's GUID.
      type: str
    name:
      description: The app's name.
      type: str
    memory_mb:
      description: Memory per instance in MB (the app's C(memory)).
      type: int
    instances:
      description: The number of instances the app asks for.
      type: int
    state:
      description: V(STARTED) or V(STOPPED).
      type: str
  sample: [{"guid": "5a1f...", "name": "web", "memory_mb": 256, "instances": 2, "state": "STARTED"}]
instances:
  description: One entry per instance of every started app (from its stats), sorted by app and index.
  returned: success
  type: list
  elements: dict
  contains:
    app:
      description: The app's name.
      type: str
    guid:
      description: The app's GUID.
      type: str
    index:
      description: The instance index.
      type: int
    memory_mb:
      description: The app's memory per instance in MB.
      type: int
    host:
      description: The address of the DEA that runs the instance; V(null) when the stats name none (a V(DOWN) instance).
      type: str
    state:
      description: V(RUNNING), V(STARTING), V(DOWN) or V(CRASHED).
      type: str
  sample: [{"app": "web", "guid": "5a1f...", "index": 0, "memory_mb": 256, "host": "127.42.0.13", "state": "RUNNING"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._ccapi import (
    CC_API_ARGS,
    CloudControllerClient,
    CloudControllerError,
    fail_from_api_error,
)


def main():
    module = AnsibleModule(argument_spec=dict(CC_API_ARGS), supports_check_mode=True)
    try:
        client = CloudControllerClient.from_params(module)
        apps = client.apps()
        instances = client.instances(apps)
    except CloudControllerError as exc:
        fail_from_api_error(module, exc)
    for warning in client.warnings:
        module.warn(warning)
    module.exit_json(changed=False, apps=apps, instances=instances)


if __name__ == "__main__":
    main()
