#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: stackato_progress
short_description: Read and write a node's upgrade progress record, kept on the node
version_added: 1.1.0
description:
  - Keeps, on the node itself, which steps of its upgrade to O(target) are finished (V(retire), V(upgrade),
    V(ready), V(verify), V(restart)) and where the last run failed, so that a re-run after any failure
    (the controller killed included) resumes at the step that did not finish and repeats none that did.
  - A record of another target counts as empty, so an upgrade to a new version starts from the beginning.
  - The file is written atomically (a temporary file renamed over it, synced) with mode 0600.
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
    details:
      - A step marked done keeps its first time; recording the same failure again is no change.
options:
  path:
    description:
      - The record's file on the node. Keep it off C(/s), which an upgrade rewrites.
    type: path
    default: ~/.stackato-cluster/progress.json
  target:
    description:
      - The version the record is about.
    type: str
    required: true
  state:
    description:
      - V(query) reads the record; V(done) marks O(step) finished (with O(data)); V(failed) records that the
        run failed at O(step) (O(cause), O(resumable), O(msg)); V(absent) removes the record.
    type: str
    choices: [query, done, failed, absent]
    default: query
  step:
    description:
      - The step to mark. Required with O(state=done); with O(state=failed) it defaults to the first of O(steps) not finished.
    type: str
    choices: [retire, upgrade, ready, verify, restart]
  steps:
    description:
      - The steps this node goes through, in order (a node that is no DEA has no V(retire)); decides RV(next_step).
    type: list
    elements: str
    default: [retire, upgrade, ready, verify, restart]
  data:
    description:
      - What to keep with a step marked done, such as the app instances counted before a DEA retired.
    type: dict
    default: {}
  cause:
    description:
      - With O(state=failed), why (the C(cause) of M(stackato.cluster.kato_upgrade), or another word).
    type: str
  resumable:
    description:
      - With O(state=failed), whether a re-run can succeed without a fix first.
    type: bool
    default: false
  msg:
    description:
      - With O(state=failed), the failure's message (its last 500 characters are kept). Never pass secrets.
    type: str
    default: ''
notes:
  - Reads and writes only its own file.
seealso:
  - module: stackato.cluster.stackato_lock
"""

EXAMPLES = r"""
- name: Read where this node's upgrade stopped
  stackato.cluster.stackato_progress:
    target: 3.6.2
    steps: [upgrade, ready, verify, restart]
  register: progress

- name: Mark the upgrade step finished
  stackato.cluster.stackato_progress:
    target: 3.6.2
    step: upgrade
    state: done
"""

RETURN = r"""
record:
  description: The record after the task (predicted in check mode).
  returned: always
  type: dict
  sample: {"format": 1, "target": "3.6.2", "steps": {"retire": {"at": "2026-12-01T00:10:00Z"}}, "failed": null}
done:
  description: The steps finished, in order.
  returned: always
  type: list
  elements: str
  sample: [retire, upgrade]
next_step:
  description: The first of O(steps) not finished; V(null) when all are.
  returned: always
  type: str
  sample: ready
started:
  description: Whether any step of O(target) is finished (a run got that far before).
  returned: always
  type: bool
  sample: true
failed_step:
  description: Where the last run failed (V(step), V(cause), V(resumable), V(msg), V(at)), or V(null).
  returned: always
  type: dict
  sample: {"step": "upgrade", "cause": "component", "resumable": false, "msg": "...", "at": "2026-12-01T00:11:00Z"}
path:
  description: The record's file.
  returned: always
  type: str
  sample: /home/stackato/.stackato-cluster/progress.json
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils import _progress


utc_now = _progress.utc_now
read_raw = _progress.read_raw
write_atomic = _progress.write_atomic


def dumps(record):
    return json.dumps(record, indent=1, sort_keys=True) + "\n" if record is not None else ""


def run_module(module):
    params = module.params
    path = params["path"]
    raw = read_raw(path)
    record = _progress.normalise(raw, params["target"])
    state = params["state"]
    new = record
    if state == "done":
        new = _progress.mark_done(record, params["step"], utc_now(), params["data"])
        changed = new["steps"] != record["steps"] or new["failed"] != record["failed"] or raw != record
    elif state == "failed":
        step = params["step"] or _progress.next_step(record, params["steps"]) or params["steps"][-1]
        new = _progress.mark_failed(record, step, utc_now(), params["cause"], params["resumable"], params["msg"])
        changed = not _progress.same_failure(record["failed"], new["failed"]) or raw != record
        if not changed:
            new = record
    elif state == "absent":
        new = None
        changed = raw is not None
    else:
        changed = False
    if changed and not module.check_mode:
        if new is None:
            os.unlink(path)
        else:
            write_atomic(path, new)
    shown = new if new is not None else _progress.empty_record(params["target"])
    result = {
        "changed": changed,
        "path": path,
        "record": shown,
        "done": _progress.done_steps(shown),
        "next_step": _progress.next_step(shown, params["steps"]),
        "started": bool(shown["steps"]),
        "failed_step": shown["failed"],
    }
    if module._diff:
        result["diff"] = {"before": dumps(raw) if isinstance(raw, dict) else "",
                          "after": dumps(new), "before_header": path, "after_header": path}
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "~/.stackato-cluster/progress.json"},
            "target": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["query", "done", "failed", "absent"], "default": "query"},
            "step": {"type": "str", "choices": list(_progress.STEPS)},
            "steps": {"type": "list", "elements": "str", "default": list(_progress.STEPS)},
            "data": {"type": "dict", "default": {}},
            "cause": {"type": "str"},
            "resumable": {"type": "bool", "default": False},
            "msg": {"type": "str", "default": ""},
        },
        required_if=[("state", "done", ["step"])],
        supports_check_mode=True,
    )
    unknown = [s for s in module.params["steps"] if s not in _progress.STEPS]
    if unknown:
        module.fail_json(msg=f"steps: unknown step(s) {', '.join(unknown)}; each one of {', '.join(_progress.STEPS)}")
    try:
        result = run_module(module)
    except OSError as exc:
        module.fail_json(msg=f"cannot write the progress record {module.params['path']}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
