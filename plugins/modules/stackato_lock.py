#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: stackato_lock
short_description: Take or release the cluster's upgrade lock, kept on the Core node
version_added: 1.1.0
description:
  - One upgrade run at a time per cluster. The lock is a file on the Core node naming its holder
    (O(holder) - controller host, user, ansible-playbook pid, start time).
  - Taking a free lock creates the file exclusively (two runs racing for it cannot both win). A lock this
    run holds already is kept. A lock held from the same controller by an ansible-playbook process that no
    longer runs there (not in O(live_pids)) is taken over, with a warning. A lock held from another
    controller is broken only with O(break_lock=true); otherwise the task fails naming the holder.
  - Releasing removes the file only when this run holds it; another holder's lock is left, with a warning.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato.ATTRIBUTES
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  path:
    description:
      - The lock file on the Core node.
    type: path
    default: ~/.stackato-cluster/upgrade.lock
  state:
    description:
      - V(present) takes the lock, V(absent) releases it, V(query) only reads it.
    type: str
    choices: [present, absent, query]
    default: present
  holder:
    description:
      - This run. Required with O(state=present) and O(state=absent).
      - The lookup P(stackato.cluster.controller_run#lookup) gives it.
    type: dict
    suboptions:
      controller:
        description: The controller's host name.
        type: str
        required: true
      user:
        description: The user running ansible-playbook.
        type: str
        required: true
      pid:
        description: The ansible-playbook process id on the controller.
        type: int
        required: true
      started:
        description: When the run started (UTC, ISO 8601).
        type: str
        required: true
  live_pids:
    description:
      - The ansible-playbook processes running on this controller now. A lock held from this controller by
        a pid not in this list is stale and taken over.
    type: list
    elements: int
    default: []
  break_lock:
    description:
      - Take a lock held from another controller (or one that does not parse). Only when that run is gone for good.
    type: bool
    default: false
seealso:
  - module: stackato.cluster.stackato_progress
"""

EXAMPLES = r"""
- name: Take the cluster lock
  stackato.cluster.stackato_lock:
    holder: "{{ run }}"
    live_pids: "{{ run.live_pids }}"
  vars:
    run: "{{ lookup('stackato.cluster.controller_run') }}"
  delegate_to: "{{ groups['core'][0] }}"
  run_once: true
"""

RETURN = r"""
action:
  description: What the task did (V(take), V(keep), V(take_over), V(break), V(release), V(none)).
  returned: success
  type: str
  sample: take_over
previous:
  description: The holder found in the lock file before the task (V(null) when the lock was free).
  returned: always
  type: dict
  sample: {"controller": "ops1", "user": "ops", "pid": 4242, "started": "2026-12-01T00:10:00Z"}
holder:
  description: The holder after the task (V(null) when the lock is free).
  returned: always
  type: dict
  sample: {"controller": "ops1", "user": "ops", "pid": 4343, "started": "2026-12-01T00:20:00Z"}
message:
  description: What happened, in words, naming the holders.
  returned: always
  type: str
  sample: "Took over the cluster lock of ops@ops1 (ansible-playbook pid 4242, since 2026-12-01T00:10:00Z): ..."
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils import _progress


def read_lock(path):
    """The holder: None when there is no lock, a dict, or the raw text when it does not parse."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return text
    return data if isinstance(data, dict) else text


def create_exclusive(path, holder):
    """Create the lock file only if there is none; False when another run created it first."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(holder, handle, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    return True


def replace(path, holder):
    fd, tmp = tempfile.mkstemp(prefix=".lock-", dir=os.path.dirname(path) or ".")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(holder, handle, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def shown(holder):
    return json.dumps(holder, sort_keys=True) + "\n" if holder is not None else ""


def run_module(module):
    params = module.params
    path, holder = params["path"], params["holder"]
    current = read_lock(path)
    previous = current if isinstance(current, dict) or current is None else {"unreadable": current[:200]}
    result = {"changed": False, "previous": previous, "holder": previous, "action": "none"}
    if params["state"] == "query":
        result["message"] = ("The cluster lock is free." if current is None
                             else f"The cluster lock is held by {_progress.holder_text(current)}.")
        return result
    if params["state"] == "absent":
        if current is not None and _progress.same_run(current, holder):
            if not module.check_mode:
                os.unlink(path)
            result.update(changed=True, holder=None, action="release", message="Released the cluster lock.")
        elif current is None:
            result["message"] = "The cluster lock is free already."
        else:
            result["message"] = f"The cluster lock is held by {_progress.holder_text(current)}, not by this run: left in place."
            module.warn(result["message"])
        return result
    action, message = _progress.lock_decision(current, holder, params["live_pids"], params["break_lock"])
    if action == "refuse":
        module.fail_json(msg=message, previous=previous, holder=previous, action=action)
    result.update(action=action, message=message, holder=holder, changed=action != "keep")
    if action in ("take_over", "break"):
        module.warn(message)
    if module.check_mode or action == "keep":
        return result
    if action == "take":
        if not create_exclusive(path, holder):
            winner = read_lock(path)
            module.fail_json(msg=f"Another upgrade run took the cluster lock first: {_progress.holder_text(winner)}. "
                                 f"Wait for it to end, then run again.", previous=winner, holder=winner, action="refuse")
    else:
        replace(path, holder)
    return result


def main():
    holder_spec = {
        "controller": {"type": "str", "required": True},
        "user": {"type": "str", "required": True},
        "pid": {"type": "int", "required": True},
        "started": {"type": "str", "required": True},
    }
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "~/.stackato-cluster/upgrade.lock"},
            "state": {"type": "str", "choices": ["present", "absent", "query"], "default": "present"},
            "holder": {"type": "dict", "options": holder_spec},
            "live_pids": {"type": "list", "elements": "int", "default": []},
            "break_lock": {"type": "bool", "default": False},
        },
        required_if=[("state", "present", ["holder"]), ("state", "absent", ["holder"])],
        supports_check_mode=True,
    )
    try:
        result = run_module(module)
    except OSError as exc:
        module.fail_json(msg=f"cannot use the cluster lock {module.params['path']}: {exc}")
    if module._diff:
        result["diff"] = {"before": shown(result["previous"]), "after": shown(result["holder"]),
                          "before_header": module.params["path"], "after_header": module.params["path"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
