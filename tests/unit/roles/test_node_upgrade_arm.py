# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""node_upgrade's arm.yml starts the upgrade's module before the window with the upgrade task's arguments: the
action plugin stops a module whose arguments differ from the task's and starts it again (no harm, but the window
would lose what the early start saves), so the two argument lists are pinned here, key by key and template by
template."""

from pathlib import Path

import yaml

TASKS = Path(__file__).resolve().parents[3] / "roles" / "node_upgrade" / "tasks"
MODULE = "stackato.cluster.kato_upgrade"


def module_task(name):
    tasks = [task for task in yaml.safe_load((TASKS / name).read_text()) if MODULE in task]
    assert len(tasks) == 1, name
    return tasks[0]


def test_arm_starts_the_module_with_the_upgrade_tasks_arguments():
    armed, upgrade = module_task("arm.yml"), module_task("upgrade.yml")
    assert {key: value for key, value in armed[MODULE].items() if key != "order"} == \
        {key: value for key, value in upgrade[MODULE].items() if key not in ("order", "restart")}
    assert armed["environment"] == upgrade["environment"]
    assert armed[MODULE]["order"]["arm"] is True and armed["poll"] == 0


def test_the_upgrade_task_passes_the_armed_module_on():
    ordered = (TASKS / "ordered.yml").read_text()
    assert "'armed': __node_upgrade_armed" in ordered


def test_go_first_tells_the_module_with_the_upgrade_tasks_arguments():
    """go_first.yml says the word only when its arguments' digest is the armed module's: the same arguments again."""
    go, upgrade = module_task("go_first.yml"), module_task("upgrade.yml")
    assert {key: value for key, value in go[MODULE].items() if key != "order"} == \
        {key: value for key, value in upgrade[MODULE].items() if key not in ("order", "restart")}
    assert go[MODULE]["order"]["go"] is True and go[MODULE]["order"]["armed"] == "{{ __node_upgrade_armed }}"
    assert go["when"] == ["__node_upgrade_armed is defined", "inventory_hostname in __node_upgrade_go_first"]
    assert "async" not in go
    # the node that goes first only (order.begun: the task returns once it has begun); the upgrade's task tells the others
    assert go[MODULE]["order"]["begun"] is True
    assert go["register"] == "__node_upgrade_told"
    assert "'said': __node_upgrade_told.said | default(none) == 'go'" in (TASKS / "ordered.yml").read_text()


def upgrade_play():
    plays = yaml.safe_load((TASKS.parents[2] / "playbooks" / "upgrade.yml").read_text())
    return next(play for play in plays if play.get("name") == "Upgrade the nodes in order, the core node last")


def test_the_upgrade_play_tells_the_first_node_then_fetches_the_backup_then_runs_every_nodes_upgrade():
    """The node the window waits for begins right after the export; the archive is fetched (and restricted to its owner)
    while it begins - it stays on the core node, upgraded last; right after it, with no task of every node between,
    every node's upgrade task, which tells the other nodes that go first and starts the ones that follow early."""
    first, fetch, upgrade = upgrade_play()["tasks"]
    assert first["ansible.builtin.import_role"] == {"name": "stackato.cluster.node_upgrade", "tasks_from": "go_first.yml"}
    assert fetch["block"][0]["ansible.builtin.include_role"] == {"name": "stackato.cluster.backup", "tasks_from": "fetch.yml"}
    assert "inventory_hostname in groups['core']" in fetch["block"][0]["when"]
    assert fetch["any_errors_fatal"] is True, "a failed fetch on the core node must stop every node's play"
    rescue = [task.get("ansible.builtin.include_role", {}).get("tasks_from") for task in fetch["rescue"]]
    assert rescue == [None, "disarm.yml", "on_failure.yml", None] and "ansible.builtin.fail" in fetch["rescue"][-1]
    # imported, and ordered.yml imported in it: no include round of every node before the nodes' upgrade task
    assert upgrade["ansible.builtin.import_role"] == {"name": "stackato.cluster.node_upgrade", "tasks_from": "waves.yml"}
    waves = yaml.safe_load((TASKS / "waves.yml").read_text())
    assert waves[0] == {"name": waves[0]["name"], "ansible.builtin.import_tasks": "ordered.yml",
                        "when": "__node_upgrade_prepared_in_order | bool"}
    assert waves[1]["when"] == "not (__node_upgrade_prepared_in_order | bool)"
    # the archive's own mode right after the copy, in the same include (its directory is 0700 from before the window)
    fetched = yaml.safe_load((TASKS.parents[1] / "backup" / "tasks" / "fetch.yml").read_text())
    assert fetched[-1]["ansible.builtin.import_tasks"] == "restrict.yml"


def test_the_backup_play_exports_only():
    plays = yaml.safe_load((TASKS.parents[2] / "playbooks" / "upgrade.yml").read_text())
    backup = next(play for play in plays if play.get("name") == "Back up all data before any node changes")
    assert backup["roles"][0]["vars"]["backup_defer_fetch"] is True
    main = yaml.safe_load((TASKS.parents[1] / "backup" / "tasks" / "main.yml").read_text())
    task = next(task for task in main[0]["block"] if task.get("ansible.builtin.import_tasks") == "fetch.yml")
    assert task["when"] == ["__backup_window_open | bool", "not (backup_defer_fetch | bool)"]
    assert not [task for task in main[0]["block"] if task.get("ansible.builtin.import_tasks") == "restrict.yml"]


def _tasks(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def test_the_go_first_task_gets_the_variables_arm_got():
    """The arguments are templates: evaluated with the same variables, they give the armed module's digest."""
    plays = yaml.safe_load((TASKS.parents[2] / "playbooks" / "upgrade.yml").read_text())
    every = [task for play in plays for task in _tasks(play.get("tasks"))]
    armer = next(task for task in every if task.get("ansible.builtin.include_role", {}).get("tasks_from") == "arm.yml")
    teller = next(task for task in every if task.get("ansible.builtin.import_role", {}).get("tasks_from") == "go_first.yml")
    assert teller["vars"] == {key: value for key, value in armer["vars"].items() if key != "node_upgrade_order_dir"}
