"""The release catalogue: what each simulated Stackato release ships (docs/dev/simulator.md §4).

3.2.1 is installable only (pre-Sentinel: nodes can start at it but nothing upgrades from it);
3.4.2, 3.6.0 and 3.6.2 are the Sentinel releases. 3.4.2 -> 3.6.2 passes through 3.6.0
(Stackato 3.4.2 "sentinel download --for-upgrade should download intermediate versions").

Every component has a nominal size (GB-scale, used by the free-disk checks; never written), a
small deterministic payload (what upstream actually serves; its sha256 is in the manifest), a
simulated duration in seconds (scaled by nodeconf.scaled) and the processes its upgrade
restarts. Components carried by the "base" role are on every node.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from functools import lru_cache

from . import paths

MB = 1024 * 1024
GB = 1024 * MB

# "After the upgrade has finished ... the base size of the install on each VM will increase by
# 1.3GB" (upgrade doc). Added to the download size in the free-disk check of a node upgrade.
INSTALL_GROWTH = int(1.3 * GB)

KATO_COMPONENT = "stackato-kato"
# Per component: the package's file list and pristine copies (install_component).
RELEASE_DIR = ".release"


class UnsupportedPath(ValueError):
    """No upgrade path between two versions."""


class UnknownRelease(KeyError):
    def __str__(self) -> str:  # KeyError quotes its argument; keep messages plain
        return str(self.args[0]) if self.args else "unknown release"


@dataclass(frozen=True)
class Component:
    name: str
    roles: tuple[str, ...]          # roles that carry it; "base" = every node
    size: int                       # nominal size in bytes (disk checks)
    duration: float                 # simulated upgrade seconds (scaled)
    processes: tuple[str, ...]      # processes restarted by its upgrade
    files: dict = field(default_factory=dict, hash=False, compare=False)  # node path -> text
    version: str = ""

    @property
    def payload(self) -> bytes:
        return _payload(self.version, self.name)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.name}.tgz"

    def carried_by(self, roles) -> bool:
        return "base" in self.roles or bool(set(self.roles) & set(roles))


@dataclass(frozen=True)
class Release:
    version: str
    date: str
    kato_rev: str
    upgrades_from: tuple[str, ...]
    components: tuple[Component, ...]
    sentinel: bool = True           # False: pre-Sentinel, cannot be upgraded from
    upgradable_to: bool = True      # False: installed-only, never an upgrade target

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"release {self.version} has no component {name}")


def _payload(version: str, name: str) -> bytes:
    """A few KB of deterministic bytes standing for <name>.tgz of <version>."""
    head = f"STACKATO-SIM-PAYLOAD\ncomponent={name}\nversion={version}\n".encode()
    seed = hashlib.sha256(head).digest()
    body = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(96))
    return head + body


# ---- the component table ---------------------------------------------------------------
# name, roles, nominal MB (3.6.x; other releases scale it), duration s, processes
_COMPONENTS = (
    (KATO_COMPONENT, ("base",), 48, 2.0, ()),
    ("stackato-base", ("base",), 1150, 6.0, ()),
    ("logyard", ("base",), 130, 3.0, ("logyard", "systail")),
    ("nginx", ("base",), 60, 1.5, ("nginx",)),
    ("dea_ng", ("dea",), 820, 5.0, ("dea_ng", "dir_server")),
    ("fence", ("dea",), 140, 2.0, ("fence",)),
    ("apptail", ("dea",), 40, 1.0, ("apptail",)),
    ("cloud_controller_ng", ("controller",), 480, 5.0, ("cloud_controller_ng",)),
    ("aok", ("controller",), 150, 2.0, ("aok",)),
    ("console", ("controller",), 230, 2.0, ("stackato_console",)),
    ("router2g", ("router",), 90, 2.0, ("router2g",)),
    ("health_manager", ("primary",), 80, 1.5, ("health_manager",)),
    ("stackato-rest", ("primary",), 110, 1.5, ("stackato_rest",)),
    ("mdns", ("mdns",), 20, 1.0, ("mdns",)),
    ("filesystem", ("filesystem",), 160, 2.0, ("filesystem_node", "filesystem_gateway")),
    ("mysql", ("mysql",), 420, 3.0, ("mysql", "mysql_node", "mysql_gateway")),
    ("postgresql", ("postgresql",), 380, 3.0,
     ("postgresql", "postgresql_node", "postgresql_gateway")),
    ("mongodb", ("mongodb",), 350, 3.0, ("mongodb_node", "mongodb_gateway")),
    ("redis", ("redis",), 90, 2.0, ("redis_node", "redis_gateway")),
    ("rabbit", ("rabbit",), 140, 2.0, ("rabbit_node", "rabbit_gateway")),
    ("rabbit3", ("rabbit3",), 150, 2.0, ("rabbit3_node", "rabbit3_gateway")),
    ("memcached", ("memcached",), 60, 1.5, ("memcached_node", "memcached_gateway")),
    ("harbor", ("harbor",), 110, 2.0, ("harbor_node", "harbor_gateway")),
)


def _shipped_files(version: str) -> dict[str, dict[str, str]]:
    """Component -> {node path: content} of the files it ships under /s/etc and /s/static."""
    files = {
        "stackato-base": {
            "/s/etc/stackato/release.yml": f"version: {version}\nproduct: HPE Helion Stackato\n",
            "/s/etc/apt/sources.list.d/stackato.list":
                f"deb https://component-images.stackato.com/apt {version} main\n",
        },
        "logyard": {
            "/s/etc/logyard/logyard.yml": f"# shipped with {version}\nretrylimits:\n  default: 25\n",
        },
        "nginx": {
            "/s/etc/nginx/nginx.conf": f"# Stackato {version}\nworker_processes 2;\n",
        },
        "console": {
            "/s/static/console/css/stackato.css": f"/* Stackato {version} */\nbody {{ margin: 0; }}\n",
            "/s/static/console/js/settings.js":
                f"// Stackato {version}\nsconsole.cf_api.settings = {{}};\n",
        },
        "cloud_controller_ng": {
            "/s/etc/cloud_controller_ng/stackato.yml": f"# Stackato {version}\nmaintenance_mode: false\n",
        },
        "router2g": {
            "/s/etc/router2g/router.yml": f"# Stackato {version}\nport: 80\n",
        },
        "dea_ng": {
            "/s/etc/dea_ng/dea.yml": f"# Stackato {version}\nresources:\n  memory_mb: 4096\n",
        },
        KATO_COMPONENT: {
            "/s/etc/kato/kato-release": f"{version}\n",
        },
    }
    if version >= "3.6":
        # new in 3.6: arrives over a same-named customer file ("unless the filename conflicts")
        files["console"]["/s/static/console/img/helion-logo.svg"] = (
            f"<svg><!-- HPE Helion Stackato {version} --></svg>\n")
        files["stackato-base"]["/s/etc/docker/registry.yml"] = (
            f"# Stackato {version}\nregistry: docker.stackato.com\n")
    return files


def _release(version: str, date: str, kato_rev: str, upgrades_from, scale: float,
             sentinel=True, upgradable_to=True) -> Release:
    shipped = _shipped_files(version)
    comps = []
    for name, roles_, size_mb, duration, procs in _COMPONENTS:
        comps.append(Component(name=name, roles=tuple(roles_), size=int(size_mb * scale) * MB,
                               duration=duration, processes=tuple(procs),
                               files=dict(shipped.get(name, {})), version=version))
    return Release(version=version, date=date, kato_rev=kato_rev,
                   upgrades_from=tuple(upgrades_from), components=tuple(comps),
                   sentinel=sentinel, upgradable_to=upgradable_to)


RELEASES: dict[str, Release] = {
    r.version: r for r in (
        _release("3.2.1", "2014-03-31", "3.2.1-k1", (), 0.8, sentinel=False,
                 upgradable_to=False),
        _release("3.4.2", "2014-12-17", "3.4.2-k1", ("3.4.1",), 0.9),
        _release("3.6.0", "2015-06-30", "3.6.0-k1", ("3.4.2",), 1.0),
        _release("3.6.2", "2016-02-29", "3.6.2-k1", ("3.6.0", "3.6.1"), 1.05),
    )
}


def vkey(version: str) -> tuple[int, ...]:
    """Sort key of a dotted version."""
    try:
        return tuple(int(x) for x in version.split("."))
    except (ValueError, AttributeError):
        raise UnknownRelease(f"not a version: {version!r}") from None


def versions() -> list[str]:
    """Every catalogued version (including installed-only ones), oldest first."""
    return sorted(RELEASES, key=vkey)


def upgradable_versions() -> list[str]:
    """Versions upstream offers as upgrade targets."""
    return [v for v in versions() if RELEASES[v].upgradable_to]


def latest() -> str:
    return upgradable_versions()[-1]


def get(version: str) -> Release:
    try:
        return RELEASES[version]
    except KeyError:
        raise UnknownRelease(f"unknown Stackato version {version}") from None


def kato_latest_rev() -> str:
    """The newest kato/Sentinel code published upstream (what a self-update installs)."""
    return get(latest()).kato_rev


def upgrade_path(current: str, target: str) -> list[str]:
    """The releases installed one after the other to go from current to target (target last).

    [] when current == target. Raises UnsupportedPath when there is none."""
    vkey(current)
    vkey(target)
    if target not in RELEASES or not RELEASES[target].upgradable_to:
        raise UnsupportedPath(f"version {target} is not available for upgrade "
                              f"(available: {', '.join(upgradable_versions())})")
    if current == target:
        return []
    if vkey(target) < vkey(current):
        raise UnsupportedPath(f"cannot downgrade from {current} to {target}")
    if current in RELEASES and not RELEASES[current].sentinel:
        raise UnsupportedPath(
            f"no upgrade path from {current}: in-place upgrades start at 3.4.1 (Sentinel); "
            f"export the data and import it into a new {target} cluster")
    # walk back from target through upgrades_from
    path = [target]
    v = target
    while True:
        rel = RELEASES[v]
        if current in rel.upgrades_from:
            return list(reversed(path))
        prev = [u for u in rel.upgrades_from if u in RELEASES and vkey(u) > vkey(current)]
        if not prev:
            raise UnsupportedPath(f"no upgrade path from {current} to {target}")
        v = max(prev, key=vkey)
        path.append(v)


def components_for(version: str, roles) -> list[Component]:
    """The components of <version> a node with <roles> carries, in upgrade order."""
    roles = set(roles)
    return [c for c in get(version).components if c.carried_by(roles)]


def path_components(path: list[str], roles) -> list[Component]:
    """Every component of every release on <path> that a node with <roles> needs."""
    out = []
    for v in path:
        out.extend(components_for(v, roles))
    return out


def download_size(comps) -> int:
    return sum(c.size for c in comps)


def install_component(version: str, comp: Component | str) -> None:
    """Write /s/code/<component>/ anew and rewrite the component's shipped files."""
    if isinstance(comp, str):
        comp = get(version).component(comp)
    code = paths.p(f"/s/code/{comp.name}")
    if os.path.isdir(code) and not os.path.islink(code):
        shutil.rmtree(code)
    elif os.path.lexists(code):
        os.unlink(code)
    for node_path, content in pristine_files(version, comp).items():
        _write(paths.p(node_path), content)
    _write_release_record(version, comp)


def pristine_files(version: str, comp: Component) -> dict[str, str]:
    """Every file the component's package installs: node path -> content."""
    code = f"/s/code/{comp.name}"
    files = {
        f"{code}/VERSION": f"{version}\n",
        f"{code}/lib/{comp.name.replace('-', '_')}.rb":
            f"# {comp.name} {version} (simulated)\nmodule Stackato\n  VERSION = '{version}'\nend\n",
        f"{code}/config/manifest.json":
            json.dumps({"component": comp.name, "version": version, "sha256": comp.sha256},
                       sort_keys=True) + "\n",
    }
    files.update(comp.files)
    return files


def release_record(version: str, comp: Component) -> dict:
    """The package's file list (docs/dev/simulator.md §2 `.release`): path -> sha256 and mode."""
    return {"component": comp.name, "version": version,
            "files": {path: {"sha256": hashlib.sha256(content.encode()).hexdigest(), "mode": "0644"}
                      for path, content in sorted(pristine_files(version, comp).items())}}


def _write_release_record(version: str, comp: Component) -> None:
    """/s/code/<component>/.release/manifest.json and a pristine copy of every file under
    .release/pristine/<path> ([ours]: stands for dpkg's file list and the cached package)."""
    base = paths.p(f"/s/code/{comp.name}/{RELEASE_DIR}")
    for node_path, content in pristine_files(version, comp).items():
        _write(os.path.join(base, "pristine", node_path.lstrip("/")), content)
    _write(os.path.join(base, "manifest.json"),
           json.dumps(release_record(version, comp), indent=1, sort_keys=True) + "\n")


def install_components(version: str, roles) -> list[str]:
    """Install every component of <version> for <roles>; returns their names.

    Like a real upgrade: /s/code/<component>/ is replaced (customizations there are lost);
    the release's shipped files under /s/etc and /s/static are rewritten (edits reverted),
    other files there are kept."""
    names = []
    for comp in components_for(version, roles):
        install_component(version, comp)
        names.append(comp.name)
    return names


def _write(path: str, content: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(content)
    os.replace(tmp, path)


@lru_cache(maxsize=None)
def manifest(version: str) -> dict:
    """The release manifest as served by upstream at /releases/<v>/manifest.json."""
    rel = get(version)
    return {
        "version": rel.version,
        "date": rel.date,
        "kato_rev": rel.kato_rev,
        "upgrades_from": list(rel.upgrades_from),
        "sentinel": rel.sentinel,
        "components": [
            {"name": c.name, "roles": list(c.roles), "size": c.size, "duration": c.duration,
             "processes": list(c.processes), "file": c.filename, "sha256": c.sha256,
             "bytes": len(c.payload), "shipped_files": sorted(c.files)}
            for c in rel.components
        ],
    }


def manifest_json(version: str) -> str:
    return json.dumps(manifest(version), indent=2, sort_keys=True) + "\n"


def index() -> dict:
    """/releases/index.json."""
    return {"versions": upgradable_versions(), "latest": latest(),
            "kato_rev": kato_latest_rev()}


def find_component(version: str, filename: str) -> Component | None:
    """The component whose download file is <filename> in <version>, or None."""
    if version not in RELEASES:
        return None
    for c in RELEASES[version].components:
        if c.filename == filename:
            return c
    return None
