"""Stackato 3.x roles, the processes each runs, and the upgrade order (contract section 2)."""

from __future__ import annotations

ROLES = ("primary", "controller", "router", "dea", "base", "mdns", "filesystem", "mysql",
         "postgresql", "mongodb", "redis", "rabbit", "rabbit3", "memcached", "harbor")

# The group data-services: "all databases, RabbitMQ and the filesystem" (contract section 2),
# the same members kato_role expands it to. harbor (port forwarding) is no data service.
DATA_SERVICES = ("filesystem", "mysql", "postgresql", "mongodb", "redis", "rabbit", "rabbit3",
                 "memcached")
ROLE_GROUPS = {"data-services": DATA_SERVICES}

# Role -> the supervised processes it runs (names from kato's /s/etc/kato/processes).
PROCESSES = {
    "base": ("logyard", "systail", "nginx"),
    "primary": ("config_redis", "redis_server", "health_manager", "stackato_rest"),
    "controller": ("cloud_controller_ng", "aok", "stackato_console"),
    "router": ("router2g",),
    "dea": ("dea_ng", "dir_server", "fence", "apptail"),
    "mdns": ("mdns",),
    "filesystem": ("filesystem_node", "filesystem_gateway"),
    "mysql": ("mysql", "mysql_node", "mysql_gateway"),
    "postgresql": ("postgresql", "postgresql_node", "postgresql_gateway"),
    "mongodb": ("mongodb_node", "mongodb_gateway"),
    "redis": ("redis_node", "redis_gateway"),
    "rabbit": ("rabbit_node", "rabbit_gateway"),
    "rabbit3": ("rabbit3_node", "rabbit3_gateway"),
    "memcached": ("memcached_node", "memcached_gateway"),
    "harbor": ("harbor_node", "harbor_gateway"),
}

# Default cluster upgrade order (3.0/3.2 docs): dea, controller, router, base; nodes matching
# none of these (data services) after them; the primary always last.
DEFAULT_ROLE_ORDER = ("dea", "controller", "router", "base")


def expand(roles) -> list[str]:
    """Role names with groups expanded, validated, sorted, unique."""
    out = set()
    for role in roles:
        if role in ROLE_GROUPS:
            out.update(ROLE_GROUPS[role])
        elif role in ROLES:
            out.add(role)
        else:
            raise ValueError(f"unknown role {role!r}")
    return sorted(out)


def processes_for(roles) -> list[str]:
    procs: list[str] = []
    for role in sorted(roles):
        for proc in PROCESSES.get(role, ()):
            if proc not in procs:
                procs.append(proc)
    return procs


def role_of_process(process: str) -> str | None:
    for role, procs in PROCESSES.items():
        if process in procs:
            return role
    return None


def upgrade_order(nodes: dict[str, list[str]], role_order=DEFAULT_ROLE_ORDER) -> list[str]:
    """Node IPs in upgrade order: by the first role of role_order each node has, unmatched
    nodes next, the primary node last whatever role_order says."""
    def rank(ip: str) -> tuple[int, int, str]:
        roles = nodes[ip]
        if "primary" in roles:
            return (2, 0, ip)
        for i, role in enumerate(role_order):
            if role != "base" and role in roles:
                return (0, i, ip)
        if "base" in role_order and not set(roles) - {"base"}:
            return (0, list(role_order).index("base"), ip)
        return (1, 0, ip)
    return sorted(nodes, key=rank)
