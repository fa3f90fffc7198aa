# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.stackato.cluster.plugins.modules import kato_node_retire

NODES = json.dumps({
    "127.42.0.11": {"roles": ["base", "controller", "primary", "router"]},
    "127.42.0.13": {"roles": ["base", "dea"]},
    "127.42.0.14": {"roles": ["base", "dea"]},
    "127.42.0.15": {"roles": ["base", "dea"]},
})
LIST = {"argv": ["node", "list", "-j"], "out": "WARNING: x\n" + NODES + "\n"}


def web(count, memory_mb=256):
    return [{"app": "web", "memory_mb": memory_mb}] * count


def info(ip, memory_mb=1024, used_mb=None, instances=(), **extra):
    instances = list(instances)
    used = sum(i["memory_mb"] for i in instances) if used_mb is None else used_mb
    dea = dict({"memory_mb": memory_mb, "used_mb": used, "instances": instances}, **extra)
    return {"argv": ["info", "-n", ip, "-j"], "out": json.dumps({ip: {"roles": ["base", "dea"], "dea": dea}})}


def bare_info(ip):
    return {"argv": ["info", "-n", ip, "-j"], "out": json.dumps({ip: {"roles": ["base", "dea"]}})}


def procs(ip, state="RUNNING"):
    return {"argv": ["process", "list", "-n", ip, "-j"],
            "out": json.dumps({ip: {"dea_ng": state, "apptail": state, "nginx": "RUNNING"}})}


RETIRE = {"argv": ["node", "retire", "-n", "127.42.0.13"], "out": "Retiring DEA 127.42.0.13\n"}

CASES = [
    {
        "id": "retires_and_reports_moves",
        "calls": [
            LIST,
            info("127.42.0.13", instances=web(2)),
            info("127.42.0.14", instances=web(1)),
            info("127.42.0.15", memory_mb=0, retired=True),
            procs("127.42.0.14"),
            RETIRE,
            info("127.42.0.13"),
            info("127.42.0.14", instances=web(3)),
            info("127.42.0.15", memory_mb=0, retired=True),
        ],
        "result": {"changed": True, "needed_mb": 512, "free_mb": 768,
                   "moved": [{"app": "web", "from": "127.42.0.13", "to": "127.42.0.14"}] * 2},
    },
    {
        "id": "already_retired",
        "calls": [LIST, info("127.42.0.13"), info("127.42.0.14", instances=web(3)), info("127.42.0.15")],
        "result": {"changed": False, "moved": []},
    },
    {
        "id": "check_mode_predicts",
        "flags": {"check": True, "diff": True},
        "calls": [LIST, info("127.42.0.13", instances=web(2)), info("127.42.0.14"), info("127.42.0.15"),
                  procs("127.42.0.14"), procs("127.42.0.15", "STOPPED")],
        "result": {"changed": True, "needed_mb": 512, "free_mb": 1024, "moved": [],
                   "diff": {"before": {"instances": web(2)}, "after": {"instances": []}}},
    },
    {
        "id": "refuses_without_capacity",
        "calls": [
            LIST,
            info("127.42.0.13", instances=web(3)),
            info("127.42.0.14", memory_mb=1024, used_mb=768),
            info("127.42.0.15", memory_mb=0, retired=True),
            procs("127.42.0.14"),
        ],
        "failed": True,
        "msg_contains": ["refusing to retire DEA 127.42.0.13", "need 768 MB", "have 256 MB free", "add a DEA"],
        "result": {"changed": False, "needed_mb": 768, "free_mb": 256},
    },
    {
        "id": "refuses_in_check_mode_too",
        "flags": {"check": True},
        "calls": [
            LIST,
            info("127.42.0.13", instances=web(3)),
            info("127.42.0.14", used_mb=1024),
            info("127.42.0.15", used_mb=1024),
            procs("127.42.0.14"),
            procs("127.42.0.15"),
        ],
        "failed": True,
        "msg_contains": ["have 0 MB free"],
    },
    {
        "id": "no_dea_figures_skips_the_check_with_warning",
        "calls": [LIST, bare_info("127.42.0.13"), bare_info("127.42.0.14"), bare_info("127.42.0.15"),
                  RETIRE, bare_info("127.42.0.13"), bare_info("127.42.0.14"), bare_info("127.42.0.15")],
        "result": {"changed": True, "needed_mb": None, "free_mb": None, "moved": []},
        "warnings": ["skipping the capacity check"],
    },
    {
        "id": "kato_refusal_fails_with_evidence",
        "calls": [LIST, bare_info("127.42.0.13"), bare_info("127.42.0.14"), bare_info("127.42.0.15"),
                  dict(RETIRE, rc=1, err="ERROR: not enough memory on the other DEAs\n")],
        "failed": True,
        "msg_contains": ["kato node retire -n 127.42.0.13 failed (rc=1)", "not enough memory"],
        "result": {"rc": 1},
    },
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_kato_node_retire(case, check_case, run_module, kato):
    calls = [dict(call, argv=[kato] + call["argv"]) for call in case["calls"]]
    args = {"node": "127.42.0.13", "kato_path": kato}
    result, failed, warnings = run_module(kato_node_retire, args, calls, **case.get("flags", {}))
    check_case(case, result, failed, warnings)


def test_stopped_dea_does_not_count_as_free(run_module, kato):
    calls = [LIST, info("127.42.0.13", instances=web(2)), info("127.42.0.14"), info("127.42.0.15"),
             procs("127.42.0.14", "STOPPED"), procs("127.42.0.15", "STOPPED")]
    calls = [dict(call, argv=[kato] + call["argv"]) for call in calls]
    result, failed, dummy = run_module(kato_node_retire, {"node": "127.42.0.13", "kato_path": kato}, calls)
    assert failed and result["free_mb"] == 0 and "have 0 MB free" in result["msg"]


@pytest.mark.parametrize("node, text", [
    ("127.42.0.11", "it has the roles base, controller, primary, router"),
    ("127.42.0.99", "it is not in kato node list"),
])
def test_not_a_dea(run_module, kato, node, text):
    result, failed, dummy = run_module(kato_node_retire, {"node": node, "kato_path": kato},
                                       [dict(LIST, argv=[kato] + LIST["argv"])])
    assert failed and text in result["msg"] and "dea role" in result["msg"]
