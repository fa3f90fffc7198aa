"""First-boot set-up of a node's Stackato tree, run as stackato (`python3 -m stackato_sim.node_init`).

Idempotent: when node-state.json exists the node keeps its state (a restarted container is
the same VM); only missing directories, logs and entry scripts are put back.
"""

from __future__ import annotations

import os
import sys

from . import nodeconf, nodestate, paths, roles as roles_mod

DIRS = ("/s/code", "/s/etc/kato", "/s/static", "/s/logs", "/s/code/sentinel/cli/bin",
        "/s/code/sentinel/daemon/config", paths.DEFAULT_CACHE_DIR, "/home/stackato/bin",
        "/var/lib/stackato-sim")

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
    for d in DIRS:
        os.makedirs(paths.p(d), exist_ok=True)
    for log in (paths.KATO_LOG, paths.SENTINEL_LOG):
        open(paths.p(log), "a").close()
    primary = cluster.get("primary_ip") or node["primary_ip"]
    _write(paths.REDIS_URI, f"redis://{primary}:{node.get('state_port', 7474)}/0\n")
    _write(paths.SENTINEL_CONFIG, SENTINEL_CONFIG, keep=True)   # cache_dir may have been moved
    write_entry_scripts(kato=not nodestate.exists() or _kato_present())
    if nodestate.exists():
        _report()
        return False
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
    # a node whose kato went missing mid-upgrade stays that way across a container restart
    return os.path.exists(paths.p(paths.KATO))


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
