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
  - Also prefetches upgrade content to a cache node (O(download_only)) and updates kato itself (O(update_kato)).
  - Run on the Core node without O(node), C(kato) upgrades the whole cluster one node at a time
    (primary last); anywhere else, or with O(node), one node.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato
  - stackato.cluster.kato.ATTRIBUTES
  - stackato.cluster.kato.ACTIONGROUP_KATO
attributes:
  check_mode:
    support: partial
    details:
      - Predicts from C(kato node upgrade --status --json) and C(kato version).
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
      - A node at this version or newer is left alone (unless O(force=true)).
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
      - When the status shows an interrupted upgrade (state V(failed), V(upgrading) or V(downloading)),
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
  kato_code_dirs:
    description:
      - Directories of kato's code. Their files (names, sizes, modification times) and the kato executable
        (content and modification time) are compared before and after O(update_kato=true) to tell whether
        kato changed. Directories that do not exist are ignored.
    type: list
    elements: path
    default: [/s/code/kato, /s/code/stackato-kato]
notes:
  - Proxy settings come from the task's C(environment) (C(http_proxy), C(https_proxy)); kato downloads through them.
  - Put the cluster into maintenance mode before upgrading (M(stackato.cluster.kato_config)) and run
    C(kato restart) on every node afterwards (M(stackato.cluster.kato_role)).
seealso:
  - module: stackato.cluster.kato_info
  - module: stackato.cluster.kato_role
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
"""

RETURN = r"""
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
stdout_lines_tail:
  description: The last 20 lines of the last command's output.
  returned: success
  type: list
  elements: str
  sample: ["Upgrading component router2g", "Node 127.0.0.1 upgraded to 3.6.2"]
status:
  description: The upgrade status after the task (C(kato node upgrade --status --json)), or before it in check mode.
  returned: success
  type: dict
  sample: {"node": "127.42.0.11", "version": "3.6.2", "available": "3.6.2", "state": "done", "step": null, "cached": true}
"""

import hashlib
import os
import re
import shlex
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stackato.cluster.plugins.module_utils._kato import (
    KATO_COMMON_ARGS,
    KatoClient,
    KatoError,
    StackatoVersion,
    cmd_to_str,
    fail_from_error,
)

NETWORK_ERROR_RE = re.compile(r"network|connection reset|timed out|could not resolve|resumed", re.IGNORECASE)
INTERRUPTED_STATES = ("failed", "upgrading", "downloading")
RUNNING_WITH = "Running with command:"
TAIL_LINES = 20


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


def kato_fingerprint(kato_path, code_dirs):
    """A digest of the kato executable and kato's code trees, to tell whether a self-update changed kato."""
    digest = hashlib.sha256()
    real = os.path.realpath(kato_path)
    if os.path.isfile(real):
        digest.update(f"{real}\0{os.stat(real).st_mtime_ns}\n".encode())
        with open(real, "rb") as handle:
            digest.update(handle.read())
    for code_dir in code_dirs:
        if not os.path.isdir(code_dir):
            continue
        digest.update(f"{code_dir}\n".encode())
        for root, dirs, files in os.walk(code_dir):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                try:
                    stat = os.lstat(path)
                except OSError:
                    continue
                digest.update(f"{os.path.relpath(path, code_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class Upgrade:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.started = time.monotonic()
        self.attempts = 0
        self.recovered = False
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
        data = self.client.run_json("node", "upgrade", "--status", "--json", *self.node_args())
        return data if isinstance(data, dict) else {}

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

    def run(self, resume_first):
        delay = self.params["retry_delay"]
        for attempt in range(1, self.params["retries"] + 2):
            self.attempts = attempt
            argv = self.client.argv(self.upgrade_args(resume_first or attempt > 1))
            try:
                rc, stdout, stderr = self.client.run_argv(argv, check_rc=False, timeout=self.remaining())
            except KatoError as exc:
                if exc.extra.get("timed_out"):
                    exc.msg += "; the upgrade may still be running: check kato node upgrade --status"
                raise
            self.tail = stdout.splitlines()[-TAIL_LINES:]
            if rc == 0:
                return
            if not self.client.exists():
                self.recover()
                return
            errors = [line.strip() for line in (stderr + "\n" + stdout).splitlines()
                      if line.strip().upper().startswith("ERROR")]
            reason = errors[0] if errors else (stderr or stdout).strip()[-300:]
            # Classify by kato's ERROR lines when there are any: in cluster mode the output also
            # carries earlier, recovered network errors of other nodes.
            network = NETWORK_ERROR_RE.search("\n".join(errors) if errors else stdout + "\n" + stderr)
            if network and attempt <= self.params["retries"]:
                self.module.log(f"kato node upgrade: network error, retrying with --resume in {delay}s: {reason}")
                time.sleep(min(delay, self.remaining()))
                delay *= 2
                continue
            if network:
                msg = (f"kato node upgrade failed with a network error after {attempt} attempt(s): {reason}. "
                       f"The upgrade can be resumed: restore access to the upstream hosts (check http_proxy and "
                       f"https_proxy in the task environment, or prefetch with download_only and cache_ip), then "
                       f"re-run this task with resume=true (it passes --resume)")
            else:
                msg = (f"kato node upgrade failed (rc={rc}): {reason}. Fix the cause, then re-run this task with "
                       f"resume=true (the default) to resume the interrupted upgrade with --resume")
            raise KatoError(msg, cmd=cmd_to_str(argv), rc=rc, stdout=stdout, stderr=stderr, attempts=attempt)


def plan(module, version_before, status):
    """(run, resume_first, predicted version): whether kato must run, and what it should leave."""
    params = module.params
    interrupted = status.get("state") in INTERRUPTED_STATES
    resume_first = params["resume"] and interrupted
    if params["update_kato"]:
        return True, resume_first, version_before
    if params["download_only"]:
        wanted = params["version"] or status.get("available")
        cached = bool(status.get("cached")) and (not params["version"] or status.get("available") == wanted)
        return params["force"] or not cached, False, version_before
    target = params["version"] or status.get("available")
    if params["force"] or not target or not version_before or interrupted:
        return True, resume_first, target or version_before
    try:
        newer = StackatoVersion(target) > StackatoVersion(version_before)
    except ValueError as exc:
        module.fail_json(msg=f"cannot compare versions: {exc}; give version as digits and dots, such as 3.6.2")
    if not newer and StackatoVersion(target) < StackatoVersion(version_before):
        module.warn(f"the node is at {version_before}, newer than {target}; nothing to do")
    return newer, resume_first, target if newer else version_before


def run_module(module, client):
    params = module.params
    upgrade = Upgrade(module, client)
    result = {"changed": False, "recovered": False, "attempts": 0, "version_before": None}
    missing = not client.exists()
    if missing:
        if module.check_mode:
            command = last_sentinel_command(params["sentinel_log"])
            if command is None:
                client.require()
            module.warn(f"kato is missing at {client.kato_path}; a real run replays '{command}' to restore it")
            result.update(changed=True, version_after=None, status={}, duration=0.0, stdout_lines_tail=[])
            return result
        upgrade.recover()
    else:
        result["version_before"] = client.version(params["node"])

    status = upgrade.status()
    fingerprint = kato_fingerprint(client.kato_path, params["kato_code_dirs"]) if params["update_kato"] else None
    needed, resume_first, predicted = (False, False, result["version_before"]) if missing else \
        plan(module, result["version_before"], status)

    if module.check_mode:
        result["version_after"] = predicted
        if params["update_kato"]:
            module.warn("check mode cannot tell whether a newer kato is available; reporting no change")
            needed = False
        result["changed"] = needed and (params["download_only"] or params["update_kato"] or
                                        predicted != result["version_before"] or params["force"])
    else:
        if needed:
            upgrade.run(resume_first)
        result["version_after"] = client.version(params["node"])
        after = upgrade.status()
        if params["update_kato"]:
            result["changed"] = kato_fingerprint(client.kato_path, params["kato_code_dirs"]) != fingerprint
        elif params["download_only"]:
            result["changed"] = (status.get("cached"), status.get("available")) != \
                (after.get("cached"), after.get("available"))
        else:
            result["changed"] = upgrade.recovered or result["version_before"] != result["version_after"]
        status = after

    result.update(
        status=status,
        attempts=upgrade.attempts,
        recovered=upgrade.recovered,
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
        kato_code_dirs={"type": "list", "elements": "path", "default": ["/s/code/kato", "/s/code/stackato-kato"]},
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("download_only", True, ["cache_ip"])],
        mutually_exclusive=[("update_kato", "download_only"), ("download_only", "offline")],
        supports_check_mode=True,
    )
    for name, minimum in (("retries", 0), ("retry_delay", 0), ("timeout", 1)):
        if module.params[name] < minimum:
            module.fail_json(msg=f"{name}={module.params[name]} is invalid: it must be at least {minimum}")
    if module.params["version"]:
        try:
            StackatoVersion(module.params["version"])
        except ValueError as exc:
            module.fail_json(msg=f"version: {exc}")
    try:
        result = run_module(module, KatoClient(module, require=False))
    except KatoError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
