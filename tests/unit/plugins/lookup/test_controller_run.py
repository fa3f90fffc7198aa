# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import multiprocessing
import os

from ansible_collections.stackato.cluster.plugins.lookup import controller_run


def test_main_process_is_itself():
    assert controller_run.main_pid() == os.getpid()


def _child(queue):
    queue.put(controller_run.main_pid())


def test_a_worker_names_its_parent():
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue,))
    proc.start()
    assert queue.get(timeout=30) == os.getpid()
    proc.join(30)


def test_run(monkeypatch):
    class Done:
        def __init__(self, out):
            self.stdout = out

    def fake_run(argv, **kw):
        if argv[:2] == ["ps", "-eo"]:
            return Done(" 12 /usr/bin/python3 /usr/bin/ansible-playbook up.yml\n 13 bash\nbogus\n 14 python ansible-playbook x\n")
        return Done("  60\n")
    monkeypatch.setattr(controller_run.subprocess, "run", fake_run)
    monkeypatch.setattr(controller_run.time, "time", lambda: 1796083260.0)
    run = controller_run.LookupModule().run([])[0]
    assert run["live_pids"] == [12, 14] and run["pid"] == os.getpid()
    assert run["started"] == "2026-12-01T00:00:00Z" and run["user"] and run["controller"]
