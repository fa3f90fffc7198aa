#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kato_upgrade
short_description: Upgrade a Helion Stackato node or cluster with kato node upgrade
version_added: 1.0.0
description:
  - Runs C(kato node upgrade --skip-confirmation) when the node is older than the wanted version,
    retries network errors with C(--resume), and restores a C(kato) that went missing during an
    interrupted upgrade by replaying the last C(Running with command:) line of the Sentinel log.
  - After such a recovery it reads the node's version again and, while the node is still below the
    wanted version, goes on with the normal upgrade (kato is back). When O(version) is given, the task
    never succeeds with the node at another version; it fails saying where the node stopped.
  - A failure says what to do, by cause. Only a network error or an interrupted run (a node that went
    down, kato killed) says to re-run the task to resume; a version that is not available, content that
    O(offline) needs but that was not downloaded, missing disk space, sudo that asks for a password,
    DEAs without room, damaged downloads and a component that failed say what to fix first. The
    failure returns C(cause) and C(resumable).
  - Also prefetches upgrade content to a cache node (O(download_only)) and updates kato itself (O(update_kato)).
  - Run on the Core node without O(node), C(kato) upgrades the whole cluster one node at a time
    (primary last); anywhere else, or with O(node), one node.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.ACTIONGROUP_KATO
  - stackato.cluster.progress
  - stackato.cluster.order
attributes:
  check_mode:
    support: partial
    details:
      - Predicts from C(kato version) and O(version); the newest available version and whether content is
        cached come only from the optional hint of C(kato node upgrade --status --json).
      - Without a usable hint, O(version) omitted or O(download_only=true) predicts a change, with a warning.
      - With O(update_kato=true) it cannot know whether a newer kato exists and reports no change.
  diff_mode:
    support: full
  idempotent:
    support: partial
    details:
      - Not idempotent with O(force=true).
options:
  version:
    description:
      - The Stackato version to upgrade to, such as V(3.6.2). The newest available when omitted.
      - A node at this version is left alone (unless O(force=true)). A node at a newer version fails the
        task (Stackato does not downgrade), and so does a node that is not at this version after the upgrade.
    type: str
  update_kato:
    description:
      - Only update kato and the upgrade system itself (C(--update-kato)).
      - The task reports a change when the kato files changed.
    type: bool
    default: false
  download_only:
    description:
      - Only download the upgrade content into the cache node O(cache_ip) (C(--download-only)); upgrades nothing,
        so it is safe outside maintenance mode.
      - Skipped when the status already reports the content as cached.
    type: bool
    default: false
  cache_ip:
    description:
      - Address of the cache node to download from, or into with O(download_only) (C(--cache-ip)).
    type: str
  offline:
    description:
      - Use only content downloaded before (C(--offline)).
    type: bool
    default: false
  force:
    description:
      - Upgrade even when no newer version is available (C(--force)). Only when HPE support says so.
    type: bool
    default: false
  node:
    description:
      - Upgrade only this node (C(--node)); read its version with C(kato node version <node>).
    type: str
  resume:
    description:
      - When the status hint shows an interrupted upgrade (state V(failed), V(upgrading) or V(downloading)),
        continue it with C(--resume).
    type: bool
    default: true
  retries:
    description:
      - How many times to retry after a network error (the output mentions network, connection reset,
        timed out, could not resolve or resumed). Retries pass C(--resume). Other errors are not retried.
    type: int
    default: 3
  retry_delay:
    description:
      - Seconds to wait before the first retry; doubled before each further retry.
    type: int
    default: 10
  timeout:
    description:
      - Seconds the whole task may take, retries and waits included; kato is stopped after that.
    type: int
    default: 7200
  sentinel_log:
    description:
      - The Sentinel CLI log whose last C(Running with command:) line is replayed when kato is missing.
    type: path
    default: /s/logs/sentinel-cli.log
  sentinel_cli_dir:
    description:
      - The directory the Sentinel command is replayed from.
    type: path
    default: /s/code/sentinel/cli
  sentinel_config:
    description:
      - The Sentinel daemon configuration whose C(cache_dir) names the upgrade cache. With O(download_only=true)
        and no usable status hint, the task reports a change when the files under that directory changed
        (run it on the cache node).
    type: path
    default: /s/code/sentinel/daemon/config/config.yml
  kato_code_dirs:
    description:
      - Directories of kato's code. Their files (names, sizes, modification times) and the kato executable
        (content and modification time) are compared before and after O(update_kato=true) to tell whether
        kato changed. Directories that do not exist are ignored.
    type: list
    elements: path
    default: [/s/code/kato, /s/code/stackato-kato]
  ready_timeout:
    description:
      - After the upgrade (also when the node was at O(version) already), block until every process of the node is ready
        with C(kato process ready -b <ready_timeout> all) [doc] - in the same call, instead of a task of its own -
        and fail when they are not ready within that many seconds (V(0) waits forever).
      - The wait begins as soon as C(kato node upgrade) has returned, while the version reached is read (two reads at
        once, so one round of kato's start-up less between the node's upgrade and the next node's turn); when the version
        read fails the task, the wait is stopped.
      - With O(progress), the upgrade step is recorded before the wait, so that a wait that fails leaves the upgrade
        recorded and O(progress.also) (for example V(ready)) is recorded only once the node is ready.
      - Not set (the default), nothing waits. Only for an upgrade (not with O(update_kato) or O(download_only)), and
        not in check mode. Leave it out when roles of the node were stopped for the upgrade, as their processes are
        not ready until they are started (M(stackato.cluster.kato_role) starts them and waits).
    type: int
  retire:
    description:
      - Retire this DEA first, in the same call, right before C(kato node upgrade) runs (only when the upgrade runs),
        as M(stackato.cluster.kato_node_retire) does it - the same reads, the same capacity rule, the same
        C(kato node retire -n <node>) [doc] - and refuse, changing nothing, when an instance fits on no other DEA
        (C(cause=capacity)). Without it C(kato node upgrade) retires a DEA itself, unchecked.
      - With O(progress), the C(retire) step is recorded on the node (with the instances read before it) as soon as
        the DEA is retired, so that a failed upgrade resumes after it.
      - With O(retire.check_instances), after the upgrade (and the wait of O(ready_timeout)) every app must run as
        many instances as before the retirement (the rule of M(stackato.cluster.stackato_app_instances)); otherwise
        the task fails (C(cause=instances_short)) after recording the upgrade step (and C(ready)), and O(progress.also)
        is recorded only when the count passes.
      - With O(order.gate) (the node started early), the DEAs and their memory (C(kato node list), C(kato config get
        dea_ng resources/memory_mb --json), the cluster's configuration) are read while the module waits at its gate;
        which DEAs run C(dea_ng) and the instances (the state the capacity rule decides on) after the word, right
        before the retirement.
      - In check mode the placement is predicted (V(placed) in RV(retire)). Only for an upgrade.
    type: dict
    suboptions:
      node:
        description:
          - The address of this DEA as C(kato node list) shows it.
        type: str
        required: true
      dea_memory_mb:
        description:
          - As O(stackato.cluster.kato_node_retire#module:dea_memory_mb).
        type: dict
        default: {}
      wait_timeout:
        description:
          - Seconds C(kato node retire) may take.
        type: int
        default: 600
      check_instances:
        description:
          - Count the apps' instances after the upgrade against those read before the retirement.
        type: bool
        default: true
      api_url:
        description:
          - The Cloud Controller API endpoint, as O(stackato.cluster.kato_node_retire#module:api_url).
        type: str
        required: true
      api_username:
        description:
          - The admin user the token is requested for.
        type: str
        default: admin
      api_password:
        description:
          - That user's password.
        type: str
        required: true
      validate_certs:
        description:
          - Whether the API's TLS certificate is verified.
        type: bool
        default: true
      ca_path:
        description:
          - A CA bundle that verifies the API's certificate.
        type: path
      api_timeout:
        description:
          - Seconds one API request may take.
        type: float
        default: 30
  run_lock:
    description:
      - A file on the node that the task holds an exclusive lock on (C(flock)) while it runs (not in check mode),
        so that kato never runs twice at once on one node. A run whose controller was killed goes on on the node until
        kato ends; the next run waits for it (within O(timeout)), then reads the node afresh (and usually finds
        it at the target, with nothing left to do).
      - Empty for no lock.
    type: path
    default: ~/.stackato-cluster/kato-upgrade.lock
  restart:
    description:
      - With O(order) only, handled by the action plugin on the controller - the module never sees it. Once the node's
        upgrade is done (or had nothing to do), the same call restarts the node as M(stackato.cluster.kato_role) with
        O(stackato.cluster.kato_role#module:state=restarted) and O(stackato.cluster.kato_role#module:wait=true) does
        (C(kato restart), C(kato process ready -b) [doc]), at its turn in the restart order,
        so that a play needs no task of its own for the restarts.
      - The restart takes its turn in the same O(order.dir) under its own O(restart.name), after every node of
        O(restart.after) is done - name the core node's upgrade there (it follows every other node, so every upgrade
        is done then) and the restarts this one follows (for example from P(stackato.cluster.upgrade_after#filter)).
        It starts early on the node (O(restart.early)) as O(order.early) says, once every name of O(restart.early_after)
        (default O(restart.after)) has started, and waits there for its turn.
      - An upgrade that failed or did not start leaves the restart not started (C(not_started) in RV(restart)). A failed
        restart fails the task with RV(failed_step=restart); the upgrade's own results are returned as well.
    type: dict
    suboptions:
      name:
        description: The restart's name in O(order.dir), different from O(order.name) (for example C(<node>:restart)).
        type: str
        required: true
      after:
        description: The names in O(order.dir) - upgrades and restarts - that must be done before the restart.
        type: list
        elements: str
        default: []
      run:
        description: V(false) when the node has no restart left (an earlier run restarted it); it still keeps its turn.
        type: bool
        default: true
      early:
        description: As O(order.early), for the restart.
        type: bool
        default: true
      early_after:
        description:
          - The names of O(restart.after) whose start makes the restart next in line, so that its module starts early on
            the node (O(restart.early)); default every name of O(restart.after).
          - Name the upgrades (every node's - the core node's starts last) and not the restarts, so that every restart's
            module waits at its gate before the restarts begin instead of starting when the restart before it starts (a
            restart's turn is shorter than a module's start). The node_upgrade role passes every node of the play.
        type: list
        elements: str
      wait_timeout:
        description: As O(stackato.cluster.kato_role#module:wait_timeout).
        type: int
        default: 600
      maintenance_off:
        description:
          - For the node that restarts last (the core node, whose O(restart.after) names every other restart) - then turn
            maintenance mode off in the same call, right after its restart (C(kato config set cloud_controller_ng
            maintenance_mode false) [doc], as M(stackato.cluster.kato_config) does it), once every name of O(restart.after)
            is done and no node failed, so that the maintenance window ends with the last restart.
          - With O(restart.early), M(stackato.cluster.kato_config) starts on the node as the restart takes its place in
            line (O(stackato.cluster.kato_config#module:order)), reads maintenance mode and waits at its gate; the word
            after the restart is all the window's end then costs. Told to stop when the restart does not run or a node
            failed; run once more after the restart when it failed before its turn.
          - A failure to turn it off fails no step - RV(maintenance_off) says what happened, maintenance mode is still on,
            and the caller turns it off itself.
        type: bool
        default: false
      progress:
        description: The node's progress record where the C(restart) step is recorded, as in M(stackato.cluster.kato_role).
        type: dict
        suboptions:
          path:
            description: The record's path on the node.
            type: str
            default: ~/.stackato-cluster/progress.json
          target:
            description: The version being upgraded to.
            type: str
            required: true
notes:
  - "With O(retire): the reads of M(stackato.cluster.kato_node_retire) (C(kato node list) text, C(kato config get dea_ng
    resources/memory_mb --json), C(kato process list -c -j) [doc]; the Cloud Controller v2 API [doc: Cloud Foundry v2
    API]), C(kato node retire -n <node>) [doc], and the instances again after the upgrade."
  - "Reads: C(kato version) and C(kato node version <node>) [doc] (the version inside any text); the usage of
    C(kato node upgrade) [doc]; C(/s/logs/sentinel-cli.log) and C(/s/code/sentinel/cli) [doc] for the recovery;
    C(cache_dir) of the Sentinel daemon configuration [doc]. C(kato node upgrade --status --json) is [ours]
    (its form is not documented): only a hint, used when it parses, ignored when kato refuses it or prints
    another form."
  - Proxy settings come from the task's C(environment) (C(http_proxy), C(https_proxy)); kato downloads through them.
  - Put the cluster into maintenance mode before upgrading (M(stackato.cluster.kato_config)) and run
    C(kato restart) on every node afterwards (M(stackato.cluster.kato_role)).
seealso:
  - module: stackato.cluster.kato_info
  - module: stackato.cluster.kato_role
  - module: stackato.cluster.kato_node_retire
  - module: stackato.cluster.stackato_app_instances
"""

EXAMPLES = r"""
- name: Update kato itself first
  stackato.cluster.kato_upgrade:
    update_kato: true

- name: Prefetch the upgrade content into the Core node's cache
  stackato.cluster.kato_upgrade:
    version: "3.6.2"
    download_only: true
    cache_ip: "{{ stackato_core_ip }}"

- name: Upgrade this node from the cache, through a proxy
  stackato.cluster.kato_upgrade:
    version: "3.6.2"
    node: "{{ ansible_host }}"
    cache_ip: "{{ stackato_core_ip }}"
  environment:
    http_proxy: http://proxy.example.com:3128
    https_proxy: http://proxy.example.com:3128

- name: Retire this DEA, upgrade it, wait until it is ready and count the apps' instances, in one call
  stackato.cluster.kato_upgrade:
    version: "3.6.2"
    cache_ip: "{{ stackato_core_ip }}"
    ready_timeout: 600
    retire:
      node: "{{ stackato_node_ip }}"
      api_url: "{{ stackato_api_url }}"
      api_password: "{{ stackato_api_password }}"
    progress:
      target: "3.6.2"
      step: upgrade
      also: [ready, verify]

# Every node of the play in one task (forks >= nodes), in order, each restarted by the same call once the core
# node's upgrade is done and the restarts it follows are
- name: Upgrade every node in order, then restart it in order
  stackato.cluster.kato_upgrade:
    version: "3.6.2"
    cache_ip: "{{ stackato_core_ip }}"
    ready_timeout: 600
    order:
      dir: "{{ order_dir.path }}"
      name: "{{ inventory_hostname }}"
      after: "{{ (groups | stackato.cluster.upgrade_after(ansible_play_hosts))[inventory_hostname] | default([]) }}"
    restart:
      name: "{{ inventory_hostname }}:restart"
      after: >-
        {{ groups['core'] + ((groups | stackato.cluster.upgrade_after(ansible_play_hosts))[inventory_hostname]
                             | default([]) | map('regex_replace', '$', ':restart') | list) }}
      progress:
        target: "3.6.2"
"""

RETURN = r"""
order_after:
  description: The nodes this node's call waited for (O(order.after)); set by the action plugin.
  returned: when O(order) is set
  type: list
  elements: str
  sample: [dea1]
order_waited:
  description: Seconds the call waited on the controller for the nodes of RV(order_after).
  returned: when O(order) is set
  type: float
  sample: 41.07
order_early:
  description: Whether the module was started on the node before the node's turn (O(order.early)) and waited there.
  returned: when O(order) is set
  type: bool
  sample: true
armed:
  description:
    - Where the module started before the window waits on the node (O(order.arm)), to pass to the node's ordered task as
      O(order.armed); V(null) when nothing was started (then C(msg) says why).
  returned: when O(order.arm) is set
  type: dict
  sample: {"path": "/home/stackato/.stackato-cluster/order/3f2a9c", "job": "j108836577123", "limit": 7500, "args": "9b1d..."}
said:
  description: The word O(order.go) said to the module started before the window (V(go)), or V(null) when it said none.
  returned: when O(order.go) is set
  type: str
  sample: go
begun:
  description:
    - With O(order.begun), what the module told to begin did first, V(begun) (it has begun changing its node) or
      V(ended) (it ended before that; the node's ordered task reports how); V(null) when it did neither within 120
      seconds.
  returned: when O(order.begun) is set and the word was said
  type: str
  sample: begun
armed_result:
  description: What the module started before the window returned once told to stop (O(order.stop)).
  returned: when O(order.stop) is set
  type: dict
  sample: {"changed": false, "order_gate": "stop", "msg": "not started on the node: the backup failed"}
not_started:
  description: The node was not started because a node before it, or any node of the task, failed or did not start.
  returned: when O(order) is set and the node was not started
  type: bool
  sample: true
restart:
  description:
    - The restart's outcome, as M(stackato.cluster.kato_role) returns it (with RV(order_after), RV(order_waited),
      RV(order_early), and C(started_at) and C(ended_at), the restart's turn and end in seconds since the epoch on the
      controller), or C(not_started=true) with C(msg) when it did not start.
  returned: when O(restart) is set
  type: dict
  sample: {"changed": true, "acted_on": [dea_ng, router2g], "order_after": [core, "dea1:restart"], "order_early": true,
           "started_at": 1796095879.218, "ended_at": 1796095880.02}
upgrade_ended_at:
  description: When the node's upgrade phase ended, before its restart of O(restart), in seconds since the epoch on the controller.
  returned: when O(restart) is set
  type: float
  sample: 1796095871.5
maintenance_off:
  description:
    - What O(restart.maintenance_off) did, as M(stackato.cluster.kato_config) returns it (C(changed_at) the moment kato turned
      maintenance mode off), or C(skipped=true) with C(msg) when a node failed and maintenance mode was left on.
  returned: when O(restart.maintenance_off) is set and the node's restart is done
  type: dict
  sample: {"changed": true, "before": true, "after": false, "changed_at": 1796095880.4}
failed_step:
  description: V(restart) when the upgrade succeeded and the restart of O(restart) failed.
  returned: when the restart of O(restart) failed
  type: str
  sample: restart
progress:
  description:
    - What O(progress) recorded - V(path), V(step), V(changed) (the record did not have the step yet; predicted in check
      mode) and V(done) (the steps finished, in order) - or V(null) when O(progress) is not set.
  returned: success
  type: dict
  sample: {"path": "/home/stackato/.stackato-cluster/progress.json", "step": "ready", "changed": true, "done": [upgrade, ready]}
version_before:
  description: The Stackato version before the task; V(null) when kato was missing at the start.
  returned: success
  type: str
  sample: 3.4.2
version_after:
  description: The Stackato version after the task (predicted in check mode).
  returned: success
  type: str
  sample: 3.6.2
attempts:
  description: How many times C(kato node upgrade) ran (0 when nothing had to be done).
  returned: success
  type: int
  sample: 1
duration:
  description: Seconds the task took.
  returned: success
  type: float
  sample: 812.4
recovered:
  description: Whether kato was missing and was restored by replaying the last Sentinel command.
  returned: success
  type: bool
  sample: false
recoveries:
  description:
    - What the task recovered from without stopping, in order, one entry per recovery - a network error
      (C(cause=network), the C(attempt) that failed, the C(delay) in seconds before the retry with C(--resume),
      the C(reason) line) or kato gone missing (C(cause=kato_missing), the replayed C(command)); C(msg) says it in a line.
    - Empty when nothing had to be recovered.
  returned: success
  type: list
  elements: dict
  sample: [{"cause": "network", "attempt": 1, "delay": 10, "reason": "ERROR: download failed: connection reset by peer",
            "msg": "network error on attempt 1 (ERROR: download failed: connection reset by peer); resumed with --resume after 10 s"}]
waited:
  description: Seconds the task waited for another run on the node to release O(run_lock) (0 when it was free).
  returned: success
  type: float
  sample: 0.0
stdout_lines_tail:
  description: The last 20 lines of the last command's output.
  returned: success
  type: list
  elements: str
  sample: ["Upgrading component router2g", "Node 127.0.0.1 upgraded to 3.6.2"]
status:
  description:
    - The upgrade status hint after the task (C(kato node upgrade --status --json)), or before it in check mode.
    - Only the keys kato printed in the known form; V({}) when kato refused the option or printed another form.
    - V({}) too after kato ran to upgrade the node to O(version) (neither O(update_kato) nor O(download_only)), as the
      hint is not read again then; the version the node reached is RV(version_after), read with C(kato node version).
  returned: success
  type: dict
  sample: {"node": "127.42.0.11", "version": "3.6.2", "available": "3.6.2", "state": "done", "step": null, "cached": true}
cause:
  description:
    - Why the task failed, when C(kato node upgrade) failed or the node did not reach O(version)
      (V(network), V(interrupted), V(version_unavailable), V(offline_content_missing), V(disk_space), V(sudo),
      V(dea_capacity), V(validation), V(unknown_node), V(component), V(target_not_reached), V(busy) (another run
      still held O(run_lock) after O(timeout)), V(not_ready) (upgraded, but its processes were not ready within
      O(ready_timeout)), V(capacity) (O(retire) refused, an instance fits on no other DEA, nothing changed),
      V(retire_incomplete), V(instances_short) (upgraded, but apps run fewer instances than before the retirement),
      V(api) (the Cloud Controller API failed), V(invalid_input), V(unknown)).
  returned: failure
  type: str
  sample: component
ready:
  description:
    - Whether the task waited until every process of the node was ready (O(ready_timeout)), and they were.
  returned: success
  type: bool
  sample: true
ready_duration:
  description:
    - Seconds the wait took until the node was ready (V(0) when it did not wait), from its start right after
      C(kato node upgrade) returned; the version read runs during its first part, so RV(duration) counts that part once.
  returned: success
  type: float
  sample: 14.2
retire:
  description:
    - With O(retire), when the upgrade ran, what M(stackato.cluster.kato_node_retire) returns (RV(stackato.cluster.kato_node_retire#module:moved),
      RV(stackato.cluster.kato_node_retire#module:placed), RV(stackato.cluster.kato_node_retire#module:instances_before), and the others),
      with V(duration) (seconds, from the start of the task) and V(progress) (the C(retire) step recorded); V(null) otherwise.
    - On a refusal (C(cause=capacity)) it holds the placement that failed, and nothing was changed.
  returned: always
  type: dict
  sample: {"changed": true, "moved": [{"app": "web", "from": "127.42.0.13", "to": "127.42.0.14"}], "duration": 1.2}
short:
  description:
    - With O(retire.check_instances), one line per app that runs fewer instances after the upgrade than before the
      retirement (C(app - before -> now)); empty on success.
  returned: always
  type: list
  elements: str
  sample: []
resumable:
  description:
    - Whether re-running the task resumes the upgrade (V(true) only for V(network), V(interrupted), V(busy) and
      V(not_ready)).
  returned: failure
  type: bool
  sample: false
"""

import fcntl
import hashlib
import os
import re
import shlex
import threading
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils import _gate, _order_spec, _progress
from ansible_collections.stackato.cluster.plugins.module_utils._ccapi import (
    CC_API_ARGS,
    CloudControllerClient,
    CloudControllerError,
)
from ansible_collections.stackato.cluster.plugins.module_utils._retire import RetireError, dea_inventory, retire_dea
from ansible_collections.stackato.cluster.plugins.module_utils._rules import instance_shortfall
from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    StackatoVersion,
    block_on_lock,
    cmd_to_str,
    fail_from_error,
    parse_json_output,
    strip_noise,
)

INTERRUPTED_STATES = ("failed", "upgrading", "downloading")
STATUS_STATES = ("idle", "downloading", "downloaded", "upgrading", "failed", "done")
RUNNING_WITH = "Running with command:"
TAIL_LINES = 20
# A replay that restores kato but leaves the node short of the target is followed by a normal
# upgrade; kato going missing again and again is not chased forever.
MAX_RECOVERIES = 2
CACHE_DIR_RE = re.compile(r"""^cache_dir[ \t]*:[ \t]*(?P<value>[^#\n]*?)[ \t]*(?:#.*)?$""")

# Why kato node upgrade failed, read from its ERROR lines: (cause, pattern, whether a resume is
# what helps, what to do). First match wins: the specific causes come before "network" and
# "interrupted", whose words also appear in kato's generic wrap-up line of a cluster run
# ("upgrade of node <ip> failed (exit 1); fix the cause and resume with ...").
FAILURE_CAUSES = (
    ("version_unavailable",
     r"not available for upgrade|unknown (?:stackato )?version|not a version|no upgrade path|cannot downgrade",
     False,
     "Choose a version kato offers (the error lists them) or leave version out for the newest; in-place upgrades "
     "start at 3.4.1 and never downgrade. Nothing was interrupted: run this task again with that version"),
    ("offline_content_missing",
     r"\boffline\b|downloaded first|must be downloaded|--skip-download given|not in the local cache",
     False,
     "Download the upgrade content first: run this module with download_only=true and cache_ip set to the cache node "
     "(kato node upgrade --download-only --cache-ip <core node IP>), then run this task again"),
    ("disk_space",
     r"disk space|no space left",
     False,
     "Free disk space first (7 GB on every node, 10 GB on the cache node; stackato.cluster.sentinel_cache moves "
     "the cache to a larger disk), then run this task again"),
    ("sudo",
     r"sudo requires a password|password for (?:user )?stackato|no tty present|terminal is required",
     False,
     "Configure passwordless sudo for the stackato user first (the upgrade guide's /etc/sudoers.d/nopasswd), "
     "then run this task again"),
    ("dea_capacity",
     r"cannot retire|was not retired|cannot run its app instances|not enough memory|lack the memory",
     False,
     "Make room first: add a DEA node (or scale apps down) so that this DEA's app instances fit on the other DEAs, "
     "then run this task again"),
    ("validation",
     r"validation failed|sha256 mismatch|checksum|corrupt",
     False,
     "The upgrade content is damaged: download it again first (download_only=true with cache_ip, or a run "
     "without offline), then run this task again"),
    ("unknown_node",
     r"not part of this cluster|unknown node|no such node",
     False,
     "Set node to an address that kato node list shows, then run this task again"),
    ("component",
     r"component \S+ failed|failed to upgrade",
     False,
     "Fix what made the component fail first (its log under /s/logs and /s/logs/sentinel-cli.log), then run "
     "this task again"),
    ("network",
     r"network|connection (?:reset|refused|closed)|timed out|could not resolve|name resolution|not reachable|"
     r"unreachable|proxy|temporary failure",
     True,
     "The upgrade can be resumed: restore access to the upstream hosts (check http_proxy and https_proxy in the "
     "task environment, or prefetch with download_only and cache_ip), then re-run this task with resume=true "
     "(the default; it passes --resume)"),
    ("interrupted",
     r"went down|interrupted|killed|terminated|signal|\(exit (?:130|137|143)\)",
     True,
     "The upgrade was interrupted: once the node is up, re-run this task with resume=true (the default) to resume "
     "it (--resume)"),
)
UNKNOWN_CAUSE = ("unknown", None, False,
                 "Fix the cause shown first (details in /s/logs/sentinel-cli.log on the node), then run this task again")
_CAUSE_RES = [(cause, re.compile(pattern, re.IGNORECASE), resumable, advice)
              for cause, pattern, resumable, advice in FAILURE_CAUSES]


def classify_failure(stdout, stderr, rc=None):
    """Why kato node upgrade failed: {cause, resumable, advice, reason} from its output and exit code.

    Reads kato's ERROR lines when there are any (in cluster mode the output also carries earlier,
    recovered errors of other nodes), else the whole output. ``reason`` is the line that decided.
    """
    lines = [line.strip() for line in (stderr + "\n" + stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.upper().startswith(("ERROR", "FATAL"))]
    candidates = errors or lines
    for cause, regex, resumable, advice in _CAUSE_RES:
        for line in candidates:
            if regex.search(line):
                return {"cause": cause, "resumable": resumable, "advice": advice, "reason": line[-300:]}
    reason = (errors[0] if errors else (lines[-1] if lines else "no output"))[-300:]
    if rc is not None and (rc < 0 or rc in (130, 137, 143)):
        cause, dummy, resumable, advice = FAILURE_CAUSES[-1]
        return {"cause": cause, "resumable": resumable, "advice": advice, "reason": reason}
    cause, dummy, resumable, advice = UNKNOWN_CAUSE
    return {"cause": cause, "resumable": resumable, "advice": advice, "reason": reason}


def parse_status_hint(text):
    """The usable facts of ``kato node upgrade --status --json`` output ([ours]), {} when there are none.

    Only a hint: the JSON keys node, version, available, state, step, cached, or ``Key: value``
    lines with those keys; values that do not look right are dropped.
    """
    try:
        data = parse_json_output(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
        for line in strip_noise(text):
            key, sep, value = line.partition(":")
            if sep:
                data[key.strip().lower()] = value.strip()
    hint = {}
    state = data.get("state")
    if isinstance(state, str) and state.strip().lower() in STATUS_STATES:
        hint["state"] = state.strip().lower()
    for key in ("version", "available"):
        value = data.get(key)
        try:
            hint[key] = str(StackatoVersion(value))
        except ValueError:
            pass
    cached = data.get("cached")
    if isinstance(cached, bool):
        hint["cached"] = cached
    elif isinstance(cached, str) and cached.strip().lower() in ("yes", "true", "no", "false"):
        hint["cached"] = cached.strip().lower() in ("yes", "true")
    if not hint:
        return {}
    for key in ("node", "step"):
        value = data.get(key)
        if value is None or isinstance(value, str):
            hint[key] = None if value in (None, "", "-") else value
    return hint


def last_sentinel_command(log_path):
    """The command of the last 'Running with command:' line of the Sentinel log, None when there is none."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            lines = log.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if RUNNING_WITH in line:
            command = line.split(RUNNING_WITH, 1)[1].strip()
            if command:
                return command
    return None


def tree_fingerprint(files, dirs):
    """A digest of files (content and modification time) and directory trees (names, sizes, modification times)."""
    digest = hashlib.sha256()
    for path in files:
        real = os.path.realpath(path)
        if os.path.isfile(real):
            digest.update(f"{real}\0{os.stat(real).st_mtime_ns}\n".encode())
            with open(real, "rb") as handle:
                digest.update(handle.read())
    for tree in dirs:
        if not os.path.isdir(tree):
            continue
        digest.update(f"{tree}\n".encode())
        for root, subdirs, names in os.walk(tree):
            subdirs.sort()
            for name in sorted(names):
                path = os.path.join(root, name)
                try:
                    stat = os.lstat(path)
                except OSError:
                    continue
                digest.update(f"{os.path.relpath(path, tree)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def kato_fingerprint(kato_path, code_dirs):
    """A digest of the kato executable and kato's code trees, to tell whether a self-update changed kato."""
    return tree_fingerprint([kato_path], code_dirs)


def sentinel_cache_dir(config_path):
    """cache_dir of the Sentinel daemon configuration (the documented key), None when it cannot be read."""
    try:
        with open(config_path, encoding="utf-8", errors="replace") as config:
            for line in config:
                match = CACHE_DIR_RE.match(line.rstrip("\r\n"))
                if match:
                    return match.group("value").strip().strip("'\"") or None
    except OSError:
        return None
    return None


def newer(left, right):
    """Whether version left is newer than right (numerically)."""
    return StackatoVersion(left) > StackatoVersion(right)


class Upgrade:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.started = time.monotonic()
        self.attempts = 0
        self.recovered = False
        self.replayed = None
        self.recoveries = []
        self.tail = []

    def remaining(self):
        left = self.params["timeout"] - (time.monotonic() - self.started)
        if left <= 0:
            raise KatoError(f"the upgrade did not finish within timeout={self.params['timeout']} seconds; "
                            f"raise timeout, then re-run this task to resume")
        return left

    def node_args(self):
        return ["--node", self.params["node"]] if self.params["node"] else []

    def status(self):
        """kato node upgrade --status --json ([ours]) as an optional hint: {} when kato refuses or prints something else."""
        argv = self.client.argv(["node", "upgrade", "--status", "--json"] + self.node_args())
        try:
            rc, stdout, dummy = self.client.run_argv(argv, check_rc=False, timeout=min(self.remaining(), 300))
        except KatoError as exc:
            self.module.debug(f"no upgrade status hint: {exc.msg}")
            return {}
        hint = parse_status_hint(stdout) if rc == 0 else {}
        if not hint:
            self.module.debug(f"no upgrade status hint: {cmd_to_str(argv)} exited {rc} without a usable status")
        return hint

    def upgrade_args(self, resume):
        params = self.params
        args = ["node", "upgrade"]
        args += ["--update-kato"] if params["update_kato"] else []
        args += ["--download-only"] if params["download_only"] else []
        args += ["--cache-ip", params["cache_ip"]] if params["cache_ip"] else []
        args += ["--offline"] if params["offline"] else []
        args += ["--force"] if params["force"] else []
        args += self.node_args()
        args += ["--version", params["version"]] if params["version"] else []
        args += ["--resume"] if resume else []
        return args + ["--skip-confirmation"]

    def recover(self):
        """Restore kato by replaying the last Sentinel command, as the upgrade guide's 'Missing kato Utility' says."""
        log, cli_dir = self.params["sentinel_log"], self.params["sentinel_cli_dir"]
        command = last_sentinel_command(log)
        if command is None:
            raise KatoError(
                f"kato is missing at {self.client.kato_path} and {log} has no '{RUNNING_WITH}' line to replay; "
                f"restore kato by hand (reinstall the stackato-kato package) or set kato_path if kato lives elsewhere",
                cmd=self.client.kato_path,
            )
        argv = shlex.split(command)
        if os.path.basename(argv[0]) != "sentinel":
            raise KatoError(f"kato is missing at {self.client.kato_path}, but the last '{RUNNING_WITH}' line of {log} "
                            f"is not a Sentinel command ({command}); restore kato by hand", cmd=command)
        if not os.path.isabs(argv[0]):
            argv[0] = os.path.join(cli_dir, argv[0])
        try:
            dummy, stdout, dummy2 = self.client.run_argv(
                argv, cwd=cli_dir, timeout=self.remaining(), what=f"replaying the last Sentinel command from {cli_dir}")
        except KatoError as exc:
            exc.msg = (f"kato is missing at {self.client.kato_path} and {exc.msg}; fix the cause shown, then re-run "
                       f"this task (it replays the command again)")
            raise
        self.tail = stdout.splitlines()[-TAIL_LINES:]
        if not self.client.exists():
            raise KatoError(f"replayed '{command}' from {cli_dir}, but kato is still missing at {self.client.kato_path}; "
                            f"restore kato by hand (reinstall the stackato-kato package)", cmd=cmd_to_str(argv),
                            rc=0, stdout=stdout)
        self.recovered = True
        self.replayed = command
        self.recoveries.append({"cause": "kato_missing", "command": command,
                                "msg": f"kato went missing; restored by replaying '{command}' from {cli_dir}"})

    def run(self, resume_first):
        """Run kato node upgrade, retrying network errors. Returns True when kato went missing and was restored."""
        delay = self.params["retry_delay"]
        for attempt in range(1, self.params["retries"] + 2):
            self.attempts += 1
            argv = self.client.argv(self.upgrade_args(resume_first or attempt > 1))
            try:
                rc, stdout, stderr = self.client.run_argv(argv, check_rc=False, timeout=self.remaining())
            except KatoError as exc:
                if exc.extra.get("timed_out"):
                    exc.msg += ("; the upgrade may still be running: check kato node upgrade --status, and once it has "
                                "stopped re-run this task to resume it")
                raise
            self.tail = stdout.splitlines()[-TAIL_LINES:]
            if rc == 0:
                return False
            if not self.client.exists():
                self.recover()
                return True
            failure = classify_failure(stdout, stderr, rc)
            if failure["cause"] == "network" and attempt <= self.params["retries"]:
                self.module.log(f"kato node upgrade: network error, retrying with --resume in {delay}s: "
                                f"{failure['reason']}")
                wait = min(delay, self.remaining())
                self.recoveries.append({"cause": "network", "attempt": attempt, "delay": round(wait, 3),
                                        "reason": failure["reason"],
                                        "msg": f"network error on attempt {attempt} ({failure['reason']}); "
                                               f"resumed with --resume after {wait:g} s"})
                time.sleep(wait)
                delay *= 2
                continue
            if failure["cause"] == "network":
                msg = f"kato node upgrade failed with a network error after {attempt} attempt(s): {failure['reason']}."
            else:
                msg = f"kato node upgrade failed (rc={rc}): {failure['reason']}."
            raise KatoError(f"{msg} {failure['advice']}", cmd=cmd_to_str(argv), rc=rc, stdout=stdout, stderr=stderr,
                            attempts=self.attempts, cause=failure["cause"], resumable=failure["resumable"])
        return False  # not reached: the last attempt returns or raises


def hold_run_lock(module, path, upgrade):
    """Hold the node's run lock (an exclusive flock on ``path``; closing the descriptor, or the end of this
    process, releases it) before anything is read or run: an earlier run on this node whose controller was
    killed still holds it while its kato runs. Waits for it within the task's timeout.
    Returns (descriptor, seconds waited)."""
    try:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise KatoError(f"cannot open the run lock {path}: {exc}; set run_lock to a file this user may write") from None
    started = time.monotonic()
    remaining = module.params["timeout"] - (started - upgrade.started)
    waited = 0
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        # Held: block on it (no polling) until it is released or the task's timeout is up.
        if not block_on_lock(fd, remaining):
            os.close(fd)
            raise KatoError(f"another upgrade run on this node still holds {path} after timeout="
                            f"{module.params['timeout']} seconds (a run whose controller was lost may still be "
                            f"running kato node upgrade there: see kato node upgrade --status); re-run this task "
                            f"once it has ended", cause="busy", resumable=True) from None
        waited = round(time.monotonic() - started, 3)
        module.warn(f"waited {waited:g} s for another upgrade run on this node (an earlier run whose controller "
                    f"was lost) to end; the node was read afresh after it")
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd, waited


def mode_of(params):
    return "update_kato" if params["update_kato"] else "download_only" if params["download_only"] else "upgrade"


def refuse_newer(version_before, wanted):
    raise KatoError(f"the node is at {version_before}, newer than version={wanted}; Stackato does not downgrade: "
                    f"set version to {version_before} (or leave it out)", version_before=version_before,
                    version_after=version_before)


def plan(module, version_before, status):
    """(run, resume_first, predicted version): whether kato must run, and what it should leave."""
    params = module.params
    interrupted = status.get("state") in INTERRUPTED_STATES
    resume_first = params["resume"] and interrupted
    mode = mode_of(params)
    if mode == "update_kato":
        return True, resume_first, version_before
    if mode == "download_only":
        if "cached" not in status:
            return True, False, version_before   # no hint: kato skips what its cache already has
        cached = status["cached"] and (not params["version"] or status.get("available") == params["version"])
        return params["force"] or not cached, False, version_before
    target = params["version"] or status.get("available")
    if params["version"] and version_before and newer(version_before, params["version"]) and not params["force"]:
        refuse_newer(version_before, params["version"])
    if params["force"] or not target or not version_before or interrupted:
        return True, resume_first, target
    needed = newer(target, version_before)
    return needed, resume_first, target if needed else version_before


def check_mode_result(module, result, status):
    """Predict without running kato node upgrade."""
    params = module.params
    needed, dummy, predicted = plan(module, result["version_before"], status)
    mode = mode_of(params)
    if mode == "update_kato":
        module.warn("check mode cannot tell whether a newer kato is available; reporting no change")
        changed = False
    elif mode == "download_only":
        if "cached" not in status:
            module.warn("check mode cannot tell whether the upgrade content is already cached: kato node upgrade "
                        "--status --json gave no usable status; predicting a download")
        changed = needed
    elif predicted is None:
        module.warn("check mode cannot tell the newest version: kato node upgrade --status --json gave no usable "
                    "status; give version for a prediction; predicting an upgrade")
        changed = True
    else:
        changed = needed and (predicted != result["version_before"] or params["force"])
    result.update(changed=changed, version_after=predicted, status=status)


def upgrade_to_target(module, client, upgrade, result, status, before_run=None, ready=None):
    """Run the upgrade; after a recovery of kato, go on to the target (kato is back). Returns the status after.

    ``before_run`` (the node's turn, O(order.gate); then the DEA's retirement, option retire) runs once, right
    before kato's first run, only when it runs. ``ready`` (a ReadyWait, O(ready_timeout)) begins as soon as kato's
    last run returned without a recovery, so that it runs while the version reached is read.
    Fails when a version was asked for and the node is not at it in the end.
    """
    params = module.params
    wanted = params["version"] or status.get("available")
    if upgrade.recovered:   # kato was missing at the start and the replay restored it
        current = client.version(params["node"])
        needed = not wanted or StackatoVersion(current) < StackatoVersion(wanted)
        resume_first = params["resume"] and status.get("state") in INTERRUPTED_STATES
    else:
        current = result["version_before"]
        needed, resume_first, dummy = plan(module, current, status)
    stale = False   # whether kato ran since status was read
    recoveries = 0
    while needed:
        if before_run is not None:
            before_run()
            before_run = None
        came_back = upgrade.run(resume_first)
        if not came_back and ready is not None:
            ready.start()
        current = client.version(params["node"])
        stale = True
        if not came_back:
            break
        recoveries += 1
        if recoveries > MAX_RECOVERIES:
            break
        if params["version"] and StackatoVersion(current) >= StackatoVersion(params["version"]):
            break
        status, stale = upgrade.status(), False
        wanted = params["version"] or status.get("available")
        if wanted and StackatoVersion(current) >= StackatoVersion(wanted):
            break
        module.log(f"kato was restored by replaying '{upgrade.replayed}' but the node is at {current}; "
                   f"going on with the upgrade to {wanted or 'the newest version'}")
        resume_first = params["resume"] and status.get("state") in INTERRUPTED_STATES
    result["version_after"] = current
    if params["version"] and StackatoVersion(current) != StackatoVersion(params["version"]):
        how = (f" (kato went missing and was restored by replaying '{upgrade.replayed}')" if upgrade.recovered else "")
        raise KatoError(
            f"the upgrade did not reach version={params['version']}: the node is at {current} after "
            f"{upgrade.attempts} run(s) of kato node upgrade{how}. Find out why it stopped in /s/logs/sentinel-cli.log "
            f"(and kato node upgrade --status), fix that, then run this task again",
            changed=upgrade.recovered or result["version_before"] != current, version_before=result["version_before"],
            version_after=current, recovered=upgrade.recovered, attempts=upgrade.attempts, stdout_lines_tail=upgrade.tail,
            cause="target_not_reached", resumable=False)
    if stale and params["version"]:
        return {}   # the version reached is version_after (kato node version): the hint is not read again
    return upgrade.status() if stale else status


def run_module(module, client, api=None, gate=None, ready=None):
    params = module.params
    gate = gate or _gate.Gate({})
    if not params["run_lock"] or module.check_mode:
        return run_locked(module, client, Upgrade(module, client), 0.0, api, gate, ready)
    upgrade = Upgrade(module, client)
    fd, waited = hold_run_lock(module, params["run_lock"], upgrade)
    try:
        return run_locked(module, client, upgrade, waited, api, gate, ready)
    finally:
        os.close(fd)


def _retire_failure(exc, options, result):
    """The KatoError that fails the task when the retirement (or its reads) failed: nothing was upgraded."""
    if isinstance(exc, RetireError):
        partial = {key: value for key, value in exc.extra.items() if key not in ("cause", "resumable")}
        return KatoError(exc.msg, cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr,
                         cause=exc.extra.get("cause", "unknown"), resumable=exc.extra.get("resumable", False),
                         retire=partial or None, version_before=result["version_before"])
    if isinstance(exc, KatoError):   # kato node retire (or a read) failed: instances may have moved
        exc.msg = f"retiring {options['node']} failed, so nothing was upgraded: {exc.msg}"
        exc.extra.update(cause="retire_incomplete", resumable=False, version_before=result["version_before"])
        return exc
    return KatoError(f"could not retire {options['node']}: {exc.msg}; nothing was upgraded. Check the Cloud "
                     f"Controller API (retire.api_url), then re-run", cause="api", resumable=False,
                     version_before=result["version_before"], url=exc.url, status=exc.status)


def retire_inventory(module, client, result):
    """O(retire): the cluster's DEAs and their memory (configuration, not state), read before the node's turn."""
    options = module.params["retire"]
    try:
        return dea_inventory(client, options["node"], options["dea_memory_mb"], option="retire.dea_memory_mb")
    except KatoError as exc:   # RetireError too
        raise _retire_failure(exc, options, result) from None


def retire_first(module, client, api, upgrade, result, inventory=None):
    """O(retire): the DEA's retirement under the capacity rule (predicted in check mode), its step recorded at once.

    ``inventory``: retire_inventory's, read before the node's turn. A refusal or a failure raises KatoError with the
    cause and the retirement's partial result (RV(retire))."""
    options = module.params["retire"]
    try:
        retired = retire_dea(module, client, api, options["node"], options["dea_memory_mb"], options["wait_timeout"],
                             option="retire.dea_memory_mb", inventory=inventory)
    except (KatoError, CloudControllerError) as exc:   # RetireError too
        raise _retire_failure(exc, options, result) from None
    retired["duration"] = round(time.monotonic() - upgrade.started, 3)
    retired["progress"] = None
    progress = module.params["progress"]
    if progress:
        try:
            retired["progress"] = _progress.record_option(dict(progress, step="retire"), module.check_mode,
                                                          data={"instances": retired["instances_before"]}, also=[])
        except OSError as exc:
            raise KatoError(f"{options['node']} is retired, but the progress record {progress['path']} cannot be "
                            f"written: {exc}; nothing was upgraded", cause="unknown", resumable=False,
                            retire=retired, version_before=result["version_before"]) from None
    result["retire"] = retired


def run_locked(module, client, upgrade, waited, api=None, gate=None, ready=None):
    """The task, with the node's run lock held (not in check mode). ``gate`` (O(order.gate)): the node's turn,
    waited for right before the first change (kato's recovery, the retirement, kato's first run)."""
    params = module.params
    mode = mode_of(params)
    gate = gate or _gate.Gate({})
    result = {"changed": False, "recovered": False, "attempts": 0, "version_before": None, "waited": waited,
              "retire": None, "short": []}

    def before_run():
        # gate.begun: the node has begun changing (its retirement done, kato's first run next), for a controller that
        # tells the other nodes to begin after it (order.begun): their starts then do not share the machine with this
        # node's retirement and kato's start
        if not (params["retire"] and mode == "upgrade"):
            gate.open()
            gate.begun()
            return
        # the DEAs and their memory are configuration: read before the node's turn, which then reads only the
        # instances and which DEAs run (the capacity rule's state) right before the retirement
        inventory = retire_inventory(module, client, result)
        gate.open()
        retire_first(module, client, api, upgrade, result, inventory)
        gate.begun()
    missing = not client.exists()
    if missing:
        if module.check_mode:
            command = last_sentinel_command(params["sentinel_log"])
            if command is None:
                client.require()
            module.warn(f"kato is missing at {client.kato_path}; a real run replays '{command}' to restore it")
            result.update(changed=True, version_after=None, status={}, duration=0.0, stdout_lines_tail=[])
            return result
        gate.open()
        gate.begun()
        upgrade.recover()
    else:
        result["version_before"] = client.version(params["node"])

    status = upgrade.status()
    if module.check_mode:
        check_mode_result(module, result, status)
        if params["retire"] and mode == "upgrade" and result["changed"]:
            before_run()
    elif mode == "upgrade":
        status = upgrade_to_target(module, client, upgrade, result, status, before_run, ready)
        result["changed"] = (upgrade.recovered or result["version_before"] != result["version_after"]
                             or bool(result["retire"] and result["retire"]["changed"]))
    else:
        fingerprint = kato_fingerprint(client.kato_path, params["kato_code_dirs"]) if mode == "update_kato" else None
        cache_dir = sentinel_cache_dir(params["sentinel_config"]) if mode == "download_only" else None
        cache_before = tree_fingerprint([], [cache_dir]) if cache_dir and os.path.isdir(cache_dir) else None
        needed = not missing and plan(module, result["version_before"], status)[0]
        if needed:
            gate.open()
            upgrade.run(params["resume"] and status.get("state") in INTERRUPTED_STATES)
        result["version_after"] = client.version(params["node"]) if needed or missing else result["version_before"]
        after = upgrade.status() if needed else status
        if missing:
            result["changed"] = True   # kato was restored
        elif mode == "update_kato":
            result["changed"] = kato_fingerprint(client.kato_path, params["kato_code_dirs"]) != fingerprint
        elif "cached" in status and "cached" in after:
            result["changed"] = (status.get("cached"), status.get("available")) != \
                (after.get("cached"), after.get("available"))
        elif cache_before is not None:
            result["changed"] = tree_fingerprint([], [cache_dir]) != cache_before
        else:
            result["changed"] = needed
            if needed:
                where = cache_dir or f"cache_dir of {params['sentinel_config']}"
                module.warn(f"cannot tell whether the download added content: kato node upgrade --status --json gave "
                            f"no usable status and the Sentinel cache directory ({where}) is not on this node; "
                            f"run download_only on the cache node to know")
        status = after

    result.update(
        status=status,
        attempts=upgrade.attempts,
        recovered=upgrade.recovered,
        recoveries=upgrade.recoveries,
        duration=round(time.monotonic() - upgrade.started, 3),
        stdout_lines_tail=upgrade.tail,
        diff={"before": f"version: {result['version_before']}\n", "after": f"version: {result['version_after']}\n"},
    )
    return result


def main():
    argument_spec = dict(
        KATO_COMMON_ARGS,
        version={"type": "str"},
        update_kato={"type": "bool", "default": False},
        download_only={"type": "bool", "default": False},
        cache_ip={"type": "str"},
        offline={"type": "bool", "default": False},
        force={"type": "bool", "default": False},
        node={"type": "str"},
        resume={"type": "bool", "default": True},
        retries={"type": "int", "default": 3},
        retry_delay={"type": "int", "default": 10},
        timeout={"type": "int", "default": 7200},
        sentinel_log={"type": "path", "default": "/s/logs/sentinel-cli.log"},
        sentinel_cli_dir={"type": "path", "default": "/s/code/sentinel/cli"},
        sentinel_config={"type": "path", "default": "/s/code/sentinel/daemon/config/config.yml"},
        kato_code_dirs={"type": "list", "elements": "path", "default": ["/s/code/kato", "/s/code/stackato-kato"]},
        run_lock={"type": "path", "default": "~/.stackato-cluster/kato-upgrade.lock"},
        ready_timeout={"type": "int"},
        retire={"type": "dict", "options": dict(
            CC_API_ARGS,
            node={"type": "str", "required": True},
            dea_memory_mb={"type": "dict", "default": {}},
            wait_timeout={"type": "int", "default": 600},
            check_instances={"type": "bool", "default": True},
        )},
        progress=_progress.PROGRESS_ARG_SPEC,
        # handled by the action plugin on the controller (plugins/plugin_utils/_order.py ORDER_SPEC); never reaches the module
        order=_order_spec.ORDER_ARG_SPEC,
        # handled by the action plugin too (plugins/plugin_utils/_ordered_action.py): the restart after the upgrade
        restart=_order_spec.RESTART_ARG_SPEC,
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("download_only", True, ["cache_ip"])],
        mutually_exclusive=[("update_kato", "download_only"), ("download_only", "offline")],
        supports_check_mode=True,
    )
    # started before the window (order.arm): its end published for the controller's wait
    _gate.publish_on_exit(module)
    for name, minimum in (("retries", 0), ("retry_delay", 0), ("timeout", 1), ("ready_timeout", 0)):
        if module.params[name] is not None and module.params[name] < minimum:
            module.fail_json(msg=f"{name}={module.params[name]} is invalid: it must be at least {minimum}")
    if module.params["version"]:
        try:
            StackatoVersion(module.params["version"])
        except ValueError as exc:
            module.fail_json(msg=f"version: {exc}")
    retire = module.params["retire"]
    api = None
    if retire:
        if mode_of(module.params) != "upgrade":
            module.fail_json(msg="retire is only for an upgrade: leave it out with update_kato or download_only")
        if retire["wait_timeout"] < 1:
            module.fail_json(msg=f"retire.wait_timeout={retire['wait_timeout']} is invalid: give seconds, at least 1")
        api = CloudControllerClient(module, retire["api_url"], retire["api_username"], retire["api_password"],
                                    validate_certs=retire["validate_certs"], ca_path=retire["ca_path"],
                                    timeout=retire["api_timeout"])
    client = KatoClient(module, require=False)
    gate = _gate.Gate(module.params)
    ready = (ReadyWait(client, module.params["ready_timeout"])
             if module.params["ready_timeout"] is not None and mode_of(module.params) == "upgrade"
             and not module.check_mode else None)
    result = None
    try:
        result = run_module(module, client, api, gate, ready)
    except _gate.NotStarted as exc:
        _gate.exit_not_started(module, exc)
    except KatoError as exc:
        fail_from_error(module, exc)
    finally:
        gate.discard()
        if result is None and ready is not None:
            # the task fails (or ends) before its wait: the wait begun after kato's run is stopped
            ready.stop()
    wait_ready(module, result, ready)
    check_instances(module, api, result)
    _progress.exit_recording(module, result, "the upgrade finished")


def check_instances(module, api, result):
    """O(retire.check_instances): the apps run as many instances as before the retirement (instance_shortfall), else
    the upgrade (and ready) step is recorded without O(progress.also)'s verify and the task fails."""
    params = module.params
    retired = result.get("retire")
    if not (params["retire"] and params["retire"]["check_instances"]) or not retired or module.check_mode:
        return
    before = retired.get("instances_before") or []
    if not before:
        return
    try:
        now = api.instances()
    except CloudControllerError as exc:
        record_partial(module, result)
        fail_from_error(module, KatoError(
            f"upgraded to {result['version_after']}, but the apps' instances could not be counted: {exc.msg}; "
            f"check the Cloud Controller API, then re-run (the run resumes at the count)", cause="api", resumable=True,
            url=exc.url, status=exc.status), **{key: value for key, value in result.items() if key not in ("msg", "diff")})
    for warning in api.warnings:
        module.warn(warning)
    result["short"] = instance_shortfall(before, now)
    if result["short"]:
        record_partial(module, result)
        fail_from_error(module, KatoError(
            f"upgraded to {result['version_after']}, but these apps run fewer instances than before the retirement "
            f"(app: before -> now): {', '.join(result['short'])}; check them with `stackato apps` and the DEAs' logs "
            f"before re-running (the upgrade step is done; the run resumes at the count)", cause="instances_short",
            resumable=False), **{key: value for key, value in result.items() if key not in ("msg", "diff")})


def record_partial(module, result):
    """Before a failure after the upgrade (the wait, the count): record the upgrade step, and C(ready) of
    O(progress.also) when the node was ready; nothing else of O(progress.also), never C(verify)."""
    progress = module.params["progress"]
    if not progress:
        result["progress"] = None
        return
    also = [step for step in progress["also"] if step == "ready" and result.get("ready")]
    try:
        result["progress"] = _progress.record_option(progress, also=also)
    except OSError as exc:
        module.warn(f"the upgrade step could not be recorded in {progress['path']}: {exc}")


class ReadyWait:
    """O(ready_timeout)'s wait, C(kato process ready -b <s> all) [doc], begun in a thread as soon as C(kato node upgrade)
    has returned (``start``), so that it runs while the version reached is read; ``stop`` ends it when the task fails
    before it (the command is killed); ``result`` blocks until it ends: None when ready, else the KatoError."""

    def __init__(self, client, timeout):
        self._client, self._timeout = client, timeout
        self._lock = threading.Lock()
        self._process = None
        self._stopped = False
        self._thread = None
        self._error = None
        self.started = None

    def start(self):
        if self._thread is None:
            self.started = time.monotonic()
            self._thread = threading.Thread(target=self._wait, name="kato-process-ready", daemon=True)
            self._thread.start()

    def _keep(self, process):
        with self._lock:
            self._process = process
            stopped = self._stopped
        if stopped:
            process.kill()

    def _wait(self):
        try:
            self._client.run("process", "ready", "-b", self._timeout, "all", what="kato process ready",
                             on_start=self._keep)
        except KatoError as exc:
            self._error = exc

    def stop(self):
        with self._lock:
            self._stopped = True
            process = self._process
        if process is not None and process.poll() is None:
            try:
                process.kill()
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(10)

    def result(self):
        self._thread.join()
        return self._error


def wait_ready(module, result, ready):
    """O(ready_timeout): block until the node's processes are ready (the upgrade is done and not undone by a failed
    wait: it is recorded first, and the failure says so and is resumable). ``ready``: the wait (ReadyWait), begun
    already when kato node upgrade ran, else begun now; None when the task does not wait."""
    params = module.params
    result["ready"], result["ready_duration"] = False, 0.0
    if ready is None:
        return
    called = time.monotonic()
    ready.start()
    started = ready.started
    exc = ready.result()
    ended = time.monotonic()
    if exc is not None:
        record_partial(module, result)
        exc.msg = (f"upgraded to {result['version_after']}, but the node's processes were not ready within "
                   f"ready_timeout={params['ready_timeout']} seconds: {' '.join((exc.stdout or exc.stderr).split())}; "
                   f"check them with kato process list and the logs in /s/logs, then re-run (the upgrade step is "
                   f"done; the run resumes at the wait)")
        exc.extra.update(cause="not_ready", resumable=True)
        fail_from_error(module, exc, **{key: value for key, value in result.items() if key not in ("msg", "diff")})
    result["ready"] = True
    result["ready_duration"] = round(ended - started, 3)
    # duration ran until the version read ended: only the part of the wait after it is added (the wait began before)
    result["duration"] = round(result["duration"] + ended - max(started, called), 3)


if __name__ == "__main__":
    main()
