# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The `progress` option of a module that finishes a step of a node's upgrade
    # (PROGRESS_ARG_SPEC in module_utils/_progress.py).
    DOCUMENTATION = r"""
options:
  progress:
    description:
      - Once the module's action succeeded, mark O(progress.step) finished in the node's progress record, the same
        file M(stackato.cluster.stackato_progress) keeps, in the same call instead of a task of its own (one SSH round
        trip less inside the maintenance window). Nothing is recorded when the module fails, or in check mode.
      - Recording a step the record did not have yet counts as a change.
    type: dict
    suboptions:
      path:
        description: The record's file on the node.
        type: path
        default: ~/.stackato-cluster/progress.json
      target:
        description: The release the record is about (a record of another target counts as empty).
        type: str
        required: true
      step:
        description: The step to mark finished.
        type: str
        required: true
        choices: [retire, upgrade, ready, verify, restart]
      also:
        description:
          - Further steps the same call finished, marked finished after O(progress.step) in the same write; for
            example V(ready) when M(stackato.cluster.kato_upgrade) also waited until the node was ready (its
            O(stackato.cluster.kato_upgrade#module:ready_timeout)). A module marks only O(progress.step) when the
            part of its work that finishes them failed.
        type: list
        elements: str
        default: []
        choices: [retire, upgrade, ready, verify, restart]
"""
