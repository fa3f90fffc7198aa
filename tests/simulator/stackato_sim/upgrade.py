"""`kato node upgrade [options]`: option handling; the work is Sentinel's (sentinel.py).

    node upgrade [options]
      -j --json  -n --node <node>  -u --update-kato  -v --version <version>
      --force  --prepare  --resume  --role-order <role-order>  --skip-confirmation  --status
      --cache-ip <cache-ip>  --download-only  --offline  --cluster (unused)

On the primary without --node: the whole cluster (every node the cluster state knows), one
node at a time in role order, primary last, over SSH. Elsewhere, or with --node <ip>: one node
(another node's IP is reached over SSH like in the cluster mode).
"""

from __future__ import annotations

import sys

from . import nodeconf, releases, sentinel
from .sentinel import LOCAL, SentinelError, err, out

USAGE = """Usage:
    kato node upgrade [options]

Options:
    -h --help                  Show help information
    -j --json                  Shows the status in json format.
    -n --node <node>           Targets the provided node.
    -u --update-kato           Updates kato node upgrade to the latest codebase.
    -v --version <version>     The version of Stackato to upgrade to. The latest version is
                               used if this isn't supplied.
    --force                    Forces an upgrade to run.
    --prepare                  Prepare the core node for an upgrade.
    --resume                   Resumes an upgrade process, used internally by Kato and should
                               only be called manually when requested.
    --role-order <role-order>  Comma separated list of roles defining the order that roles
                               should be upgraded in a cluster.
    --skip-confirmation        Skips initial confirmation of upgrade.
    --status                   Shows the status of upgrades on a node.
    --cache-ip <cache-ip>      The ip of the node to act as a cache for all nodes in the
                               cluster during upgrade.
    --download-only            Downloads the files required to perform an upgrade without
                               starting an upgrade, must specify --cache-ip when using this
                               option.
    --cluster                  Unused parameter for backwards compatibility.
    --offline                  Upgrade offline; requires the upgrade content to be previously
                               downloaded."""

FLAGS = {"-j": "json", "--json": "json", "-u": "update_kato", "--update-kato": "update_kato",
         "--force": "force", "--prepare": "prepare", "--resume": "resume",
         "--skip-confirmation": "skip_confirmation", "--status": "status",
         "--download-only": "download_only", "--offline": "offline", "--cluster": "cluster",
         "-h": "help", "--help": "help"}
VALUED = {"-n": "node", "--node": "node", "-v": "version", "--version": "version",
          "--role-order": "role_order", "--cache-ip": "cache_ip"}


class UsageError(Exception):
    pass


def parse(argv) -> dict:
    """docopt-style: long options may be --opt=value, short ones -nVALUE or -n VALUE."""
    opts = {name: False for name in FLAGS.values()}
    opts.update({name: None for name in VALUED.values()})
    args = list(argv)
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and "=" in a:
            key, val = a.split("=", 1)
            if key not in VALUED:
                raise UsageError(f"option {key} takes no value")
            opts[VALUED[key]] = val
        elif a in FLAGS:
            opts[FLAGS[a]] = True
        elif a in VALUED:
            if i + 1 >= len(args):
                raise UsageError(f"option {a} requires an argument")
            i += 1
            opts[VALUED[a]] = args[i]
        elif a[:2] in VALUED and len(a) > 2 and not a.startswith("--"):
            opts[VALUED[a[:2]]] = a[2:]
        elif a.startswith("-") and not a.startswith("--") and len(a) > 2 \
                and all(f"-{c}" in FLAGS for c in a[1:]):
            for c in a[1:]:
                opts[FLAGS[f"-{c}"]] = True
        else:
            raise UsageError(f"unknown option or argument {a}")
        i += 1
    return opts


def confirm(question: str) -> bool:
    sys.stdout.write(f"{question} [y/N] ")
    sys.stdout.flush()
    if not sys.stdin or not sys.stdin.isatty():
        sys.stdout.write("\n")
        raise SentinelError("confirmation required but there is no terminal to ask on; "
                            "use --skip-confirmation for an unattended upgrade")
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["node", "upgrade"]:
        argv = argv[2:]
    try:
        opts = parse(argv)
    except UsageError as e:
        err(f"{e}")
        print(USAGE, file=sys.stderr)
        return 1
    if opts["help"]:
        out(USAGE)
        return 0
    try:
        return run(opts)
    except (releases.UnsupportedPath, releases.UnknownRelease) as e:
        err(str(e))
        return 1
    except SentinelError as e:
        err(str(e))
        return 1
    except Exception as e:  # noqa: BLE001 - the state server's errors, among others
        name = type(e).__name__
        if name in ("StateUnavailable", "StateError"):
            err(str(e).removeprefix("ERROR: "))
            return 1
        raise


def run(o: dict) -> int:
    own = nodeconf.my_ip()
    target_node = o["node"]
    remote = target_node is not None and not nodeconf.is_self(target_node)
    if o["role_order"] is not None:
        bad = [r for r in o["role_order"].split(",") if r.strip() and r.strip() != "primary"
               and r.strip() not in releases_roles()]
        if bad:
            raise SentinelError(f"unknown role {bad[0]} in --role-order")

    if o["status"]:
        if remote:
            args = ["status", *(["--json"] if o["json"] else []),
                    *(["--cache-ip", o["cache_ip"]] if o["cache_ip"] else [])]
            return sentinel.run_on_node(target_node, args)
        sentinel.print_status(sentinel.status(o["cache_ip"]), o["json"])
        return 0

    if o["prepare"]:
        out("Nothing to prepare: Sentinel prepares each node during the upgrade")
        return 0

    if o["download_only"] and not o["cache_ip"]:
        raise SentinelError("--download-only requires --cache-ip <cache-ip>")

    if o["update_kato"]:
        if remote:
            return sentinel.run_on_node(target_node, ["self-update", *(
                ["--cache-ip", o["cache_ip"]] if o["cache_ip"] else [])])
        old, new = sentinel.self_update(o["cache_ip"], o["offline"])
        out(f"kato updated from {old} to {new}" if old != new
            else f"kato is already up to date ({new})")
        return 0

    target = o["version"] or sentinel.available_version(o["cache_ip"], o["offline"])
    if not target:
        raise SentinelError("cannot determine the latest Stackato version: upstream is not "
                            "reachable and nothing is cached; connectivity restored? resume "
                            "with: kato node upgrade --resume")
    releases.get(target)

    if o["download_only"]:
        return sentinel.download_for_upgrade(target, o["cache_ip"])

    # which nodes
    if target_node is None and nodeconf.is_primary():
        nodes, versions = sentinel.cluster_nodes()
        ips = [LOCAL] + sorted(ip for ip in nodes if ip != own)
        pending = [ip for ip in nodes if versions.get(ip) != target]
        if not pending and not o["force"]:
            out(f"all nodes are already at version {target}")
            return 0
        what = f"all {len(nodes)} nodes of the cluster"
    elif remote:
        ips = [target_node]
        what = f"node {target_node}"
    else:
        from . import nodestate
        current = nodestate.read().get("version")
        if current == target and not o["force"] and not _in_progress(target):
            out(f"Node {own} is already at version {target}")
            return 0
        ips = [LOCAL]
        what = f"node {own}"

    if not o["skip_confirmation"]:
        out(f"This will upgrade {what} to Helion Stackato {target}.")
        if not confirm("Proceed with upgrade?"):
            out("Upgrade cancelled")
            return 1

    args = ["upgrade", target, *ips]
    if o["force"]:
        args.append("--force")
    if o["offline"]:
        args.append("--offline")
    if o["resume"]:
        args.append("--resume")
    if o["cache_ip"]:
        args += ["--cache-ip", o["cache_ip"]]
    if o["role_order"]:
        args += ["--role-order", o["role_order"]]
    return sentinel.main(args)


def releases_roles():
    from .roles import ROLES
    return ROLES


def _in_progress(target: str) -> bool:
    prog = sentinel.progress()
    return prog.get("target") == target and prog.get("state") in (
        "downloading", "downloaded", "upgrading", "failed")
