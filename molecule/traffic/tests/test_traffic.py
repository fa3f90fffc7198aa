"""traffic (small, traffic=true): the rolling upgrade under live HTTP load through HAProxy and
the routers; no request to an app with two or more instances fails."""
import json

import pytest

import journal


@pytest.fixture(scope="module")
def result():
    return json.loads((journal.CLUSTER_DIR / "traffic-result.json").read_text())


def test_every_node_upgraded(result):
    evts = journal.events()
    upgraded = [e["node"] for e in journal.of(evts, "upgrade_done")]
    assert sorted(upgraded) == sorted(journal.node_ips())
    steps = journal.of(evts, "upgrade_step")
    # the traffic covered the whole upgrade, its restarts included
    last = max(e["ts"] for e in journal.of(evts, "upgrade_step", "kato_restart"))
    assert result["started"] < min(e["ts"] for e in steps)
    assert last < result["ended"]


def test_every_app_got_steady_traffic(result):
    apps = {a["name"]: a for a in result["apps"]}
    assert sorted(apps) == sorted(a["name"] for a in journal.topology()["apps"])
    for app in apps.values():
        # 10 requests/s: at least half of them were sent for the whole run
        assert app["sent"] >= 5 * result["duration_s"], app


def test_zero_failed_requests_for_apps_with_two_or_more_instances(result):
    failed = {a["name"]: a["failures_by_step"] for a in result["apps"]
              if a["instances"] >= 2 and a["failed"]}
    assert not failed, failed
    assert result["multi_instance_failed"] == 0


def test_single_instance_gaps_are_reported(result):
    for app in result["apps"]:
        if app["instances"] == 1:
            assert app["longest_gap_s"] >= 0
            # each failure counted under the step the journal shows at its time
            assert app["failed"] == sum(app["failures_by_step"].values())
