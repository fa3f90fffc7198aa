# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The one home of the upgrade's safety rules: pure functions, no I/O.

Roles reach them through the filters of ``plugins/filter/rules.py``; modules import them. Every
rule returns findings, dictionaries ``{"check", "level", "node", "msg"}`` (level ``fail``,
``warn`` or ``info``) whose message names the node, the figure, the threshold and the fix.

Each check name maps to exactly one rule (:data:`NODE_RULES`, :data:`CLUSTER_RULES`), and a
check named in ``skip_checks`` is not evaluated at all. A safety gate that cannot be evaluated
from documented sources fails closed: its finding names ``preflight_accept_risks`` and, when
the risk is accepted there, is a warning instead (:func:`unevaluated`).

Inputs are plain data: a node's facts (what the preflight role registered on it), the
cluster's facts (every host's facts, the inventory groups, the apps read from the Cloud
Controller API) and the settings (the role's thresholds, see :data:`DEFAULT_SETTINGS`).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from urllib.parse import urlsplit

from ansible_collections.stackato.cluster.plugins.module_utils._kato import StackatoVersion, compare_versions

# Every check, by the name preflight_skip_checks takes.
NODE_CHECKS = ("access", "disk", "memory", "upstream", "kato", "version", "offline_cache", "patches")
CLUSTER_CHECKS = ("inventory", "version_mix", "dea_capacity", "zero_downtime", "maintenance_mode")
CHECKS = NODE_CHECKS + CLUSTER_CHECKS
# Safety gates that fail closed when their inputs are unknown; preflight_accept_risks names them.
RISKS = ("dea_capacity", "zero_downtime", "version", "offline_cache")
# Checks that matter only to the upgrade itself: warnings on a run that only prefetches.
UPGRADE_ONLY_CHECKS = ("access", "dea_capacity", "zero_downtime", "offline_cache")
LEVELS = ("fail", "warn", "info")

# The role defaults of roles/preflight, without the preflight_ prefix.
DEFAULT_SETTINGS = {
    "skip_checks": [],
    "accept_risks": [],
    "warnings_fatal": False,
    "prefetch_only": False,
    "target_version": "",
    "known_releases": ["3.4.1", "3.4.2", "3.6.0", "3.6.1", "3.6.2"],
    "min_source_version": "3.4.1",
    "offline": False,
    "stackato_path": "/s",
    "min_free_disk_gb": 7,
    "min_free_disk_cache_gb": 10,
    "min_free_memory_mb": 512,
    "min_free_memory_core_mb": 1024,
    "zero_downtime_required": False,
    "min_routers": 2,
    "min_deas": 2,
    "min_app_instances": 2,
}
_INT_SETTINGS = ("min_routers", "min_deas", "min_app_instances")
_NUMBER_SETTINGS = ("min_free_disk_gb", "min_free_disk_cache_gb", "min_free_memory_mb", "min_free_memory_core_mb")
_BOOL_SETTINGS = ("warnings_fatal", "prefetch_only", "offline", "zero_downtime_required")
_LIST_SETTINGS = ("skip_checks", "accept_risks", "known_releases")

# Instance states that hold memory on their DEA (the Cloud Controller's stats).
OCCUPYING_STATES = ("RUNNING", "STARTING")

# The inventory groups the upgrade playbook upgrades, and the kato roles a host of each needs
# (any one of them). A data-services node is one with a role none of the others has.
UPGRADE_GROUPS = ("core", "controller", "router", "dea", "data_services")
_GROUP_ROLES = {"core": ("primary",), "controller": ("controller",), "router": ("router",), "dea": ("dea",)}
_NOT_DATA_SERVICES = frozenset(("base", "mdns", "primary", "controller", "router", "dea"))

_BYTES_PER_GB = 1073741824
_BYTES_PER_MB = 1048576

_RISK_CONSEQUENCES = {
    "dea_capacity": "stop inside the maintenance window when kato node retire refuses a DEA",
    "zero_downtime": "take apps or web traffic down while nodes are upgraded",
    "version": "take a node along an unsupported upgrade path",
    "offline_cache": "stop inside the maintenance window for want of the release in the cache",
}


# ---- small helpers -----------------------------------------------------------------------

def _mapping(value):
    return value if isinstance(value, Mapping) else {}


def _result(value):
    """A registered result, or {} when it is missing or its task was skipped."""
    value = _mapping(value)
    return {} if value.get("skipped") else value


def _as_bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1", "y", "t")
    return bool(value)


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    return list(value)


def _num(value):
    """7.0 -> '7', 7.5 -> '7.5'."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _version(text):
    """A StackatoVersion, or None when text is empty or not a version."""
    try:
        return StackatoVersion(str(text)) if text not in (None, "") else None
    except ValueError:
        return None


def node_label(host, ip=None):
    """How messages name a node: ``dea1 (127.0.0.21)``, or the one name that is known."""
    host, ip = str(host or ""), str(ip or "")
    if host and ip and host != ip:
        return f"{host} ({ip})"
    return host or ip or "?"


def finding(check, level, node, msg, **extra):
    if check not in CHECKS:
        raise ValueError(f"unknown check {check!r}")
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    result = {"check": check, "level": level, "node": str(node), "msg": msg}
    result.update(extra)
    return result


def unevaluated(check, node, label, what, fix, settings):
    """The finding of a safety gate that cannot be evaluated: fail, or warn once the risk is accepted."""
    consequence = _RISK_CONSEQUENCES[check]
    if check in settings["accept_risks"]:
        return finding(check, "warn", node,
                       f"{label}: {what}; this gate is not evaluated because preflight_accept_risks names {check} "
                       f"(the upgrade could {consequence}). Fix: {fix}.",
                       risk=check, accepted=True)
    return finding(check, "fail", node,
                   f"{label}: {what}, so this safety gate cannot be evaluated and the upgrade could {consequence}. "
                   f"Fix: {fix}; or accept the risk with preflight_accept_risks: [{check}].",
                   risk=check, accepted=False)


def settings_from(values=None):
    """The settings with defaults filled in and types checked; raises ValueError on unknown names."""
    settings = dict(DEFAULT_SETTINGS)
    for key, value in _mapping(values).items():
        if key not in DEFAULT_SETTINGS:
            raise ValueError(f"unknown setting {key!r} (known: {', '.join(sorted(DEFAULT_SETTINGS))})")
        if value is not None:
            settings[key] = value
    for key in _LIST_SETTINGS:
        settings[key] = [str(item) for item in _as_list(settings[key])]
    for key in _BOOL_SETTINGS:
        settings[key] = _as_bool(settings[key])
    for key in _INT_SETTINGS:
        settings[key] = int(settings[key])
    for key in _NUMBER_SETTINGS:
        settings[key] = float(settings[key])
    for key in ("target_version", "min_source_version", "stackato_path"):
        settings[key] = str(settings[key] or "").strip()
    unknown = sorted(set(settings["skip_checks"]) - set(CHECKS))
    if unknown:
        raise ValueError(f"skip_checks names unknown checks {', '.join(unknown)} (known: {', '.join(CHECKS)})")
    unknown = sorted(set(settings["accept_risks"]) - set(RISKS))
    if unknown:
        raise ValueError(f"accept_risks names unknown risks {', '.join(unknown)} (known: {', '.join(RISKS)})")
    return settings


# ---- instances and DEA capacity ----------------------------------------------------------

def _mb(instance):
    return int(instance.get("memory_mb") or 0)


def _occupies(instance):
    return str(instance.get("state") or "RUNNING").upper() in OCCUPYING_STATES


def count_instances(instances, states=OCCUPYING_STATES, key="app"):
    """How many instances of each app are in one of ``states``: ``{app: int}``."""
    wanted = {str(state).upper() for state in _as_list(states)}
    counts = collections.OrderedDict()
    for instance in instances or []:
        if str(instance.get("state") or "").upper() in wanted:
            name = instance.get(key)
            counts[name] = counts.get(name, 0) + 1
    return dict(counts)


def instance_shortfall(before, after, states=OCCUPYING_STATES):
    """The apps that run fewer instances in ``after`` than in ``before``, as ``app: before -> now`` lines.

    ``before`` and ``after`` are instance lists (the Cloud Controller's, as stackato_apps_info
    returns them); an instance counts while it is in one of ``states``."""
    was, now = count_instances(before, states), count_instances(after, states)
    return [f"{app}: {count} -> {now.get(app, 0)}" for app, count in sorted(was.items(), key=lambda item: str(item[0]))
            if now.get(app, 0) < count]


def place_retirement(deas, instances, retiring, unavailable=()):
    """Where the instances of DEA ``retiring`` go when it is retired.

    The placement kato's DEA retirement applies (the simulator's ``op_retire``): the retiring
    DEA's instances biggest first, each onto a DEA (not ``retiring``, not ``unavailable``) with
    room for it, preferring the DEA with the fewest instances of the same app, then the most free
    memory, then the lowest address. An instance that fits nowhere is unplaced; it takes no room
    and is left out of the instances after the moves (the retired DEA comes back empty).

    Returns ``{"placed": [{"app", "memory_mb", "from", "to"}], "unplaced": [{"app", "memory_mb",
    "from", "largest_free_mb", "largest_free_dea"}], "instances": <instances after the moves>}``.
    """
    unavailable = set(_as_list(unavailable))
    current = [dict(instance) for instance in instances or []]
    targets = [ip for ip in deas if ip != retiring and ip not in unavailable]
    left = {ip: int(_mapping(deas[ip]).get("memory_mb") or 0) for ip in targets}
    of_app = {ip: collections.Counter() for ip in targets}
    for instance in current:
        host = instance.get("host")
        if host in left and _occupies(instance):
            left[host] -= _mb(instance)
            of_app[host][instance.get("app")] += 1
    moving = sorted((i for i in current if i.get("host") == retiring and _occupies(i)),
                    key=lambda i: (-_mb(i), str(i.get("app")), int(i.get("index") or 0)))
    placed, unplaced, dropped = [], [], []
    for instance in moving:
        app, need = instance.get("app"), _mb(instance)
        fits = [ip for ip in targets if left[ip] >= need]
        if not fits:
            largest = sorted(targets, key=lambda ip: (-left[ip], ip))[0] if targets else None
            unplaced.append({"app": app, "memory_mb": need, "from": retiring,
                             "largest_free_mb": max(0, left[largest]) if largest else 0,
                             "largest_free_dea": largest})
            dropped.append(instance)
            continue
        fits.sort(key=lambda ip, app=app: (of_app[ip][app], -left[ip], ip))
        to = fits[0]
        left[to] -= need
        of_app[to][app] += 1
        instance["host"] = to
        placed.append({"app": app, "memory_mb": need, "from": retiring, "to": to})
    return {"placed": placed, "unplaced": unplaced,
            "instances": [i for i in current if not any(i is d for d in dropped)]}


def check_dea_capacity(deas, instances, order, node_names=None, unavailable=()):
    """Retire each DEA of ``order`` in turn, as the upgrade does, and report those that cannot be.

    Instances move as :func:`place_retirement` places them; each retired DEA comes back empty
    (upgraded) before the next. One ``dea_capacity`` finding per DEA an instance of which cannot
    be placed, naming the DEA, the instance (app, MB), the largest free slot and the fix. A
    cluster with one DEA retires none (kato upgrades it in place): an ``info`` finding.
    """
    names = _mapping(node_names)
    deas = collections.OrderedDict((ip, _mapping(deas[ip])) for ip in deas)
    order = [ip for ip in _as_list(order) if ip in deas]
    if len(deas) < 2:
        only = next(iter(deas), None)
        if only is None:
            return []
        return [finding("dea_capacity", "info", names.get(only, only),
                        f"{node_label(names.get(only), only)}: the only DEA, so it is upgraded in place without being retired "
                        f"and its app instances stop meanwhile (zero downtime needs 2 DEAs). Fix: nothing for the upgrade; "
                        f"add a DEA for zero downtime.")]
    findings = []
    current = list(instances or [])
    unavailable = set(_as_list(unavailable))
    for position, ip in enumerate(order, 1):
        placement = place_retirement(deas, current, ip, unavailable)
        current = placement["instances"]
        unavailable.discard(ip)   # upgraded: it comes back, empty and running
        if not placement["unplaced"]:
            continue
        first = placement["unplaced"][0]
        more = len(placement["unplaced"]) - 1
        largest = first["largest_free_dea"]
        slot = (f"the largest free slot is {first['largest_free_mb']} MB on {node_label(names.get(largest), largest)}"
                if largest else "no other DEA is available to take it")
        label = node_label(names.get(ip), ip)
        findings.append(finding(
            "dea_capacity", "fail", names.get(ip, ip),
            f"{label}: retiring this DEA for its upgrade (DEA {position} of {len(order)} in upgrade order) cannot place "
            f"the instance of app '{first['app']}' ({first['memory_mb']} MB; it needs {first['memory_mb']} MB free on one DEA)"
            f"{f' nor {more} more instance(s)' if more else ''}: {slot}, so kato node retire would refuse and stop the upgrade "
            f"inside the maintenance window. Fix: add a DEA with at least {first['memory_mb']} MB free (the license may be "
            f"exceeded during the upgrade), or scale app '{first['app']}' down (fewer instances, or less memory per "
            f"instance), then re-run.",
            dea=ip, app=first["app"], memory_mb=first["memory_mb"],
            largest_free_mb=first["largest_free_mb"], largest_free_dea=largest))
    return findings


def dea_nodes(nodes, memory_mb=None, overrides=None):
    """``{ip: {"memory_mb": int or None}}`` for every node of ``nodes`` ({ip: roles or {"roles"}}) with the dea role.

    A DEA's memory is its entry of ``overrides`` ({ip: MB}, the inventory's stackato_dea_memory_mb),
    else ``memory_mb`` (the cluster's ``dea_ng resources/memory_mb``), else None (unknown).
    """
    overrides = _mapping(overrides)
    deas = collections.OrderedDict()
    for ip, roles in _roles_by_ip(nodes).items():
        if "dea" in roles:
            value = overrides.get(ip)
            if value in (None, ""):
                value = memory_mb
            deas[ip] = {"memory_mb": int(value) if value not in (None, "") else None}
    return dict(deas)


def dea_capacity_gate(deas, instances, order, node_names=None, unavailable=(), settings=None, why_unknown=None):
    """:func:`check_dea_capacity` that fails closed: unknown DEA memory or instances is a finding, not a pass.

    ``instances`` None means unknown (``why_unknown`` says why). Instances on an address that is
    not a known DEA make the placement unknowable too.
    """
    settings = settings_from(settings)
    names = _mapping(node_names)
    deas = _mapping(deas)
    if len(deas) < 2:
        return check_dea_capacity(deas, [], order, names)
    problems = []
    if instances is None:
        problems.append(f"the app instances are unknown ({why_unknown or 'not read'})")
    unknown_memory = [ip for ip in deas if _mapping(deas[ip]).get("memory_mb") in (None, "")]
    if unknown_memory:
        problems.append(
            f"the memory of DEA(s) {', '.join(node_label(names.get(ip), ip) for ip in unknown_memory)} is unknown "
            f"(kato config get dea_ng resources/memory_mb gave nothing on the core and no stackato_dea_memory_mb is set)")
    if instances is not None:
        strays = sorted({str(i.get("host")) for i in instances if _occupies(i) and i.get("host") and i.get("host") not in deas})
        if strays:
            problems.append(f"app instances run on {', '.join(strays)}, which kato node list does not give the dea role")
    if problems:
        fix = ("set stackato_api_url and stackato_api_password (the Cloud Controller API on the core, see "
               "stackato_api_ca_path) and, for a DEA sized differently, stackato_dea_memory_mb; check that kato node list "
               "and kato config get dea_ng resources/memory_mb work on the core")
        return [unevaluated("dea_capacity", "cluster", "cluster", "; ".join(problems), fix, settings)]
    return check_dea_capacity(deas, instances, order, names, unavailable)


# ---- node rules: fn(node_facts, settings) -> findings -------------------------------------

def _node(facts):
    return facts.get("host") or facts.get("ip") or "?"


def _label(facts):
    return node_label(facts.get("host"), facts.get("ip"))


def _kato(facts):
    return _result(facts.get("kato"))


def rule_access(facts, settings):
    """Ansible reaches the node by key and becomes root without a password (or has it)."""
    label, node = _label(facts), _node(facts)
    if facts.get("reached") is False:
        return [finding("access", "fail", node,
                        f"{label}: unreachable or failed while being checked. Fix: make SSH by key work for "
                        f"{facts.get('user') or 'stackato'}@{facts.get('address') or node} (port {facts.get('port') or 22}).")]
    findings = []
    sudo_rc = facts.get("sudo_rc")
    if sudo_rc not in (None, "", 0, "0") and str(sudo_rc) != "1":
        # sudo -n exits 1 when it needs a password; anything else is sudo failing to run at all
        findings.append(finding(
            "access", "fail", node,
            f"{label}: sudo -n true failed (rc {sudo_rc}: {facts.get('sudo_error') or 'no message'}), and the upgrade needs "
            f"sudo for the stackato user. Fix: install sudo and give the stackato user passwordless sudo "
            f"(echo \"stackato ALL = (root) NOPASSWD: ALL\" | sudo tee /etc/sudoers.d/nopasswd)."))
    elif sudo_rc not in (None, "", 0, "0"):
        become_password = _as_bool(facts.get("become_password"))
        findings.append(finding(
            "access", "warn" if become_password else "fail", node,
            f"{label}: sudo asks the stackato user for a password (sudo -n true: rc {sudo_rc})"
            f"{'; a become password is supplied' if become_password else ', and no become password is supplied'}."
            f" Fix: passwordless sudo for the upgrade (echo \"stackato ALL = (root) NOPASSWD: ALL\" | sudo tee"
            f" /etc/sudoers.d/nopasswd; sudo chmod 0440 /etc/sudoers.d/nopasswd), or supply the become password"
            f" (--ask-become-pass, or ansible_become_password from a vault); with it, stackato_temporary_sudo: true grants"
            f" passwordless sudo for the upgrade only (role temporary_sudo)."))
    if _as_bool(facts.get("ssh_password")):
        findings.append(finding("access", "warn", node,
                                f"{label}: Ansible logs in with an SSH password. Fix: use an SSH key for the stackato user, "
                                f"as unattended runs (AWX, CI) need."))
    return findings


def _measured(facts, key):
    resources = _result(facts.get("resources"))
    return resources.get(key), resources.get("msg")


def rule_disk(facts, settings):
    """Free disk on each filesystem the upgrade writes to; paths sharing a mount count once, at the higher need."""
    label, node = _label(facts), _node(facts)
    filesystems, msg = _measured(facts, "filesystems")
    if not filesystems:
        return [finding("disk", "fail", node,
                        f"{label}: free disk was not measured ({msg or 'no answer from node_resources_info'}), needs "
                        f"{_num(settings['min_free_disk_gb'])} GB (preflight_min_free_disk_gb). Fix: check that Python 3 "
                        f"runs on the node and {settings['stackato_path']} exists, then re-run.")]
    cache_dir = str(facts.get("cache_dir") or "")
    is_cache_node = _as_bool(facts.get("is_cache_node"))
    mounts = collections.OrderedDict()
    for fs in filesystems:
        fs = _mapping(fs)
        path = str(fs.get("path"))
        for_cache = is_cache_node and cache_dir and path == cache_dir
        need = settings["min_free_disk_cache_gb"] if for_cache else settings["min_free_disk_gb"]
        which = "preflight_min_free_disk_cache_gb, cache node" if for_cache else "preflight_min_free_disk_gb"
        mount = fs.get("mount") or fs.get("measured_path") or path
        seen = mounts.setdefault(mount, {"paths": [], "need": -1.0, "which": which, "free": int(fs.get("free_bytes") or 0)})
        seen["paths"].append(path)
        if need > seen["need"]:
            seen["need"], seen["which"] = need, which
    findings = []
    for mount, seen in mounts.items():
        free_gb = seen["free"] / _BYTES_PER_GB
        if free_gb < seen["need"]:
            findings.append(finding(
                "disk", "fail", node,
                f"{label}: {free_gb:.1f} GB free on {' and '.join(seen['paths'])} (filesystem {mount}), needs "
                f"{seen['need']:.1f} GB ({seen['which']}). Fix: free space there, or move the upgrade cache to an extra "
                f"filesystem (upgrade_cache_dir), or lower the threshold if you know better."))
    return findings


def rule_memory(facts, settings):
    """Free memory: the core and cache nodes need more than the others."""
    label, node = _label(facts), _node(facts)
    core_or_cache = _as_bool(facts.get("is_core")) or _as_bool(facts.get("is_cache_node"))
    need = settings["min_free_memory_core_mb"] if core_or_cache else settings["min_free_memory_mb"]
    which = "preflight_min_free_memory_core_mb, core/cache node" if core_or_cache else "preflight_min_free_memory_mb"
    memory, msg = _measured(facts, "memory")
    available = _mapping(memory).get("available_bytes")
    if available is None:
        return [finding("memory", "fail", node,
                        f"{label}: free memory was not measured ({msg or 'no answer from node_resources_info'}), needs "
                        f"{_num(need)} MB ({which}). Fix: check that Python 3 runs on the node, then re-run.")]
    free_mb = int(available) / _BYTES_PER_MB
    if free_mb >= need:
        return []
    return [finding("memory", "fail", node,
                    f"{label}: {free_mb:.0f} MB of memory available, needs {_num(need)} MB ({which}). Fix: stop roles during "
                    f"the upgrade with node_upgrade_stop_roles (kato stop), add memory, or lower the threshold.")]


def upstream_batches(endpoints, proxy_env=None):
    """The upstream endpoints grouped by the proxy they go through: ``[{"endpoints", "proxy"}]``.

    Port 80 goes through ``http_proxy``, every other port through ``https_proxy``; one batch when
    both are the same (or unset).
    """
    env = _mapping(proxy_env)
    endpoints = [str(e) for e in _as_list(endpoints)]
    http_proxy, https_proxy = str(env.get("http_proxy") or ""), str(env.get("https_proxy") or "")
    if http_proxy == https_proxy:
        return [{"endpoints": endpoints, "proxy": http_proxy}] if endpoints else []
    plain = [e for e in endpoints if e.rsplit(":", 1)[-1] == "80"]
    secure = [e for e in endpoints if e not in plain]
    return [batch for batch in ({"endpoints": secure, "proxy": https_proxy}, {"endpoints": plain, "proxy": http_proxy})
            if batch["endpoints"]]


def _via(proxy):
    if not proxy:
        return "directly (no proxy set)"
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    return f"through the proxy {parts.hostname}:{parts.port or 80}"


def rule_upstream(facts, settings):
    """Every upstream endpoint of the seed is reachable from the node (unless the upgrade is offline)."""
    if settings["offline"]:
        return []
    label, node = _label(facts), _node(facts)
    findings = []
    for batch in _as_list(facts.get("upstream")):
        batch = _mapping(batch)
        if batch.get("skipped"):
            continue
        item = _mapping(batch.get("item")) or batch
        endpoints = _as_list(item.get("endpoints"))
        via = _via(str(item.get("proxy") or ""))
        if "unreachable_endpoints" not in batch:
            findings.append(finding(
                "upstream", "fail", node,
                f"{label}: the {len(endpoints)} upstream endpoints to reach {via} could not be checked "
                f"({batch.get('msg') or 'no answer'}). Fix: correct stackato_http_proxy/stackato_https_proxy, "
                f"or prefetch and set stackato_offline."))
            continue
        unreachable = _as_list(batch.get("unreachable_endpoints"))
        if unreachable:
            findings.append(finding(
                "upstream", "fail", node,
                f"{label}: {len(unreachable)} of {len(endpoints)} upstream endpoints unreachable {via}: {', '.join(unreachable)}. "
                f"Fix: open them in the firewall or set stackato_http_proxy/stackato_https_proxy (and check the proxy is up); "
                f"or prefetch and set stackato_offline."))
    return findings


def rule_kato(facts, settings):
    """kato answers on the node (kato_info read its version)."""
    kato = _kato(facts)
    if kato.get("version"):
        return []
    if kato.get("cause") == "busy":
        return [finding("kato", "fail", _node(facts),
                        f"{_label(facts)}: an upgrade run is still going on there ({kato.get('msg')}). Fix: let it end "
                        f"(kato node upgrade --status on the node shows it), then run again: the run resumes where the "
                        f"nodes stand.")]
    return [finding("kato", "fail", _node(facts),
                    f"{_label(facts)}: kato cannot be read ({kato.get('msg') or 'no version in its answer'}). Fix: check "
                    f"/home/stackato/bin/kato runs as the stackato user; if it went missing in an earlier upgrade, recover it "
                    f"from the last \"Running with command:\" line of /s/logs/sentinel-cli.log.")]


def rule_version(facts, settings):
    """The target is a known release, no downgrade, a supported source, and offered by kato when that is known."""
    label, node = _label(facts), _node(facts)
    target = settings["target_version"]
    if not target:
        return [finding("version", "fail", node,
                        f"{label}: no target release. Fix: set stackato_target_version (e.g. \"3.6.2\") in group_vars/stackato.")]
    known = settings["known_releases"]
    if _version(target) is None or not any(_version(r) == _version(target) for r in known if _version(r)):
        return [finding("version", "fail", node,
                        f"{label}: target {target} is not a Stackato release kato can upgrade to ({', '.join(known)}). Fix: set "
                        f"stackato_target_version to one of them.")]
    kato = _kato(facts)
    current = kato.get("version")
    if _version(current) is None:
        reason = f"kato version gave {current!r}" if current else (kato.get("msg") or "kato did not answer")
        return [unevaluated("version", node, label, f"the installed version cannot be read ({reason})",
                            "make kato version work on the node (see the kato check)", settings)]
    minimum = settings["min_source_version"]
    if compare_versions(current, target) > 0:
        return [finding("version", "fail", node,
                        f"{label}: runs {current}, newer than the target {target}: downgrades are not supported. Fix: set "
                        f"stackato_target_version to {current} or later.")]
    if _version(minimum) and compare_versions(current, minimum) < 0:
        return [finding("version", "fail", node,
                        f"{label}: runs {current}: upgrading from before {minimum} is not a supported path (no Sentinel). Fix: "
                        f"upgrade that node to {minimum} by hand first (kato node upgrade on it), then re-run.")]
    available = _mapping(kato.get("upgrade")).get("available")
    if compare_versions(current, target) != 0 and _version(available) and compare_versions(target, available) > 0:
        return [finding("version", "fail", node,
                        f"{label}: target {target} is not available to kato (latest offered: {available}). Fix: check "
                        f"upgrade.stackato.com is reachable, or choose {available}.")]
    return []


def rule_offline_cache(facts, settings):
    """An offline upgrade needs the target release in the cache node's cache."""
    if not settings["offline"] or not _as_bool(facts.get("is_cache_node")):
        return []
    label, node = _label(facts), _node(facts)
    target = settings["target_version"]
    kato = _kato(facts)
    current = kato.get("version")
    if _version(current) and _version(target) and compare_versions(current, target) == 0:
        return []
    cached = _mapping(kato.get("upgrade")).get("cached")
    if cached is True:
        return []
    fix = "run the playbook with --tags prefetch first, while upstream is reachable"
    if cached is False:
        return [finding("offline_cache", "fail", node,
                        f"{label}: the upgrade is offline (stackato_offline) but the cache node does not hold {target or 'the target'} "
                        f"yet. Fix: {fix}.")]
    return [unevaluated("offline_cache", node, label,
                        f"the upgrade is offline (stackato_offline) and kato gives no upgrade status telling whether the cache "
                        f"node holds {target or 'the target'}", fix, settings)]


def rule_patches(facts, settings):
    """Patches not installed on the node: information only, the upgrade includes them."""
    kato = _kato(facts)
    patches = kato.get("patches")
    if patches is None:
        if not kato.get("version"):
            return []
        return [finding("patches", "info", _node(facts),
                        f"{_label(facts)}: the patch status could not be read; nothing to do: kato node upgrade includes all "
                        f"interim patches.")]
    pending = [_mapping(p) for p in _as_list(patches) if _mapping(p).get("pending")]
    if not pending:
        return []
    names = ", ".join(str(p.get("name") or p.get("id") or "?") for p in pending)
    return [finding("patches", "info", _node(facts),
                    f"{_label(facts)}: {len(pending)} patch(es) not installed ({names}); kato node upgrade includes all "
                    f"interim patches, nothing to do.")]


NODE_RULES = collections.OrderedDict((
    ("access", rule_access),
    ("disk", rule_disk),
    ("memory", rule_memory),
    ("upstream", rule_upstream),
    ("kato", rule_kato),
    ("version", rule_version),
    ("offline_cache", rule_offline_cache),
    ("patches", rule_patches),
))


def node_findings(facts, settings=None, checks=None):
    """Every node rule not skipped (and, when ``checks`` is given, only those) on one node's facts."""
    settings = settings_from(settings)
    facts = _mapping(facts)
    wanted = NODE_CHECKS if checks is None else [str(c) for c in _as_list(checks)]
    unknown = sorted(set(wanted) - set(NODE_CHECKS))
    if unknown:
        raise ValueError(f"no node check named {', '.join(unknown)} (node checks: {', '.join(NODE_CHECKS)})")
    findings = []
    for name, rule in NODE_RULES.items():
        if name in wanted and name not in settings["skip_checks"]:
            findings.extend(rule(facts, settings))
    return findings


# ---- cluster rules: fn(cluster_facts, settings) -> findings -------------------------------

def _roles_by_ip(nodes):
    """{ip: sorted roles} from {ip: [roles]} or {ip: {"roles": [...]}}."""
    roles = collections.OrderedDict()
    for ip, entry in _mapping(nodes).items():
        value = _mapping(entry).get("roles") if isinstance(entry, Mapping) else entry
        roles[str(ip)] = sorted(str(role) for role in _as_list(value))
    return dict(roles)


class Cluster:
    """The cluster's facts, read once: hosts, groups, the core, the roles kato gives every node."""

    def __init__(self, facts):
        facts = _mapping(facts)
        self.groups = {str(g): [str(h) for h in _as_list(hosts)] for g, hosts in _mapping(facts.get("groups")).items()}
        self.hosts = collections.OrderedDict((str(h), _mapping(v)) for h, v in _mapping(facts.get("hosts")).items())
        self.core = (self.groups.get("core") or [None])[0]
        self.core_kato = _result(self.hosts.get(self.core, {}).get("kato"))
        self.apps = _result(facts.get("apps"))
        self.ip_of = {h: str(v.get("ip") or "") for h, v in self.hosts.items()}
        self.host_of = {ip: h for h, ip in self.ip_of.items() if ip}
        self.listed_nodes = _roles_by_ip(self.core_kato.get("nodes"))
        if self.listed_nodes:
            self.roles = self.listed_nodes
        else:
            self.roles = {ip: sorted(str(r) for r in _as_list(_result(self.hosts[h].get("kato")).get("roles")))
                          for h, ip in self.ip_of.items()
                          if ip and _result(self.hosts[h].get("kato")).get("roles")}

    def label(self, ip):
        return node_label(self.host_of.get(ip), ip)

    def name(self, ip):
        return self.host_of.get(ip) or ip

    def in_play(self, host):
        return self.hosts[host].get("in_play", True) is not False

    def dea_order(self):
        """The playbook's DEA order: group dea minus core in inventory order (serial 1), then the core if it is a DEA."""
        core_hosts = set(self.groups.get("core", []))
        order = [self.ip_of.get(h) for h in self.groups.get("dea", []) if h not in core_hosts]
        order += [self.ip_of.get(h) for h in self.groups.get("core", [])]
        seen, result = set(), []
        for ip in order:
            if ip and ip not in seen and "dea" in self.roles.get(ip, []):
                seen.add(ip)
                result.append(ip)
        return result

    def instances(self):
        """(instances, why unknown): the instances the Cloud Controller API reported on the core."""
        if "instances" in self.apps and self.apps.get("instances") is not None:
            return [_mapping(i) for i in _as_list(self.apps["instances"])], None
        if self.apps.get("msg"):
            return None, f"stackato_apps_info on the core failed: {self.apps['msg']}"
        return None, (f"stackato_apps_info did not run on the core ({self.core}): stackato_api_url or "
                      f"stackato_api_password is not set, or the core was not reached")

    def unavailable_deas(self):
        """DEAs whose dea_ng process this run read as not RUNNING: they take no instances."""
        down = []
        for host, ip in self.ip_of.items():
            processes = _mapping(_result(self.hosts[host].get("kato")).get("processes"))
            if ip and "dea" in self.roles.get(ip, []) and processes.get("dea_ng") not in (None, "RUNNING"):
                down.append(ip)
        return down


def rule_unreachable(cluster, settings):
    """The access rule on the hosts that dropped out of the play (no facts of their own)."""
    findings = []
    for host, facts in cluster.hosts.items():
        if cluster.in_play(host) and facts.get("reached") is False:
            findings.extend(rule_access(dict(facts, host=host), settings))
    return findings


def _group_of_roles(roles):
    for group in ("core", "controller", "router", "dea"):
        if set(_GROUP_ROLES[group]) & set(roles):
            return group
    return "data_services"


def inventory_group(roles):
    """The one inventory group of a node with these kato roles, or None.

    The playbook's convention (inventories/example/cluster.ini): the node with primary is only in
    core; otherwise the first of controller, router, dea that it has; otherwise data_services when
    it has a data-service role (any role but base, mdns and the four above). A node with none of
    these (only base) belongs to no upgrade group: the inventory check then reports it.
    """
    group = _group_of_roles(roles)
    if group == "data_services" and not set(roles) - _NOT_DATA_SERVICES:
        return None
    return group


def rule_inventory(cluster, settings):
    """The inventory matches kato node list: the same nodes, and groups that agree with each node's roles."""
    findings = []
    listed = collections.OrderedDict()
    for host in cluster.groups.get("stackato", list(cluster.hosts)):
        ip = cluster.ip_of.get(host, "")
        if not ip:
            findings.append(finding("inventory", "fail", host,
                                    f"{host}: has no stackato_node_ip, so its kato roles and instances cannot be matched. "
                                    f"Fix: set stackato_node_ip to the address kato knows the node by (kato node list)."))
            continue
        listed[ip] = host
        groups = [g for g in UPGRADE_GROUPS if host in cluster.groups.get(g, [])]
        if not groups:
            findings.append(finding("inventory", "fail", host,
                                    f"{node_label(host, ip)}: is in none of the groups the upgrade plays "
                                    f"({', '.join(UPGRADE_GROUPS)}), so it would never be upgraded. Fix: add it to the "
                                    f"group of its roles."))
    if not cluster.listed_nodes:
        findings.append(finding("inventory", "warn", "cluster",
                                f"cluster: kato node list was not read on the core ({cluster.core}), so the inventory "
                                f"({len(listed)} nodes) cannot be compared with kato. Fix: make kato work on the core "
                                f"(see the kato check), then re-run."))
    else:
        for ip, roles in cluster.listed_nodes.items():
            if ip not in listed:
                findings.append(finding(
                    "inventory", "fail", ip,
                    f"kato lists node {ip} ({' '.join(roles)}) that is in no group of the inventory, so it would never be "
                    f"upgraded. Fix: add it with stackato_node_ip={ip} to the group {_group_of_roles(roles)}."))
        for ip, host in listed.items():
            if ip not in cluster.listed_nodes:
                findings.append(finding(
                    "inventory", "fail", host,
                    f"{node_label(host, ip)}: the inventory has stackato_node_ip={ip}, which kato node list on the core does "
                    f"not know. Fix: correct stackato_node_ip (the address kato knows the node by)."))
    for ip, host in listed.items():
        if ip not in cluster.roles:
            continue
        roles = cluster.roles[ip]
        label = node_label(host, ip)
        shown = " ".join(roles) or "none"
        for group, wanted in _GROUP_ROLES.items():
            if host in cluster.groups.get(group, []) and not set(wanted) & set(roles):
                findings.append(finding(
                    "inventory", "fail", host,
                    f"{label}: is in inventory group {group}, but kato node list gives it the roles {shown} (no {wanted[0]}). "
                    f"Fix: move it to the group of its roles ({_group_of_roles(roles)})."))
        if host in cluster.groups.get("data_services", []) and not set(roles) - _NOT_DATA_SERVICES:
            findings.append(finding(
                "inventory", "fail", host,
                f"{label}: is in inventory group data_services, but kato node list gives it no data-service role ({shown}). "
                f"Fix: move it to the group of its roles ({_group_of_roles(roles)})."))
        in_core = host in cluster.groups.get("core", [])
        if "primary" in roles and not in_core:
            findings.append(finding(
                "inventory", "fail", host,
                f"{label}: kato node list gives it the role primary, but it is not in inventory group core, which the "
                f"upgrade takes last. Fix: put it in [core] (and only there)."))
        if "dea" in roles and not in_core and host not in cluster.groups.get("dea", []):
            findings.append(finding(
                "inventory", "fail", host,
                f"{label}: kato node list gives it the role dea, but it is not in inventory group dea, so the DEA capacity "
                f"check does not retire it in upgrade order. Fix: add it to [dea]."))
    return findings


def rule_version_mix(cluster, settings):
    """Nodes at different versions: an earlier upgrade stopped midway (this run resumes it)."""
    by_version = collections.OrderedDict()
    for host, facts in cluster.hosts.items():
        version = _result(facts.get("kato")).get("version")
        if cluster.in_play(host) and _version(version):
            by_version.setdefault(_version(version), (version, []))[1].append(host)
    if len(by_version) < 2:
        return []
    groups = sorted(by_version.values(), key=lambda entry: _version(entry[0]))
    return [finding("version_mix", "warn", "cluster",
                    f"cluster: nodes run {len(groups)} different versions ("
                    f"{'; '.join(f'{v}: ' + ' '.join(hosts) for v, hosts in groups)}): an earlier upgrade stopped midway. "
                    f"Fix: nothing, this run resumes it, skipping the nodes at {settings['target_version'] or 'the target'}.")]


def _roles_unknown(cluster, check, settings):
    return unevaluated(check, "cluster", "cluster",
                       f"the roles of the nodes are unknown (kato node list was not read on the core {cluster.core} nor "
                       f"on any other node)",
                       "make kato node list work on the core (see the kato check), then re-run", settings)


def rule_dea_capacity(cluster, settings):
    """Every DEA, retired in upgrade order, has its instances placed on the others (see check_dea_capacity)."""
    if not cluster.roles:
        return [_roles_unknown(cluster, "dea_capacity", settings)]
    overrides = {}
    for host, facts in cluster.hosts.items():
        if cluster.ip_of.get(host) and facts.get("dea_memory_mb") not in (None, ""):
            overrides[cluster.ip_of[host]] = facts["dea_memory_mb"]
    deas = dea_nodes(cluster.roles, cluster.core_kato.get("dea_memory_mb"), overrides)
    instances, why = cluster.instances()
    names = {ip: cluster.name(ip) for ip in deas}
    return dea_capacity_gate(deas, instances, cluster.dea_order(), names, cluster.unavailable_deas(), settings, why)


def rule_zero_downtime(cluster, settings):
    """Two routers, two DEAs (kato's roles) and apps with two running instances (the Cloud Controller)."""
    if not cluster.roles:
        return [_roles_unknown(cluster, "zero_downtime", settings)]
    level = "fail" if settings["zero_downtime_required"] else "warn"
    hint = "" if settings["zero_downtime_required"] else " (preflight_zero_downtime_required makes this a failure)"
    findings = []
    for role, name, minimum, variable, what in (
            ("router", "router", settings["min_routers"], "preflight_min_routers",
             "behind a load balancer: web requests fail while a router is upgraded"),
            ("dea", "DEA", settings["min_deas"], "preflight_min_deas", "apps stop while a DEA is upgraded")):
        nodes = [ip for ip, roles in cluster.roles.items() if role in roles]
        if len(nodes) < minimum:
            findings.append(finding(
                "zero_downtime", level, "cluster",
                f"cluster: {len(nodes)} {name}(s) ({', '.join(cluster.label(ip) for ip in nodes) or 'none'}), zero downtime "
                f"needs {minimum} ({variable}) {what}{hint}. Fix: add a {name} node."))
    instances, why = cluster.instances()
    if instances is None:
        findings.append(unevaluated("zero_downtime", "cluster", "cluster",
                                    f"the running instances of the apps are unknown ({why})",
                                    "set stackato_api_url and stackato_api_password (the Cloud Controller API on the core)",
                                    settings))
        return findings
    apps = [_mapping(a) for a in _as_list(cluster.apps.get("apps"))]
    started = [a for a in apps if str(a.get("state") or "STARTED").upper() == "STARTED"]
    if started and all(a.get("guid") for a in started):
        running = count_instances(instances, ("RUNNING",), key="guid")
        counts = [(str(a.get("name") or a["guid"]), running.get(a["guid"], 0)) for a in started]
    else:
        counts = list(count_instances(instances, ("RUNNING",)).items())
        counts += [(str(a.get("name")), 0) for a in started if a.get("name") not in dict(counts)]
    short = [(name, count) for name, count in counts if count < settings["min_app_instances"]]
    if short:
        minimum = settings["min_app_instances"]
        findings.append(finding(
            "zero_downtime", level, "cluster",
            f"cluster: apps that will see downtime (fewer than {minimum} running instances): "
            f"{', '.join(f'{name} x{count}' for name, count in short)}{hint}. Fix: scale them to {minimum} instances "
            f"before the upgrade."))
    return findings


def rule_maintenance_mode(cluster, settings):
    """Maintenance mode already on: a warning (this run keeps it on and turns it off at the end)."""
    mode = cluster.core_kato.get("maintenance_mode")
    core = cluster.core or "core"
    if mode is True:
        return [finding("maintenance_mode", "warn", core,
                        f"{node_label(core, cluster.ip_of.get(core))}: maintenance mode is already on (left by an earlier "
                        f"run, or set by hand). Fix: nothing, this run keeps it on, resumes the upgrade and turns it off at "
                        f"the end; turn it off by hand (playbook maintenance_mode) if no upgrade is meant.")]
    if mode is None and cluster.core_kato.get("version"):
        return [finding("maintenance_mode", "warn", core,
                        f"{node_label(core, cluster.ip_of.get(core))}: maintenance mode could not be read "
                        f"(kato config get cloud_controller_ng maintenance_mode). Fix: check that the core's Cloud "
                        f"Controller runs (kato status on the core).")]
    return []


CLUSTER_RULES = collections.OrderedDict((
    ("access", rule_unreachable),
    ("inventory", rule_inventory),
    ("version_mix", rule_version_mix),
    ("dea_capacity", rule_dea_capacity),
    ("zero_downtime", rule_zero_downtime),
    ("maintenance_mode", rule_maintenance_mode),
))


def cluster_findings(facts, settings=None):
    """Every cluster rule not skipped, on the cluster's facts (hosts, groups, apps)."""
    settings = settings_from(settings)
    cluster = Cluster(facts)
    findings = []
    for name, rule in CLUSTER_RULES.items():
        if name not in settings["skip_checks"]:
            findings.extend(rule(cluster, settings))
    return findings


# ---- level policy and summary --------------------------------------------------------------

def apply_level_policy(findings, prefetch_only=False, warnings_fatal=False):
    """A run that only prefetches demotes upgrade-only failures to warnings; warnings_fatal promotes
    warnings to failures, except a risk accepted in preflight_accept_risks."""
    result = []
    for item in findings or []:
        item = dict(_mapping(item))
        level = item.get("level")
        if level == "fail" and prefetch_only and item.get("check") in UPGRADE_ONLY_CHECKS:
            level = "warn"
        if level == "warn" and warnings_fatal and not item.get("accepted"):
            level = "fail"
        item["level"] = level
        result.append(item)
    return result


def plan_lines(cluster_facts, target):
    """One line per node this run reads: ``host: 3.4.2 -> 3.6.2`` or ``host: 3.6.2 (at target, skipped)``."""
    cluster = Cluster(cluster_facts)
    lines = []
    for host, facts in cluster.hosts.items():
        version = _result(facts.get("kato")).get("version")
        if not cluster.in_play(host) or facts.get("reached") is False or not version:
            continue
        at_target = _version(version) and _version(target) and compare_versions(version, target) == 0
        lines.append(f"{host}: {version}{' (at target, skipped)' if at_target else ' -> ' + str(target or '?')}")
    return lines


def summary(findings, settings=None, cluster_facts=None):
    """The summary of a preflight run, so the role only prints it and asserts on it.

    Returns ``{"findings" (levelled), "failures", "warnings", "infos", "failed", "lines",
    "fail_msg", "success_msg"}``; ``lines`` are the header, ``FAIL [check] msg``, ``WARN [check]
    msg``, ``INFO [check] msg`` and ``PLAN host: version`` lines.
    """
    settings = settings_from(settings)
    levelled = apply_level_policy(findings, settings["prefetch_only"], settings["warnings_fatal"])
    by_level = {level: [f for f in levelled if f.get("level") == level] for level in LEVELS}
    hosts = _mapping(_mapping(cluster_facts).get("hosts"))
    node_count = sum(1 for facts in hosts.values() if _mapping(facts).get("in_play", True) is not False)
    header = (f"Preflight: {len(by_level['fail'])} failure(s), {len(by_level['warn'])} warning(s) on {node_count} node(s); "
              f"checks skipped: {', '.join(settings['skip_checks']) or 'none'}; "
              f"risks accepted: {', '.join(settings['accept_risks']) or 'none'}")
    lines = [header]
    for level, tag in (("fail", "FAIL"), ("warn", "WARN"), ("info", "INFO")):
        lines.extend(f"{tag} [{f.get('check')}] {f.get('msg')}" for f in by_level[level])
    lines.extend("PLAN " + line for line in plan_lines(cluster_facts, settings["target_version"]))
    failures = by_level["fail"]
    hints = ["A check can be skipped with -e '{\"preflight_skip_checks\": [\"<name>\"]}'"]
    risks = sorted({f.get("check") for f in failures if f.get("risk")})
    if risks:
        hints.append("a risk accepted with -e '{\"preflight_accept_risks\": [%s]}'" % ", ".join(f'"{r}"' for r in risks))
    fail_msg = (f"Preflight failed, nothing was changed. {' | '.join(f.get('msg') for f in failures)} "
                f"({'; '.join(hints)}.)") if failures else ""
    return {
        "findings": levelled,
        "failures": len(failures),
        "warnings": len(by_level["warn"]),
        "infos": len(by_level["info"]),
        "failed": bool(failures),
        "lines": lines,
        "fail_msg": fail_msg,
        "success_msg": f"Preflight passed ({len(by_level['warn'])} warning(s)).",
    }
