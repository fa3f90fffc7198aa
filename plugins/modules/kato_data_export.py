#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kato_data_export
short_description: Back up Helion Stackato system and user data with kato data export
version_added: 1.0.0
description:
  - Runs C(kato data export --cluster <dest>) (or C(--only-this-node)), the backup the upgrade guide
    recommends before upgrading, and reports the archive's size and checksum.
  - An existing O(dest) is kept and reported unchanged unless O(force=true).
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
    support: partial
    details:
      - Not idempotent with O(force=true), which exports again every time.
options:
  dest:
    description:
      - Where to write the archive on the node; must end in C(.tgz), and its directory must exist.
    type: path
    required: true
  scope:
    description:
      - V(cluster) exports the whole cluster's data (C(--cluster)), V(only-this-node) this node's (C(--only-this-node)).
    type: str
    choices: [cluster, only-this-node]
    default: cluster
  force:
    description:
      - Export again even when O(dest) exists, replacing it.
    type: bool
    default: false
  timeout:
    description:
      - Seconds the export may take before it is stopped and the task fails; V(0) means no limit.
    type: int
    default: 0
seealso:
  - module: stackato.cluster.kato_upgrade
"""

EXAMPLES = r"""
- name: Back up the cluster before the upgrade
  stackato.cluster.kato_data_export:
    dest: /home/stackato/backup/pre-3.6.2.tgz
  register: stackato_backup
"""

RETURN = r"""
path:
  description: The archive's path.
  returned: success
  type: str
  sample: /home/stackato/backup/pre-3.6.2.tgz
size_bytes:
  description: The archive's size in bytes; V(null) in check mode when it would be created.
  returned: success
  type: int
  sample: 104857600
sha256:
  description: The archive's SHA-256 checksum; V(null) in check mode when it would be created.
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    fail_from_error,
)


def describe(module, path):
    if not os.path.isfile(path):
        return {"path": path, "size_bytes": None, "sha256": None}
    return {"path": path, "size_bytes": os.path.getsize(path), "sha256": module.sha256(path)}


def run_module(module, client):
    dest, force = module.params["dest"], module.params["force"]
    if not dest.endswith(".tgz"):
        module.fail_json(msg=f"dest={dest} must end in .tgz (kato data export writes a gzipped tar), e.g. {dest}.tgz")
    directory = os.path.dirname(dest) or "."
    if not os.path.isdir(directory):
        module.fail_json(msg=f"the directory {directory} of dest does not exist; create it first "
                             f"(ansible.builtin.file with state=directory)")
    before = describe(module, dest)
    exists = before["sha256"] is not None
    if exists and not force:
        return dict(before, changed=False)
    if module.check_mode:
        after = dict(before, size_bytes=None, sha256=None)
    else:
        client.run("data", "export", f"--{module.params['scope']}", dest,
                   timeout=module.params["timeout"] or None, what="kato data export")
        after = describe(module, dest)
        if after["sha256"] is None:
            raise KatoError(f"kato data export succeeded but wrote no file at {dest}; check free disk space "
                            f"and /s/logs/kato.log", cmd=f"{client.kato_path} data export")
    result = dict(after, changed=module.check_mode or before["sha256"] != after["sha256"])
    result["diff"] = {"before": {"sha256": before["sha256"]}, "after": {"sha256": after["sha256"] or "(new export)"}}
    return result


def main():
    argument_spec = dict(
        KATO_COMMON_ARGS,
        dest={"type": "path", "required": True},
        scope={"type": "str", "default": "cluster", "choices": ["cluster", "only-this-node"]},
        force={"type": "bool", "default": False},
        timeout={"type": "int", "default": 0},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        result = run_module(module, KatoClient(module))
    except KatoError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
