"""First-boot set-up of a node's Stackato tree, run as stackato (`python3 -m stackato_sim.node_init`).

Idempotent: when node-state.json exists the node keeps its state (a restarted container is
the same VM); only missing directories, logs and entry scripts are put back. /s is a tmpfs in
the container, so a restarted node finds it empty while node-state.json survives: the tree is
then rebuilt as the node's disk would have kept it (the recorded version's components plus the
steps of an unfinished upgrade, sentinel-cli.log from its copy under /var/lib/stackato-sim),
and the upgrade progress is kept so that a resume continues. kato stays missing when the
recorded upgrade died in the stackato-kato step after removing it.
"""

from __future__ import annotations

import os
import sys

from . import nodeconf, nodestate, paths, ports, roles as roles_mod

DIRS = ("/s/code", "/s/etc/kato", "/s/static", "/s/logs", "/s/code/sentinel/cli/bin",
        "/s/code/sentinel/daemon/config", paths.DEFAULT_CACHE_DIR, "/home/stackato/bin",
        "/var/lib/stackato-sim")

KATO_COMPONENT = "stackato-kato"   # releases.KATO_COMPONENT: its step removes kato first

SENTINEL_CONFIG = f"""# Sentinel daemon configuration (Stackato upgrade back end)
# Move the cache to a bigger disk by changing cache_dir, then: sudo service sentinel-d restart
cache_dir: {paths.DEFAULT_CACHE_DIR}
log_level: info
max_concurrent_downloads: 4
"""

_ENTRY = '''#!/usr/bin/python3
# {what} (simulated Stackato 3.x; docs/dev/simulator.md)
import os
import sys

sys.path.insert(0, os.environ.get("STACKATO_SIM_PACKAGE") or "{package}")
from {module} import main

sys.exit(main())
'''


def _write(node_path: str, content: str, mode: int = 0o644, keep: bool = False) -> None:
    real = paths.p(node_path)
    if keep and os.path.exists(real):
        return
    os.makedirs(os.path.dirname(real), exist_ok=True)
    tmp = f"{real}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, real)


def write_entry_scripts(kato: bool = True, sentinel: bool = True) -> list[str]:
    """(Re)install /home/stackato/bin/kato and /s/code/sentinel/cli/bin/sentinel."""
    written = []
    if kato:
        _write(paths.KATO, _ENTRY.format(what="kato, Stackato's admin CLI",
                                         package=paths.SIM_PACKAGE_DIR,
                                         module="stackato_sim.kato"), 0o755)
        written.append(paths.KATO)
    if sentinel:
        _write(paths.SENTINEL, _ENTRY.format(what="Sentinel CLI", package=paths.SIM_PACKAGE_DIR,
                                             module="stackato_sim.sentinel"), 0o755)
        written.append(paths.SENTINEL)
    return written


def _install_release(version: str, roles: list[str]) -> list[str]:
    try:
        from .releases import install_components
    except ImportError as exc:   # releases.py belongs to the upgrade half of the simulator
        print(f"WARNING: no release catalogue ({exc}); /s/code left empty", file=sys.stderr)
        return []
    try:
        return install_components(version, roles)
    except KeyError as exc:      # a version the catalogue does not know: an empty /s/code
        print(f"WARNING: {exc}; /s/code left empty", file=sys.stderr)
        return []


def init_node(node: dict | None = None, cluster: dict | None = None) -> bool:
    """Create this node's tree; returns True when it was seeded now (False: kept state)."""
    node = node or nodeconf.load_node()
    cluster = cluster or nodeconf.load_cluster()
    rebuild = nodestate.exists() and s_tree_lost()
    for d in DIRS:
        os.makedirs(paths.p(d), exist_ok=True)
    if rebuild:
        _restore_sentinel_log()
    for log in (paths.KATO_LOG, paths.SENTINEL_LOG):
        with open(paths.p(log), "a", encoding="utf-8"):
            pass
    primary = cluster.get("primary_ip") or node["primary_ip"]
    _write(paths.REDIS_URI, f"redis://{primary}:{ports.of(node, 'state_port')}/0\n")
    _write(paths.SENTINEL_CONFIG, SENTINEL_CONFIG, keep=True)   # cache_dir may have been moved
    if nodestate.exists():
        state = nodestate.read()
        if rebuild:
            rebuild_s_tree(node, state)
        write_entry_scripts(kato=not kato_left_missing(state))
        _report()
        return False
    write_entry_scripts()
    roles = roles_mod.expand(set(node["roles"]) | {"base"})
    version = node["version"]
    _install_release(version, roles)
    kato_rev = None
    try:
        from .releases import get
        kato_rev = get(version).kato_rev
    except (ImportError, KeyError):
        pass
    with nodestate.locked() as st:
        st.update(version=version, kato_rev=kato_rev, roles=roles, retired=False,
                  processes={p: {"state": "RUNNING", "ready_at": 0}
                             for p in roles_mod.processes_for(roles)})
    _report()
    return True


def _kato_present() -> bool:
    return os.path.exists(paths.p(paths.KATO))


def kato_left_missing(state: dict) -> bool:
    """kato is absent because the recorded upgrade died in the stackato-kato step after
    removing it: it stays missing across a restart, as on a real disk (the documented recovery
    runs the last `Running with command:` line)."""
    if _kato_present():
        return False
    up = state.get("upgrade") or {}
    step = str(up.get("step") or "")
    return (up.get("state") in ("upgrading", "failed")
            and step.endswith("/" + KATO_COMPONENT) and step not in (up.get("done") or []))


def s_tree_lost() -> bool:
    """/s holds no component: a restarted container whose /s tmpfs came back empty."""
    code = paths.p("/s/code")
    try:
        return not any(os.path.exists(os.path.join(code, name, "VERSION"))
                       for name in os.listdir(code))
    except FileNotFoundError:
        return True


def rebuild_s_tree(node: dict, state: dict) -> list[str]:
    """Put /s back as the node's disk would have kept it: the components of its roles at the
    recorded version, then the components an unfinished upgrade had already installed."""
    roles = list(state.get("roles") or roles_mod.expand(set(node["roles"]) | {"base"}))
    version = state.get("version") or node["version"]
    installed = _install_release(version, roles)
    up = state.get("upgrade") or {}
    if up.get("state") not in (None, "idle", "done"):
        try:
            from .releases import install_component
        except ImportError:
            return installed
        for step in up.get("done") or []:
            step_version, dummy, comp = str(step).partition("/")
            try:
                install_component(step_version, comp)
            except KeyError:   # an unknown release or component
                continue
            installed.append(step)
    print(f"WARNING: /s was empty; rebuilt it for version {version}", file=sys.stderr)
    return installed


def _restore_sentinel_log() -> None:
    """sentinel-cli.log lives on /s; sentinel.log() keeps a copy next to node-state.json."""
    copy = paths.p(paths.SENTINEL_LOG_COPY)
    real = paths.p(paths.SENTINEL_LOG)
    if os.path.exists(copy) and not os.path.exists(real):
        with open(copy, "rb") as src, open(real, "wb") as dst:
            dst.write(src.read())


def _report() -> None:
    from . import processes
    processes.report()


def main(argv=None) -> int:
    seeded = init_node()
    node = nodeconf.load_node()
    print(f"node {node['ip']} {'initialised' if seeded else 'kept its state'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
