# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Options shared by every module that runs kato (KATO_COMMON_ARGS in module_utils/_kato.py).
    DOCUMENTATION = r"""
options:
  kato_path:
    description:
      - Path of the C(kato) executable on the node.
      - A missing or non-executable C(kato) fails the task with a message that names this path.
    type: path
    default: /home/stackato/bin/kato
notes:
  - Run on a Helion Stackato 3.x node as the C(stackato) user (C(ansible_user=stackato)), without C(become).
    C(kato) runs as the C(stackato) user, never as root, so the module fails before running anything when it
    runs as root. C(kato) asks for the C(stackato) password when it needs C(sudo), so unattended runs need
    passwordless C(sudo).
  - Output is read in the forms Stackato documents wherever they exist, tolerating extra lines, warnings and
    trailing whitespace; the module documentation says which outputs are undocumented and what happens when
    they are unavailable.
  - C(kato) runs with C(LANGUAGE=C) and C(LC_ALL=C) so that its output can be parsed.
  - Failures return C(cmd), C(rc), C(stdout) and C(stderr) of the command that failed,
    and a C(msg) that says what to do.
requirements:
  - HPE Helion Stackato 3.x (C(kato)) on the managed node.
"""

    # Descriptions of the attributes every module of this collection declares.
    ATTRIBUTES = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled or queried by the module has not changed in a relevant way.
"""

    # For modules that only read: full check mode, no diff, always idempotent.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
"""

    # Modules in the stackato.cluster.kato action group (meta/runtime.yml), for module_defaults.
    ACTIONGROUP_KATO = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/stackato.cluster.kato) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - stackato.cluster.kato
"""
