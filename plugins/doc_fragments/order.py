# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The `order` option of a module with the collection's ordering action plugin
    # (plugins/plugin_utils/_ordered_action.py, ORDER_SPEC in plugins/plugin_utils/_order.py).
    DOCUMENTATION = r"""
options:
  order:
    description:
      - Run the nodes of one task in order instead of all at once, for one task that upgrades or restarts every node
        of a play where the waves would need a task each. Handled on the controller by the module's action plugin;
        the module on the node sees only O(order.gate).
      - The node's call first waits, blocking on the controller, until every node of O(order.after) is done, then
        lets the module change the node (see O(order.early)), then records how it ended in O(order.dir). When a
        node of O(order.after) failed or did not start, or any node of the task failed, the node is not started
        and the task reports it skipped with C(not_started=true).
      - Every node of the task must run it at the same time, so the play needs C(forks) (and the task's
        C(throttle)) at least the number of its nodes, and no C(async); a node that follows a node without the
        task would wait for ever (bound it with O(order.timeout)).
    type: dict
    suboptions:
      dir:
        description:
          - A directory of this run on the controller, the same for every node of the task (for example made by
            M(ansible.builtin.tempfile) before the task); created 0700 when missing, refused when it is open to
            other users.
        type: path
        required: true
      name:
        description: This node's name in O(order.after) of the others (its C(inventory_hostname)).
        type: str
        required: true
      after:
        description:
          - The nodes this one starts after (for example from P(stackato.cluster.upgrade_after#filter)); none
            starts it at once.
        type: list
        elements: str
        default: []
      run:
        description:
          - V(false) for a node with nothing to do - it still waits for O(order.after) and then counts as done at
            once, so that the nodes after it keep the order - and the module does not run.
        type: bool
        default: true
      timeout:
        description: Seconds to wait for O(order.after) at most, then the node is not started; V(0) waits as long as it takes.
        type: int
        default: 0
      early:
        description:
          - Start the module on the node while the node waits, so that its turn does not wait for the module's start
            and reads. The module takes its lock and does its reads, then waits on the node, right before its
            first change, for the controller's word; the safety checks that decide the change (a DEA's capacity)
            are made after the word. The word goes through a FIFO in C(~/.stackato-cluster/order) of the user
            the controller connects as, made and written without privilege escalation.
          - Only with the C(ssh), C(paramiko) and C(local) connections, not in check mode, and only for a node that
            has to wait; otherwise, and when the FIFO cannot be used, the module starts at the node's turn. A module
            waiting on a node gives up after 300 seconds without a change and is started again.
        type: bool
        default: true
      arm:
        description:
          - Start the module before the maintenance window, for a node that follows no node (O(order.after) empty),
            in a task with C(async) (the module's time limit) and C(poll=0). The module starts on the node as an
            async job with O(order.gate), takes its lock, does its reads and waits, right before its first change,
            for the controller's word. The task returns RV(armed) once the module waits there (it blocks on a second
            FIFO, C(<path>.done), until the module says so), so its start and reads are over before the task's next
            one; a module that fails before its gate (its lock held, a read failing) fails the task, with its result,
            before any change. The node's ordered task, given O(order.armed), says the word at the node's turn and
            blocks on the node until the module ends.
          - In check mode, with O(order.run=false) or O(order.early=false), or without a connection of O(order.early),
            nothing starts and RV(armed) is V(null) (the ordered task then starts the module itself).
        type: bool
        default: false
      armed:
        description:
          - RV(armed) of the O(order.arm) task, for the node's ordered task (the same O(order.dir) and O(order.name)). At
            the node's turn the module waiting on the node hears C(go) and the task blocks on the node until the module
            writes its result (C(<path>.result)) and a byte into a second FIFO (C(<path>.done)); the task reports that
            result as its own. A module that ended without a result (killed at its time limit) is read from its async job.
          - A module started with other arguments than this task's (O(order.armed.args) differs) is told C(stop) and
            the module starts anew at the node's turn, with a warning. When the node does not start (a node it follows
            failed, O(order.run=false)), the module is told C(stop) and ends without a change.
        type: dict
        suboptions:
          path:
            description: Where the module waits on the node (its FIFOs, without their suffixes).
            type: str
            required: true
          job:
            description: The module's async job id.
            type: str
            required: true
          limit:
            description: The module's time limit in seconds (the O(order.arm) task's C(async)).
            type: int
            required: true
          args:
            description: The digest of the module's arguments.
            type: str
            required: true
          said:
            description: The O(order.go) task said C(go) already (its RV(said)); the ordered task then does not say it again.
            type: bool
            default: false
      stop:
        description:
          - With O(order.armed) - every failure path between the O(order.arm) task and the node's ordered task - tell the
            module waiting on the node to stop, with this reason, and wait until it ended; nothing runs, and the order
            in O(order.dir) is not touched. RV(armed_result) is what the module returned. A module that hears nothing
            ends by itself without a change after 300 seconds, holding its lock until then.
        type: str
      go:
        description:
          - With O(order.armed) - the task right after the backup, before the upgrade's task - tell the module waiting
            on the node to begin now, and return at once (RV(said)); the node's ordered task (O(order.armed), with
            O(order.armed.said) from RV(said)) then finds it running, says nothing, and blocks until it ends. The order
            in O(order.dir) is not touched.
          - Only when the task's arguments are those the module was started with (O(order.armed.args)), not in check
            mode, and with a connection of O(order.early); otherwise nothing is said (RV(said) is V(null)) and the
            ordered task decides at the node's turn. A word that cannot be said is a warning, not a failure (the
            ordered task says it again).
        type: bool
        default: false
      begun:
        description:
          - With O(order.go), for the node the others are told after (playbooks/upgrade.yml tells one node first), block
            after the word until the module has begun changing its node (a DEA's retirement done, C(kato node upgrade)
            about to start) or has ended, at most 120 seconds; RV(begun) says which. The next task then tells the
            others, whose starts do not share the controller and the machine with this node's.
          - A module that failed first (nothing changed) is recorded in O(order.dir) as a failed node of the task;
            O(order.go) then tells no other node, and their ordered tasks stop them. Only kato_upgrade says when it has
            begun; another module counts as begun when it ends.
        type: bool
        default: false
      gate:
        description:
          - Set by the action plugin when it starts the module early (O(order.early), O(order.arm)); a task must not set it.
        type: dict
        suboptions:
          path:
            description: The FIFO (C(<path>.fifo)) and the controller's word (C(<path>.go)) on the node, without their suffixes.
            type: str
            required: true
          timeout:
            description: Seconds the module waits on the node for the controller's word at most.
            type: int
            required: true
          publish:
            description:
              - Write the module's result, as it ends, to C(<path>.result) and then a byte into C(<path>.done) (O(order.arm)),
                that is what it returned, without the values of its C(no_log) options, its warnings as text.
            type: bool
            default: false
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - The action plugin handles O(order) on the controller and runs the module on the node.
"""
