# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The option ``order`` of kato_upgrade and kato_role, once: the modules accept it and the action plugins
validate it (plugins/plugin_utils/_ordered_action.py). The action plugin takes it out of the module's arguments;
when it starts the module early (``early``) it passes it back with ``gate`` set (module_utils/_gate.py), which
is the action plugin's to set, never the task's. With ``arm`` (an async task) the module starts before the window
and waits at its gate; the node's ordered task takes it over (``armed``) or tells it to stop (``stop``); ``go``
(with ``armed``) tells it to begin before the ordered task does.

kato_upgrade's option ``restart`` (RESTART_OPTIONS), also the action plugin's: after the node's upgrade, the same
call restarts the node at its turn in the restart order, in the same barrier (kato_role's restart)."""

from __future__ import annotations

from ansible_collections.stackato.cluster.plugins.module_utils import _progress

ORDER_OPTIONS = dict(
    dir=dict(type="path", required=True),
    name=dict(type="str", required=True),
    after=dict(type="list", elements="str", default=[]),
    run=dict(type="bool", default=True),
    timeout=dict(type="int", default=0),
    early=dict(type="bool", default=True),
    # started before the window: arm (an async task) starts the module waiting at its gate and returns where it
    # waits (armed); the node's ordered task passes that back as armed and says the word; stop says stop instead
    arm=dict(type="bool", default=False),
    armed=dict(type="dict", options=dict(
        path=dict(type="str", required=True),
        job=dict(type="str", required=True),
        limit=dict(type="int", required=True),
        args=dict(type="str", required=True),
        # order.go said go already (its RV said): the ordered task says nothing again
        said=dict(type="bool", default=False),
    )),
    stop=dict(type="str"),
    # with armed: say go now (right after the backup), before the node's ordered task, which then waits for the end
    go=dict(type="bool", default=False),
    # with go: wait until the module has begun changing its node (or ended), and record <name>:begun in dir
    begun=dict(type="bool", default=False),
    gate=dict(type="dict", options=dict(
        path=dict(type="str", required=True),
        timeout=dict(type="int", required=True),
        publish=dict(type="bool", default=False),
    )),
)
ORDER_ARG_SPEC = dict(type="dict", options=ORDER_OPTIONS)

RESTART_OPTIONS = dict(
    name=dict(type="str", required=True),
    after=dict(type="list", elements="str", default=[]),
    run=dict(type="bool", default=True),
    early=dict(type="bool", default=True),
    early_after=dict(type="list", elements="str"),
    wait_timeout=dict(type="int", default=600),
    maintenance_off=dict(type="bool", default=False),
    progress=dict(type="dict", options=dict(
        # a path on the node: a str here (the action plugin's validation of a path would expand ~ on the controller);
        # kato_role expands it on the node
        path=dict(type="str", default=_progress.DEFAULT_PATH),
        target=dict(type="str", required=True),
    )),
)
RESTART_ARG_SPEC = dict(type="dict", options=RESTART_OPTIONS)
