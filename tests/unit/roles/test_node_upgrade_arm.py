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


def test_go_tells_the_module_with_the_upgrade_tasks_arguments():
    """go.yml says the word only when its arguments' digest is the armed module's: the same arguments again."""
    go, upgrade = module_task("go.yml"), module_task("upgrade.yml")
    assert {key: value for key, value in go[MODULE].items() if key != "order"} == \
        {key: value for key, value in upgrade[MODULE].items() if key not in ("order", "restart")}
    assert go[MODULE]["order"]["go"] is True and go[MODULE]["order"]["armed"] == "{{ __node_upgrade_armed }}"
    assert go["when"] == "__node_upgrade_armed is defined" and "async" not in go


def test_the_upgrade_play_tells_the_armed_modules_to_begin_first():
    plays = yaml.safe_load((TASKS.parents[2] / "playbooks" / "upgrade.yml").read_text())
    upgrade = next(play for play in plays if play.get("name") == "Upgrade the nodes in order, the core node last")
    first = upgrade["tasks"][0]
    assert first["ansible.builtin.import_role"] == {"name": "stackato.cluster.node_upgrade", "tasks_from": "go.yml"}


def test_the_backup_is_restricted_after_the_word_not_in_the_window():
    """The backup play leaves the archive's mode to the upgrade's play, whose second task sets it, right after the
    word: the window does not wait for that module's run."""
    plays = yaml.safe_load((TASKS.parents[2] / "playbooks" / "upgrade.yml").read_text())
    backup = next(play for play in plays if play.get("name") == "Back up all data before any node changes")
    assert backup["roles"][0]["vars"]["backup_defer_archive_mode"] is True
    upgrade = next(play for play in plays if play.get("name") == "Upgrade the nodes in order, the core node last")
    second = upgrade["tasks"][1]
    assert second["ansible.builtin.import_role"] == {"name": "stackato.cluster.backup", "tasks_from": "restrict.yml"}
    fetch = yaml.safe_load((TASKS.parents[1] / "backup" / "tasks" / "fetch.yml").read_text())
    chmod = next(task for task in fetch if task["name"] == "Restrict the fetched archive to its owner")
    assert chmod["when"] == "not (backup_defer_archive_mode | bool)"


def _tasks(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def test_the_go_task_gets_the_variables_arm_got():
    """The arguments are templates: evaluated with the same variables, they give the armed module's digest."""
    plays = yaml.safe_load((TASKS.parents[2] / "playbooks" / "upgrade.yml").read_text())
    every = [task for play in plays for task in _tasks(play.get("tasks"))]
    armer = next(task for task in every if task.get("ansible.builtin.include_role", {}).get("tasks_from") == "arm.yml")
    teller = next(task for task in every if task.get("ansible.builtin.import_role", {}).get("tasks_from") == "go.yml")
    assert teller["vars"] == {key: value for key, value in armer["vars"].items() if key != "node_upgrade_order_dir"}
