#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: stackato_buildpack
short_description: Save the custom buildpacks of a Stackato cluster, or create one at its position
version_added: 1.1.0
description:
  - An upgrade drops every custom buildpack; the upgrade guide says to add them again with
    C(stackato create-buildpack <name> <zip> [position]). This module does the same through the Cloud Controller
    v2 API that the client wraps.
  - With O(state=saved), lists every buildpack (C(GET /v2/buildpacks)) and downloads the archive of each custom one
    (C(GET /v2/buildpacks/<guid>/download)) into O(dest); a buildpack is custom when its name is not in O(system).
  - With O(state=present), creates the buildpack O(name) at O(position) (C(POST /v2/buildpacks)) and uploads
    O(archive) as its bits (C(PUT /v2/buildpacks/<guid>/bits)), or corrects the position and flags of an existing one
    (C(PUT /v2/buildpacks/<guid>)); then reads the list again and fails unless the buildpack is there as asked.
  - While maintenance mode is on the Cloud Controller refuses writes (HTTP 503); create buildpacks after it is off.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.cc_api
  - stackato.cluster.cc_api.ACTIONGROUP_CC_API
  - stackato.cluster.kato.ATTRIBUTES
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  state:
    description:
      - V(saved) lists the buildpacks and downloads the custom ones' archives; V(present) creates or corrects one.
    type: str
    choices: [saved, present]
    default: present
  name:
    description:
      - The buildpack (V(present)).
    type: str
  position:
    description:
      - Its position, 1 first (V(present)); omitted, a new buildpack goes last and an existing one stays.
    type: int
  enabled:
    description:
      - Whether staging may use it (V(present)).
    type: bool
    default: true
  locked:
    description:
      - Whether it is locked against updates (V(present)).
    type: bool
    default: false
  archive:
    description:
      - The buildpack's zip on the node (V(present)); required to create one.
    type: path
  filename:
    description:
      - The file name the Cloud Controller records for the archive (V(present)); default the archive's base name.
        An existing buildpack whose recorded file name differs gets the archive uploaded again.
    type: str
  dest:
    description:
      - The directory the archives go to, as C(<name>.zip) (V(saved)).
    type: path
  system:
    description:
      - The names of the buildpacks the release ships (V(saved)); every other one is custom.
    type: list
    elements: str
    default: []
  exclude:
    description:
      - Custom buildpacks not to save (V(saved)).
    type: list
    elements: str
    default: []
seealso:
  - module: stackato.cluster.stackato_customizations
  - module: stackato.cluster.stackato_apps_info
"""

EXAMPLES = r"""
- name: Save the custom buildpacks
  stackato.cluster.stackato_buildpack:
    state: saved
    dest: /var/tmp/stackato-buildpacks
    system: [java, nodejs, python, ruby, php, go]
    api_url: "{{ stackato_api_url }}"
    api_password: "{{ stackato_api_password }}"
  register: saved

- name: Create one again at its position
  stackato.cluster.stackato_buildpack:
    name: custom-go
    position: 7
    archive: /var/tmp/stackato-buildpacks/custom-go.zip
    filename: custom-go-v2.zip
    api_url: "{{ stackato_api_url }}"
    api_password: "{{ stackato_api_password }}"
"""

RETURN = r"""
buildpacks:
  description: Every buildpack after the task, by position, with C(guid), C(name), C(position), C(enabled), C(locked), C(filename).
  returned: success
  type: list
  elements: dict
custom:
  description:
    - The custom buildpacks saved (V(saved)), each as in RV(buildpacks) plus C(archive), the zip's path in O(dest).
    - C(archive) is V(null), with a warning, when the API has no archive for it.
  returned: success
  type: list
  elements: dict
buildpack:
  description: The buildpack after the task (V(present)).
  returned: success
  type: dict
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._ccapi import (
    CC_API_ARGS,
    CloudControllerClient,
    CloudControllerError,
    fail_from_api_error,
)


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def save(module, client):
    params = module.params
    if not params["dest"]:
        module.fail_json(msg="state=saved needs dest, the directory for the archives")
    buildpacks = client.buildpacks()
    custom, changed = [], False
    for bp in buildpacks:
        if bp["name"] in params["system"] or bp["name"] in params["exclude"]:
            continue
        path = os.path.join(params["dest"], f"{bp['name']}.zip")
        try:
            data = client.download_buildpack_bits(bp["guid"], bp["name"])
        except CloudControllerError as exc:
            if exc.status != 404:
                raise
            module.warn(f"buildpack {bp['name']} has no archive to download ({exc.msg}); it cannot be created again")
            custom.append(dict(bp, archive=None))
            continue
        if _read(path) != data:
            changed = True
            if not module.check_mode:
                os.makedirs(params["dest"], exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=params["dest"])
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
        custom.append(dict(bp, archive=path))
    return {"changed": changed, "buildpacks": buildpacks, "custom": custom}


def present(module, client):
    params = module.params
    name = params["name"]
    if not name:
        module.fail_json(msg="state=present needs name")
    filename = params["filename"] or (os.path.basename(params["archive"]) if params["archive"] else None)
    before = next((bp for bp in client.buildpacks() if bp["name"] == name), None)
    wanted = {"enabled": params["enabled"], "locked": params["locked"]}
    if params["position"] is not None:
        wanted["position"] = params["position"]
    create = before is None
    fields = {} if create else {k: v for k, v in wanted.items() if before.get(k) != v}
    upload = create or (filename is not None and before.get("filename") != filename)
    data = None
    if upload:
        if not params["archive"]:
            module.fail_json(msg=f"buildpack {name} {'does not exist' if create else 'has another archive'}: "
                                 "archive (its zip on the node) is needed")
        data = _read(params["archive"])
        if data is None:
            module.fail_json(msg=f"the archive {params['archive']} of buildpack {name} is missing on the node")
    changed = create or bool(fields) or upload
    result = {"changed": changed}
    if module._diff:
        result["diff"] = {"before": before or {}, "after": dict(before or {}, name=name, filename=filename, **wanted)}
    if not changed or module.check_mode:
        result["buildpacks"] = client.buildpacks() if not changed else []
        result["buildpack"] = before or {}
        return result
    if create:
        guid = client.create_buildpack(name, params["position"], params["enabled"], params["locked"])
    else:
        guid = before["guid"]
        if fields:
            client.update_buildpack(guid, name, **fields)
    if upload:
        client.upload_buildpack_bits(guid, name, filename, data)
    after_list = client.buildpacks()
    after = next((bp for bp in after_list if bp["name"] == name), None)
    expected = dict(wanted, filename=filename)
    wrong = [k for k, v in expected.items() if after is not None and v is not None and after.get(k) != v]
    if after is None or wrong:
        module.fail_json(msg=f"buildpack {name} is not as asked after the change: "
                             f"{'missing' if after is None else ', '.join(f'{k}={after.get(k)!r}' for k in wrong)}",
                         buildpacks=after_list, **{k: v for k, v in result.items() if k != "changed"})
    result.update(buildpacks=after_list, buildpack=after)
    return result


def main():
    argument_spec = dict(CC_API_ARGS)
    argument_spec.update(
        state={"type": "str", "choices": ["saved", "present"], "default": "present"},
        name={"type": "str"},
        position={"type": "int"},
        enabled={"type": "bool", "default": True},
        locked={"type": "bool", "default": False},
        archive={"type": "path"},
        filename={"type": "str"},
        dest={"type": "path"},
        system={"type": "list", "elements": "str", "default": []},
        exclude={"type": "list", "elements": "str", "default": []},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        client = CloudControllerClient.from_params(module)
        result = save(module, client) if module.params["state"] == "saved" else present(module, client)
    except CloudControllerError as exc:
        fail_from_api_error(module, exc)
    for warning in client.warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
