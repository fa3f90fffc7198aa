# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The upgrade's rules as filters, so roles only wire inputs into them.

Every rule lives in ``plugins/module_utils/_rules.py`` (modules use the same functions); each
filter here is a thin wrapper that turns a rule's ValueError into an AnsibleFilterError. The
documentation of each filter is the ``<filter name>.yml`` file next to this one.
"""

from __future__ import annotations

import functools
import ipaddress
import operator as _operator
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.stackato.cluster.plugins.module_utils import _rules
from ansible_collections.stackato.cluster.plugins.module_utils._kato import compare_versions

_OPERATORS = {
    "<": _operator.lt, "lt": _operator.lt,
    "<=": _operator.le, "le": _operator.le,
    "==": _operator.eq, "=": _operator.eq, "eq": _operator.eq,
    "!=": _operator.ne, "<>": _operator.ne, "ne": _operator.ne,
    ">=": _operator.ge, "ge": _operator.ge,
    ">": _operator.gt, "gt": _operator.gt,
}


def _filter(func):
    """Report a rule's complaint about its input as a filter error that names the filter."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ValueError, TypeError, KeyError) as exc:
            raise AnsibleFilterError(f"stackato.cluster.{func.__name__}: {exc}") from exc
    return wrapper


@_filter
def preflight_node_findings(facts, settings=None, checks=None):
    return _rules.node_findings(facts, settings, checks)


@_filter
def preflight_cluster_findings(cluster, settings=None):
    return _rules.cluster_findings(cluster, settings)


@_filter
def preflight_summary(findings, settings=None, cluster=None):
    return _rules.summary(findings, settings, cluster)


@_filter
def preflight_upstream_batches(endpoints, proxy_env=None):
    return _rules.upstream_batches(endpoints, proxy_env)


@_filter
def dea_capacity_findings(deas, instances, order, node_names=None, unavailable=None, accept_risks=None, why_unknown=None):
    settings = {"accept_risks": [accept_risks] if isinstance(accept_risks, str) else list(accept_risks or [])}
    return _rules.dea_capacity_gate(deas, instances, order, node_names, unavailable or (), settings, why_unknown)


@_filter
def dea_nodes(nodes, memory_mb=None, overrides=None):
    return _rules.dea_nodes(nodes, memory_mb, overrides)


@_filter
def instance_counts(instances, states=None, key="app"):
    return _rules.count_instances(instances, _rules.OCCUPYING_STATES if states is None else states, key)


@_filter
def instance_shortfall(before, after, states=None):
    return _rules.instance_shortfall(before, after, _rules.OCCUPYING_STATES if states is None else states)


@_filter
def version_compare(left, right, operator=None):
    result = compare_versions(str(left), str(right))
    if operator is None:
        return result
    if operator not in _OPERATORS:
        raise ValueError(f"unknown operator {operator!r} (one of {', '.join(_OPERATORS)})")
    return _OPERATORS[operator](result, 0)


@_filter
def cache_ip(cache_ip_value, core_node_ip=None):
    """stackato_cache_ip when set, else the core node's stackato_node_ip."""
    if isinstance(core_node_ip, Mapping):
        core_node_ip = core_node_ip.get("stackato_node_ip")
    for value, name in ((cache_ip_value, "stackato_cache_ip"), (core_node_ip, "the core node's stackato_node_ip")):
        value = "" if value is None else str(value).strip()
        if value:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{name} is {value!r}, not an IP address (the address kato knows the cache node by)") from None
            return value
    raise ValueError("no cache node: set stackato_cache_ip, or stackato_node_ip on the core node (the default cache node)")


class FilterModule:
    """The stackato.cluster rules."""

    def filters(self):
        return {
            "preflight_node_findings": preflight_node_findings,
            "preflight_cluster_findings": preflight_cluster_findings,
            "preflight_summary": preflight_summary,
            "preflight_upstream_batches": preflight_upstream_batches,
            "dea_capacity_findings": dea_capacity_findings,
            "dea_nodes": dea_nodes,
            "instance_counts": instance_counts,
            "instance_shortfall": instance_shortfall,
            "version_compare": version_compare,
            "cache_ip": cache_ip,
        }
