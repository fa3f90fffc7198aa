# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The rules on the operator's input that need no node: pure functions, no I/O.

The inputs role runs them on the controller before any node is contacted, so that a typo fails in
seconds and before any change. Each rule returns messages that name the variable, the host(s)
whose value it is, the value and the fix. What needs the nodes (the target older than what a node
runs, the inventory against ``kato node list``) stays in the preflight rules (``_rules.py``).

The input, :func:`input_findings`'s ``facts``::

    {"groups": {group: [host, ...]},
     "hosts": {host: {"ip": stackato_node_ip, "vars": {variable: value (None or absent: unset)}}}}

``vars`` holds, per host, the variables of :data:`CHECKED_VARIABLES` the inventory or ``-e``
sets; an unset one takes its role default, which is valid.
"""

from __future__ import annotations

import collections
import ipaddress
import math
from collections.abc import Mapping
from urllib.parse import urlsplit

from ansible_collections.stackato.cluster.plugins.module_utils._kato import StackatoVersion

# Stackato 3.x releases this collection knows (the preflight role's preflight_known_releases).
KNOWN_RELEASES = ("3.4.1", "3.4.2", "3.6.0", "3.6.1", "3.6.2")

# Thresholds, timeouts and retries: variable -> (kind, minimum, unit, role default).
NUMBERS = collections.OrderedDict((
    ("preflight_min_free_disk_gb", ("number", 0, "GB", 7)),
    ("preflight_min_free_disk_cache_gb", ("number", 0, "GB", 10)),
    ("preflight_min_free_memory_mb", ("number", 0, "MB", 512)),
    ("preflight_min_free_memory_core_mb", ("number", 0, "MB", 1024)),
    ("preflight_upstream_timeout", ("int", 1, "seconds", 5)),
    ("preflight_run_lock_timeout", ("int", 0, "seconds", 1800)),
    ("preflight_min_routers", ("int", 0, "routers", 2)),
    ("preflight_min_deas", ("int", 0, "DEAs", 2)),
    ("preflight_min_app_instances", ("int", 0, "instances", 2)),
    ("node_upgrade_ready_timeout", ("int", 1, "seconds", 600)),
    ("node_upgrade_retries", ("int", 0, "retries", 3)),
    ("node_upgrade_retry_delay", ("int", 0, "seconds", 10)),
    ("node_upgrade_timeout", ("int", 1, "seconds", 7200)),
    ("node_upgrade_poll_interval", ("int", 1, "seconds", 2)),
    ("prefetch_retries", ("int", 0, "retries", 3)),
    ("prefetch_retry_delay", ("int", 0, "seconds", 10)),
    ("prefetch_timeout", ("int", 1, "seconds", 7200)),
    ("post_upgrade_ready_timeout", ("int", 1, "seconds", 600)),
    ("post_upgrade_restart_throttle", ("int", 0, "nodes", 0)),
))
PROXIES = ("stackato_http_proxy", "stackato_https_proxy", "upgrade_proxy_http_proxy", "upgrade_proxy_https_proxy")
CHECKED_VARIABLES = ("stackato_target_version", "preflight_known_releases", "stackato_cache_ip") + PROXIES + tuple(NUMBERS)
# Read with them, checked by no rule: the upgrade_cache role's own setting, which cache_node defers to.
READ_VARIABLES = CHECKED_VARIABLES + ("upgrade_cache_ip",)

# The groups the upgrade plays. The core node is only in [core]; a data-services node holds no
# controller, router or DEA role (its play runs in parallel, the others one node at a time).
UPGRADE_GROUPS = ("core", "controller", "router", "dea", "data_services")
_CONFLICTS = (("core", ("controller", "router", "dea", "data_services")),
              ("data_services", ("controller", "router", "dea")))


def _mapping(value):
    return value if isinstance(value, Mapping) else {}


def _hosts_text(hosts, every):
    hosts = list(hosts)
    if every and len(hosts) == len(every) and len(hosts) > 1:
        return "every host"
    return ", ".join(hosts)


def _values(hosts, name):
    """{value (as repr-able key): [hosts]} for the hosts that set ``name``, in inventory order."""
    found = collections.OrderedDict()
    for host, facts in hosts.items():
        variables = _mapping(_mapping(facts).get("vars"))
        if name in variables and variables[name] is not None:
            value = variables[name]
            key = repr(value)
            found.setdefault(key, (value, []))[1].append(host)
    return list(found.values())


def mask_url(url):
    """A proxy URL fit to print: the user and password replaced by ``***``."""
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return f"{scheme}{sep}{netloc}{slash}{path}"


def proxy_problem(url):
    """Why ``url`` is not a proxy URL ``http(s)://[user:password@]host:port[/]``, or None."""
    text = str(url).strip()
    if not text:
        return None
    if any(c.isspace() for c in text):
        return "it contains white space"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        return f"its scheme is {parts.scheme or 'missing'!r}, not http or https"
    if not parts.hostname:
        return "it names no host"
    try:
        port = parts.port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if port is None:
        return "it names no port (e.g. :3128 or :8080)"
    if port == 0:
        return "its port is not a number from 1 to 65535"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "it has a path after the host and port"
    return None


def proxy_setting_problems(settings):
    """One message per proxy setting that is not a proxy URL: ``settings`` maps a name to its value.

    The values are masked (``mask_url``), so a message can be printed without hiding the task.
    """
    messages = []
    for name, value in _mapping(settings).items():
        problem = proxy_problem(value if value is not None else "")
        if problem:
            messages.append(_proxy_message(f"{name} is {mask_url(value)!r}", problem))
    return messages


def _proxy_message(what, problem):
    """The message of a proxy setting that is not a proxy URL: ``what`` names it and its masked value."""
    return (f"{what}: {problem}. Fix: set it to a URL like http://proxy.example.com:3128 (http or https, the host, "
            f"the port; user:password@ before the host if the proxy needs it), or to \"\" for no proxy.")


def proxy_environment(http_proxy="", https_proxy="", no_proxy="", node_addresses=()):
    """The environment of the upgrade's downloads: ``http_proxy``, ``https_proxy`` and ``no_proxy``.

    ``https_proxy`` falls back to ``http_proxy``; ``no_proxy`` is the given list (comma separated)
    followed by ``node_addresses`` (the cluster's own nodes, never reached through the proxy), each
    once, in order. Empty when no proxy is set: no variable is exported then.
    """
    http_proxy = str(http_proxy or "").strip()
    https_proxy = str(https_proxy or "").strip() or http_proxy
    env = {}
    if http_proxy:
        env["http_proxy"] = http_proxy
    if https_proxy:
        env["https_proxy"] = https_proxy
    if not env:
        return env
    hosts = [h.strip() for h in str(no_proxy or "").split(",")]
    hosts += [str(a).strip() for a in node_addresses or () if a is not None]
    unique = list(dict.fromkeys(h for h in hosts if h))
    if unique:
        env["no_proxy"] = ",".join(unique)
    return env


def number_problem(value, kind, minimum):
    """Why ``value`` is no ``kind`` (``int`` or ``number``) of at least ``minimum``, or None."""
    if isinstance(value, bool):
        return "a boolean, not a number"
    if isinstance(value, (int, float)):
        number = value
    else:
        text = str(value).strip()
        try:
            number = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return "not a number"
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        return "not a number"
    if kind == "int" and float(number) != int(number):
        return "not a whole number"
    if number < minimum:
        return "negative" if number < 0 else f"below {minimum}"
    return None


def rule_target_version(facts):
    hosts = _mapping(facts.get("hosts"))
    messages = []
    targets = _values(hosts, "stackato_target_version")
    known_sets = _values(hosts, "preflight_known_releases")
    known = [str(r) for r in (known_sets[0][0] if known_sets else KNOWN_RELEASES)]
    if not targets:
        return ["stackato_target_version is not set. Fix: set it in group_vars/stackato to the Stackato 3.x release to "
                f"upgrade to, one of {', '.join(known)} (e.g. stackato_target_version: \"{known[-1]}\")."]
    for value, where in targets:
        text = str(value).strip()
        try:
            version = StackatoVersion(text) if text else None
        except ValueError:
            version = None
        if version is not None and any(_same(version, release) for release in known):
            continue
        what = "empty" if not text else ("not a version" if version is None else "not a Stackato 3.x release this collection knows")
        messages.append(f"stackato_target_version is {text!r} on {_hosts_text(where, hosts)}: {what} (known: {', '.join(known)}). "
                        f"Fix: set stackato_target_version to one of them, e.g. -e stackato_target_version={known[-1]}.")
    return messages


def _same(version, release):
    try:
        return version == StackatoVersion(release)
    except ValueError:
        return False


def rule_cache_ip(facts):
    hosts = _mapping(facts.get("hosts"))
    groups = _mapping(facts.get("groups"))
    members = list(groups.get("stackato", list(hosts)))
    node_ips = collections.OrderedDict()
    for host in members:
        ip = str(_mapping(hosts.get(host)).get("ip") or "").strip()
        if ip:
            node_ips.setdefault(ip, host)
    shown = ", ".join(f"{host}={ip}" for ip, host in node_ips.items()) or "none"
    messages = []
    for value, where in _values(hosts, "stackato_cache_ip"):
        text = str(value).strip()
        if not text:
            continue
        try:
            ipaddress.ip_address(text)
        except ValueError:
            messages.append(f"stackato_cache_ip is {text!r} on {_hosts_text(where, hosts)}: not an IP address. Fix: set it "
                            f"to the stackato_node_ip of the cache node ({shown}), or leave it unset for the core node.")
            continue
        if text not in node_ips:
            messages.append(f"stackato_cache_ip is {text} on {_hosts_text(where, hosts)}, which is the stackato_node_ip of no "
                            f"node of the inventory, so it is not a node of the cluster. Fix: set it to the address of one of "
                            f"the nodes ({shown}), or leave it unset for the core node.")
    return messages


def rule_proxies(facts):
    hosts = _mapping(facts.get("hosts"))
    messages = []
    for name in PROXIES:
        for value, where in _values(hosts, name):
            problem = proxy_problem(value)
            if problem:
                messages.append(_proxy_message(f"{name} is {mask_url(value)!r} on {_hosts_text(where, hosts)}", problem))
    return messages


def rule_numbers(facts):
    hosts = _mapping(facts.get("hosts"))
    messages = []
    for name, (kind, minimum, unit, default) in NUMBERS.items():
        for value, where in _values(hosts, name):
            problem = number_problem(value, kind, minimum)
            if problem:
                wanted = "a whole number" if kind == "int" else "a number"
                messages.append(f"{name} is {value!r} on {_hosts_text(where, hosts)}: {problem}. Fix: set it to {wanted} of "
                                f"{unit} of at least {minimum} (default {default}), or remove it to use the default.")
    return messages


def rule_groups(facts):
    hosts = _mapping(facts.get("hosts"))
    groups = {str(g): [str(h) for h in members or []] for g, members in _mapping(facts.get("groups")).items()}
    members = groups.get("stackato", list(hosts))
    messages = []
    cores = groups.get("core", [])
    if "core" not in groups:
        messages.append("the inventory has no [core] group, so the upgrade has no core node to read kato from and to "
                        "upgrade last. Fix: add a [core] group holding the one node with the primary role "
                        "(kato node list), and make it a child of [stackato].")
    elif not cores:
        messages.append("the inventory's [core] group is empty. Fix: put the one node with the primary role "
                        "(kato node list) in [core].")
    elif len(cores) > 1:
        messages.append(f"the inventory's [core] group holds {len(cores)} hosts ({', '.join(cores)}): a cluster has exactly "
                        f"one core node. Fix: keep only the node with the primary role (kato node list) in [core] and move "
                        f"the others to the group of their roles.")
    if not groups.get("dea") and len(members) > 1:
        messages.append(f"the inventory's [dea] group is {'missing' if 'dea' not in groups else 'empty'}, but the cluster has "
                        f"{len(members)} nodes, so no DEA would be retired and upgraded in turn. Fix: list the nodes with the "
                        f"dea role (kato node list) under [dea].")
    for host in members:
        mine = [g for g in UPGRADE_GROUPS if host in groups.get(g, [])]
        for group, others in _CONFLICTS:
            clash = [g for g in others if g in mine]
            if group in mine and clash:
                where = "only in [core]" if group == "core" else "in the one group of its roles"
                messages.append(f"{host} is in the conflicting groups [{group}] and [{'], ['.join(clash)}]: the core node is "
                                f"upgraded alone and last, a data-services node holds no controller, router or DEA role. "
                                f"Fix: keep {host} {where} (kato node list shows its roles).")
                break
    return messages


RULES = collections.OrderedDict((
    ("groups", rule_groups),
    ("target_version", rule_target_version),
    ("cache_ip", rule_cache_ip),
    ("proxy", rule_proxies),
    ("numbers", rule_numbers),
))


def facts_from_hostvars(groups, hostvars, hosts):
    """The rules' input from Ansible's ``groups`` and ``hostvars``, reading only :data:`READ_VARIABLES`."""
    result = {}
    for host in hosts or []:
        variables = hostvars[host]
        result[str(host)] = {
            "ip": variables["stackato_node_ip"] if "stackato_node_ip" in variables else "",
            "vars": {name: variables[name] for name in READ_VARIABLES if name in variables},
        }
    return {"groups": {str(g): list(members or []) for g, members in _mapping(groups).items()}, "hosts": result}


def cache_node(facts):
    """The inventory name of the cache node, or "" when the input does not name exactly one host.

    The cache node is the host whose ``stackato_node_ip`` is ``stackato_cache_ip`` (set alike on
    every host), else the core node (the default of ``stackato_cache_ip``). "" when the hosts set
    ``stackato_cache_ip`` differently, some set it and some do not, or no single host has the address,
    or the inventory sets the upgrade_cache role's ``upgrade_cache_ip`` itself: a caller then decides
    on every host, as the upgrade_cache role does.
    """
    facts = _mapping(facts)
    if "hostvars" in facts:
        facts = facts_from_hostvars(facts.get("groups"), facts["hostvars"], facts.get("hosts"))
    hosts = _mapping(facts.get("hosts"))
    if _values(hosts, "upgrade_cache_ip"):
        return ""
    values = _values(hosts, "stackato_cache_ip")
    if len(values) > 1 or (values and len(values[0][1]) != len(hosts)):
        return ""
    ip = str(values[0][0]).strip() if values else ""
    if not ip:
        core = [str(h) for h in _mapping(facts.get("groups")).get("core") or []]
        if len(core) != 1 or core[0] not in hosts or not str(_mapping(hosts[core[0]]).get("ip") or ""):
            return ""
        ip = str(hosts[core[0]]["ip"]).strip()
    matches = [str(host) for host, node in hosts.items() if str(_mapping(node).get("ip") or "").strip() == ip]
    return matches[0] if len(matches) == 1 else ""


def input_findings(facts):
    """Every input rule on the inventory's groups and the hosts' variables: a list of messages (empty: valid).

    ``facts`` is the form of the module docstring, or ``{"groups", "hostvars", "hosts": [names]}``
    as a play on the controller has them (see :func:`facts_from_hostvars`)."""
    facts = _mapping(facts)
    if "hostvars" in facts:
        facts = facts_from_hostvars(facts.get("groups"), facts["hostvars"], facts.get("hosts"))
    messages = []
    for rule in RULES.values():
        messages.extend(rule(facts))
    return messages
