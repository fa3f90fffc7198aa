"""lock: a lock held from another controller refuses the upgrade before any change and is broken only
with stackato_lock_break=true; a second run while the first is in its window is refused before any
change, naming the holder (controller host, user, start time); the first finishes and releases it.
Before them, a run whose backup fails leaves the cluster in service and no module waiting on a node."""
import calendar
import getpass
import json
import re
import socket
import time
from datetime import datetime

import fault_checks
import journal

# Everything the simulator journals when something changes on a node (as in check-mode).
FOREIGN = "alice@ops-laptop (ansible-playbook pid 4242, since 2026-11-30T22:00:00Z)"


nobackup = journal.run_fixture("lock-nobackup.json")
nofetch = journal.run_fixture("lock-nofetch.json")
foreign = journal.run_fixture("lock-foreign.json")
first = journal.run_fixture("lock-first.json")
second = journal.run_fixture("lock-second.json")
evts = journal.events_fixture()


def local_ts(text):
    """The command module's start/end (the controller's local time) as time.time()."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").timestamp()


def tasks_run_on_nodes(out):
    """The names of the tasks that ran on a node (ok, changed or failed: not on localhost), in order."""
    return [s.split("]", 1)[0] for s in out.split("TASK [")[1:]
            if re.search(r"^(ok|changed|fatal): \[(?!localhost\])", s, re.MULTILINE)]


def assert_refused_first_thing(out):
    # After the input check on the controller, the lock check is the only task that ran on a node: no
    # preflight, cache, download, customizations or window.
    assert tasks_run_on_nodes(out) == ["stackato.cluster.maintenance_mode : Check that the cluster lock could be taken"], \
        tasks_run_on_nodes(out)
    assert "PLAY [Check that the cluster can be upgraded]" not in out
    assert re.search(r"^core\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=1", out, re.MULTILINE), out[-2000:]


def test_a_failed_backup_stops_the_module_started_before_the_window_and_changes_no_node(nobackup, evts):
    out = nobackup["stdout"]
    assert nobackup["rc"] != 0
    assert "The backup failed on core" in out and "No space left on device" in out, out[-3000:]
    # dea1 follows no node: its upgrade's module started before the window and was told to stop, first thing
    rescue = out.split("TASK [stackato.cluster.backup : Turn maintenance mode off after the failed backup]")[0]
    assert re.search(r"TASK \[stackato.cluster.node_upgrade : Tell the upgrade modules waiting on their nodes to stop\][^\n]*\n"
                     r"ok: \[core -> dea1\(127\.[\d.]+\)\] => \(item=dea1\)", rescue), rescue[-3000:]
    start, end = local_ts(nobackup["started"]), local_ts(nobackup["ended"])
    during = [e for e in evts if start <= e["ts"] <= end]
    assert [journal.is_on(e) for e in journal.maintenance_sets(during)] == [True, False]
    # before the window only its preparation (kato's update, the downloads); no node changed in it
    assert journal.of(during, "upgrade_start", "upgrade_step", "upgrade_done", "dea_retire_start", "dea_retired",
                      "kato_restart", "role_state", "instance_stopped", "data_export") == []
    # the module's own end, kept by Ansible's async job on dea1: no change, stopped at its gate with the reason
    jobs = journal.host("dea1").check_output("for job in /home/stackato/.ansible_async/j*; do cat \"$job\"; echo; done")
    stopped = [job for job in (json.loads(line) for line in jobs.splitlines() if line.startswith("{"))
               if "the backup failed" in str(job.get("msg"))]
    assert len(stopped) == 1 and stopped[0]["changed"] is False and stopped[0]["order_gate"] == "stop", jobs


def test_a_backup_that_cannot_be_fetched_lets_only_the_first_node_run_and_keeps_the_archive(nofetch, evts):
    """The archive is fetched while the node told first (dea1) begins: when the copy fails, dea1 runs to its end, no
    other node begins, the window's failure policy applies and the archive stays on the Core."""
    out = nofetch["stdout"]
    assert nofetch["rc"] != 0
    assert "could not be fetched to the controller" in out and "dest is an existing directory" in out, out[-3000:]
    assert "Only the node told first had begun its upgrade" in out and "Cluster BACK IN SERVICE" in out, out[-3000:]
    start, end = local_ts(nofetch["started"]), local_ts(nofetch["ended"])
    during = [e for e in evts if start <= e["ts"] <= end]
    assert [journal.is_on(e) for e in journal.maintenance_sets(during)] == [True, False]
    dea1 = next(n["ip"] for n in journal.topology()["nodes"] if n["name"] == "dea1")
    assert [e["node"] for e in journal.of(during, "upgrade_start")] == [dea1]
    assert [e["node"] for e in journal.of(during, "upgrade_done")] == [dea1]
    assert journal.of(during, "kato_restart") == []
    # the export came before dea1's first change; the archive is still on the Core
    export = journal.of(during, "data_export")
    assert len(export) == 1 and export[0]["ts"] < journal.of(during, "dea_retire_start")[0]["ts"]
    assert journal.host(journal.core_name()).file(export[0]["path"]).exists


def test_no_module_waits_on_any_node_after_the_runs():
    for host in journal.nodes():
        left = host.check_output("ls -A /home/stackato/.stackato-cluster/order 2>/dev/null; true").split()
        assert [name for name in left if name.endswith((".fifo", ".done", ".go", ".result"))] == [], host.backend.host


def test_lock_of_another_controller_refused_before_any_change(foreign, evts):
    out = foreign["stdout"]
    assert foreign["rc"] != 0
    assert f"Another upgrade run holds the cluster: {FOREIGN}. Wait for it to end." in out, out[-2000:]
    assert "break the lock with -e stackato_lock_break=true" in out
    assert_refused_first_thing(out)
    start, end = local_ts(foreign["started"]), local_ts(foreign["ended"])
    assert [e for e in journal.of(evts, *journal.CHANGES) if start <= e["ts"] <= end] == []


def test_lock_of_another_controller_broken_only_with_the_variable(first, nofetch, evts):
    out = first["stdout"]
    assert first["rc"] == 0, out[-3000:]
    assert f"Broke the cluster lock of {FOREIGN} as asked (break_lock)." in out
    # The refused run before left it in place: nothing had changed since the failed fetch's run.
    assert min(e["ts"] for e in journal.of(evts, *journal.CHANGES) if e["ts"] > local_ts(nofetch["ended"])) > first["started"]


def test_second_run_refused_before_any_change_naming_the_holder(first, second):
    out = second["stdout"]
    assert second["rc"] != 0
    # It ran while the first was in its window (maintenance mode on) and ended before the first did.
    assert first["event"]["ts"] < second["started"] and second["ended"] < first["ended"]
    match = re.search(r"Another upgrade run holds the cluster: (\S+)@(\S+) \(ansible-playbook pid (\d+), since (\S+)\), "
                      r"still running on this controller\. Wait for it to end \(or stop it\), then run again\.", out)
    assert match, out[-2000:]
    user, controller, pid, since = match.groups()
    assert (user, controller, int(pid)) == (getpass.getuser(), socket.gethostname(), first["pid"])
    since_ts = calendar.timegm(time.strptime(since, "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(since_ts - first["started"]) <= 3, (since, first["started"])
    assert_refused_first_thing(out)


def test_first_run_finishes_and_releases_the_lock(first, evts):
    for host in journal.nodes():
        assert journal.kato_version(host) == journal.TARGET, host.backend.host
    # the failed backup's and the failed fetch's runs turned maintenance mode on and back off first
    assert [journal.is_on(e) for e in journal.maintenance_sets(evts)] == [True, False, True, False, True, False]
    assert "Release the cluster lock on the Core node" in first["stdout"]
    fault_checks.assert_lock_released()


def test_no_two_deas_retired_and_no_outage(evts):
    retired = set()
    for e in evts:
        if e["event"] == "dea_retired":
            retired.add(e["dea"])
            assert len(retired) <= 1, f"second DEA retired while {retired} were: {e}"
        elif e["event"] == "dea_unretired":
            retired.discard(e["dea"])
    assert journal.app_outages(evts) == []
