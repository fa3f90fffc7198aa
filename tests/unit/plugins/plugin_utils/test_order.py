# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller-side barrier of a task run in order (plugin_utils/_order.py): real sockets and files in a
temporary directory, one thread per node."""

from __future__ import annotations

import os
import threading
import time

import pytest

from ansible_collections.stackato.cluster.plugins.plugin_utils import _order


@pytest.fixture
def barrier(tmp_path):
    return _order.Barrier(str(tmp_path / "order"))


def in_thread(target, *args):
    out = {}

    def run():
        out["value"] = target(*args)
        out["at"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_a_node_that_follows_none_starts_at_once(barrier):
    assert barrier.wait("dea1", []) == ("go", "", 0.0)
    assert barrier.wait("dea1", ["dea1"]) == ("go", "", 0.0)


def test_a_node_starts_when_the_one_before_it_is_done_not_before(barrier):
    thread, out = in_thread(barrier.wait, "dea2", ["dea1"])
    time.sleep(0.3)
    assert thread.is_alive(), "dea2 started before dea1 was done"
    assert os.path.exists(barrier._path("dea2", "sock"))
    ended = time.monotonic()
    barrier.finish("dea1", _order.DONE)
    thread.join(5)
    verdict, why, waited = out["value"]
    assert (verdict, why) == ("go", "")
    assert waited >= 0.25  # the thread takes its clock a little after the test's 0.3 s sleep began
    # woken by the connect, not found by a later look: within a fraction of a second
    assert out["at"] - ended < 0.5
    assert not os.path.exists(barrier._path("dea2", "sock"))


def test_the_core_waits_for_every_node_before_it(barrier):
    thread, out = in_thread(barrier.wait, "core", ["dea1", "router2", "data1"])
    for name in ("dea1", "data1"):
        barrier.finish(name, _order.DONE)
        time.sleep(0.1)
        assert thread.is_alive()
    barrier.finish("router2", _order.DONE)
    thread.join(5)
    assert out["value"][0] == "go"


@pytest.mark.parametrize("state, why", [(_order.FAILED, "dea1 failed: kato exited 1"),
                                        (_order.STOPPED, "dea1 did not start")])
def test_a_node_after_one_that_failed_or_did_not_start_does_not_start(barrier, state, why):
    thread, out = in_thread(barrier.wait, "dea2", ["dea1"])
    time.sleep(0.1)
    barrier.finish("dea1", state, "kato exited 1")
    thread.join(5)
    assert out["value"][:2] == ("stop", why)


def test_after_a_failure_no_node_starts_even_one_whose_predecessors_are_done(barrier):
    barrier.finish("dea1", _order.DONE)
    barrier.finish("router2", _order.FAILED, "not ready")
    assert barrier.wait("dea2", ["dea1"])[:2] == ("stop", "router2 failed: not ready")
    # a node that follows none but whose call comes after the failure does not start either
    assert barrier.wait("data2", [])[:2] == ("stop", "router2 failed: not ready")
    # the first failure is the one reported
    barrier.finish("router3", _order.FAILED, "later")
    assert barrier.aborted() == "router2 failed: not ready"


def test_a_failure_wakes_nodes_that_wait_for_others(barrier):
    thread, out = in_thread(barrier.wait, "core", ["dea3"])
    time.sleep(0.1)
    barrier.finish("router2", _order.FAILED, "lost")
    thread.join(5)
    assert out["value"][:2] == ("stop", "router2 failed: lost")


def test_the_wait_is_bounded_by_its_timeout(barrier):
    verdict, why, waited = barrier.wait("dea2", ["dea1"], timeout=0.3)
    assert (verdict, why) == ("stop", "waited 0.3 s for dea1")
    assert 0.3 <= waited < 2


def test_no_wake_up_is_lost_between_the_look_and_the_wait(barrier):
    """Many chains whose predecessor ends at about the moment the successor starts to wait."""
    for round_ in range(60):
        first, second = f"a{round_}", f"b{round_}"
        thread, out = in_thread(barrier.wait, second, [first], 10)
        if round_ % 3:
            time.sleep(0.001 * (round_ % 5))
        barrier.finish(first, _order.DONE)
        thread.join(10)
        assert out["value"][0] == "go", round_


def test_waking_ignores_a_socket_nobody_listens_on(barrier):
    import socket
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(os.path.join(barrier.dir, "stale.sock"))
    stale.close()
    barrier.finish("dea1", _order.DONE)
    assert barrier.state("dea1") == _order.DONE


def test_states_are_written_once_each_and_unknown_ones_refused(barrier):
    assert barrier.state("dea1") is None
    with pytest.raises(ValueError):
        barrier.finish("dea1", "maybe")
    with open(barrier._path("dea1", "state"), "w", encoding="utf-8") as handle:
        handle.write("garbage")
    assert barrier.state("dea1") is None
    assert [e for e in os.listdir(barrier.dir) if e.endswith(".tmp")] == []


def test_socket_paths_stay_short_whatever_the_host_name(barrier):
    assert len(os.path.basename(barrier._path("x" * 300 + ".example.com", "sock"))) == 25


def test_the_directory_is_private(tmp_path):
    made = _order.private_dir(str(tmp_path / "new"))
    assert oct(os.stat(made).st_mode & 0o777) == "0o700"
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    os.chmod(open_dir, 0o755)
    with pytest.raises(_order.OrderError, match="mode 0755"):
        _order.Barrier(str(open_dir))
    link = tmp_path / "link"
    link.symlink_to(made)
    with pytest.raises(_order.OrderError, match="not a directory"):
        _order.Barrier(str(link))
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(_order.OrderError, match="cannot create"):
        _order.Barrier(str(afile / "sub"))


def test_a_start_is_recorded_and_wakes_the_waiting_nodes_which_may_stop_waiting(barrier):
    assert not barrier.started("dea1") and not barrier.any_ended()
    seen = []

    def interrupted(wakes):
        seen.append(wakes)
        return barrier.started("dea1")

    thread, out = in_thread(lambda: barrier.wait("dea2", ["dea1"], 0, interrupted))
    time.sleep(0.2)
    assert thread.is_alive() and seen == [0]
    barrier.start("dea1")
    thread.join(5)
    assert out["value"][0] == "interrupted" and seen == [0, 1]
    assert barrier.started("dea1") and not barrier.any_ended() and barrier.state("dea1") is None
    barrier.finish("router2", _order.DONE)
    assert barrier.any_ended() and barrier.started("router2")


def test_a_wake_for_one_node_wakes_only_it(barrier):
    woken = []
    threads = [in_thread(lambda n=name: barrier.wait(n, ["dea1"], 0, lambda wakes: wakes > 0))
               for name in ("dea2", "dea3")]
    time.sleep(0.2)
    barrier.wake("dea2")
    threads[0][0].join(5)
    woken.append(threads[0][1]["value"][0])
    assert woken == ["interrupted"] and threads[1][0].is_alive()
    barrier.finish("dea1", _order.DONE)
    threads[1][0].join(5)
    assert threads[1][1]["value"][0] == "go"
