# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rules on the operator's input (``plugins/module_utils/_inputs.py``) and the upgrade's plan
(``plugins/module_utils/_plan.py``) as filters.

The documentation of each filter is the ``<filter name>.yml`` file next to this one.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.stackato.cluster.plugins.module_utils import _inputs, _plan, _report


def input_findings(facts):
    try:
        return _inputs.input_findings(facts)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.input_findings: {exc}") from exc


def cache_node(facts):
    """The inventory name of the cache node, or "" when the input names no single host (_inputs.cache_node)."""
    try:
        return _inputs.cache_node(facts)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.cache_node: {exc}") from exc


def proxy_problems(settings):
    """One message per proxy setting that is not a proxy URL (_inputs.proxy_setting_problems), credentials masked."""
    try:
        return _inputs.proxy_setting_problems(settings)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.proxy_problems: {exc}") from exc


def proxy_environment(http_proxy, https_proxy="", no_proxy="", node_addresses=()):
    """The proxy environment of the upgrade's downloads (_inputs.proxy_environment)."""
    try:
        return _inputs.proxy_environment(http_proxy, https_proxy, no_proxy, node_addresses)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.proxy_environment: {exc}") from exc


def upgrade_plan(groups, versions, target, backup=True, restart=True):
    try:
        return _plan.upgrade_plan(groups, versions, target, backup, restart)
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.upgrade_plan: {exc}") from exc


def upgrade_waves(groups, hosts=None):
    """The waves of playbooks/upgrade.yml (_plan.upgrade_waves): ``[[hosts]]``, the core node last."""
    try:
        return _plan.upgrade_waves(groups, hosts=hosts)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.upgrade_waves: {exc}") from exc


def upgrade_after(groups, hosts=None):
    """The nodes each node follows in an upgrade in order (_plan.upgrade_after): ``{host: [hosts]}``."""
    try:
        return _plan.upgrade_after(groups, hosts=hosts)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.upgrade_after: {exc}") from exc


def upgrade_first(groups, hosts=None):
    """The node told to begin first, alone (_plan.upgrade_first): ``[host]`` or ``[]``."""
    try:
        return _plan.upgrade_first(groups, hosts=hosts)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.upgrade_first: {exc}") from exc


def upgrade_plan_estimate(groups, versions, target, node_ips=None, kato_nodes=None, summary=None, runs_dir="",
                          inventory_sources=(), backup=True, restart=True):
    """The plan with its estimates (_plan.estimate) and its lines; earlier runs' event logs read from the runs
    directory (runs_dir, else stackato-runs next to the inventory), where the plan's JSON goes (json_path)."""
    try:
        summary = summary if isinstance(summary, dict) else {}
        sources = [str(s) for s in inventory_sources or []]
        directory = _report.runs_dir(sources, runs_dir or None)
        history = _report.load_history(directory)
        measured = _plan.measured_steps([_report.history_rows(events) for events in history])
        plan = _plan.estimate(groups, versions, target, _plan.kato_roles_by_host(node_ips, kato_nodes),
                              summary.get("findings") or [], bool(summary.get("failed")), measured, sources, backup, restart)
        plan.update(measured_runs=len(history), runs_dir=directory, json_path=os.path.join(directory, "plan.json"))
        plan["lines"] = _plan.estimate_lines(plan) + [f"The plan as JSON: {plan['json_path']}"]
        return plan
    except (ValueError, TypeError, KeyError) as exc:
        raise AnsibleFilterError(f"stackato.cluster.upgrade_plan_estimate: {exc}") from exc


class FilterModule:
    """The stackato.cluster input rules and upgrade plan."""

    def filters(self):
        return {"input_findings": input_findings, "cache_node": cache_node, "proxy_problems": proxy_problems, "proxy_environment": proxy_environment,
                "upgrade_plan": upgrade_plan,
                "upgrade_plan_estimate": upgrade_plan_estimate, "upgrade_waves": upgrade_waves,
                "upgrade_after": upgrade_after, "upgrade_first": upgrade_first}
