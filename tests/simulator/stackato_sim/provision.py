"""Container entry point of a simulated node: `python3 -m stackato_sim.provision`, run as root.

Turns the image into the node described by /etc/stackato-sim/node.json: sudo mode and password
of the stackato user, its SSH material, the /s tree (node_init, run as stackato), sentinel-d,
the cluster state server and the Cloud Controller API (HTTPS, when the harness mounted its
certificate) on the primary, and finally sshd in the foreground (exec, so sshd is what podman
watches). The harness treats an answering sshd as "node ready", so everything
else is started and waited for first.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time

from . import paths, ports

NODE_JSON = "/etc/stackato-sim/node.json"
CLUSTER_JSON = "/etc/stackato-sim/cluster.json"
SSH_SRC = "/etc/stackato-sim/ssh"
SUDOERS = "/etc/sudoers.d/stackato"
STACKATO = "stackato"
HOME = "/home/stackato"
PYTHONPATH = "/opt/stackato-sim"
S_ROOT = "/s"
LOG_DIR = "/s/logs"
SSHD = "/usr/sbin/sshd"
PORT_DEADLINE_S = 60.0

SUDO_RULES = {
    "nopasswd": "stackato ALL=(root) NOPASSWD: ALL\n",
    "password": "stackato ALL=(ALL) ALL\n",
}


def say(msg: str) -> None:
    print(f"provision: {msg}", file=sys.stderr, flush=True)


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def stackato_ids() -> tuple[int, int]:
    entry = pwd.getpwnam(STACKATO)
    return entry.pw_uid, entry.pw_gid


def stackato_env() -> dict:
    """A clean environment for processes run as stackato (runuser keeps the caller's)."""
    return {"PATH": f"{HOME}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": HOME, "USER": STACKATO,
            "LOGNAME": STACKATO, "SHELL": "/bin/bash", "LANG": "C.UTF-8",
            "PYTHONPATH": PYTHONPATH}


def as_stackato(*argv: str) -> list[str]:
    return ["/usr/sbin/runuser", "-u", STACKATO, "--", *argv]


def configure_sudo(node: dict) -> None:
    mode = node.get("sudo", "nopasswd")
    if mode not in SUDO_RULES:
        raise SystemExit(f"provision: unknown sudo mode {mode!r}")
    tmp = SUDOERS + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(SUDO_RULES[mode])
    os.chmod(tmp, 0o440)
    # A broken sudoers file would lock sudo for everyone: check before putting it in place.
    subprocess.run(["visudo", "-cqf", tmp], check=True)
    os.replace(tmp, SUDOERS)
    # The password is set in both modes: kato asks for it when sudo does.
    password = node.get("stackato_password", "stackato")
    subprocess.run(["chpasswd"], input=f"{STACKATO}:{password}\n", text=True, check=True)


def install_ssh() -> None:
    uid, gid = stackato_ids()
    dest = os.path.join(HOME, ".ssh")
    os.makedirs(dest, exist_ok=True)
    os.chmod(dest, 0o700)
    os.chown(dest, uid, gid)
    for name, mode in (("id_ed25519", 0o600), ("id_ed25519.pub", 0o644),
                       ("authorized_keys", 0o600), ("config", 0o600)):
        target = os.path.join(dest, name)
        shutil.copyfile(os.path.join(SSH_SRC, name), target)
        os.chmod(target, mode)
        os.chown(target, uid, gid)


def prepare_s_tree() -> None:
    """/s is a root-owned tmpfs from podman; the Stackato tree belongs to stackato."""
    uid, gid = stackato_ids()
    os.chown(S_ROOT, uid, gid)
    os.makedirs(LOG_DIR, exist_ok=True)
    os.chown(LOG_DIR, uid, gid)


def run_node_init() -> None:
    subprocess.run(as_stackato("python3", "-m", "stackato_sim.node_init"),
                   env=stackato_env(), cwd=HOME, check=True)


def forget_previous_boot() -> None:
    """A restarted container keeps its /run: a stale pidfile could name an unrelated process."""
    for path in ("/run/sentinel-d.pid",):
        if os.path.exists(path):
            os.unlink(path)


def start_sentinel_d() -> None:
    subprocess.run(["service", "sentinel-d", "start"], check=True, stdout=subprocess.DEVNULL)


def start_daemon(log_name: str, *argv: str) -> None:
    """A python3 -m stackato_sim.<...> daemon as stackato, logging to /s/logs/<log_name>."""
    uid, gid = stackato_ids()
    fd = os.open(os.path.join(LOG_DIR, log_name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.fchown(fd, uid, gid)
    # Its own session: it must outlive this process once sshd replaces it.
    subprocess.Popen(as_stackato("python3", "-m", *argv), env=stackato_env(), cwd=HOME,
                     stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True)
    os.close(fd)


def start_state_server() -> None:
    start_daemon("state-server.log", "stackato_sim.state", "serve")


def start_api_server() -> bool:
    """The Cloud Controller API over HTTPS; False (not started) without a certificate."""
    if not (os.path.exists(paths.API_CERT) and os.path.exists(paths.API_KEY)):
        say(f"no {paths.API_CERT}: the Cloud Controller API is not started")
        return False
    start_daemon("cc-api.log", "stackato_sim.ccapi", "serve",
                 "--cert", paths.API_CERT, "--key", paths.API_KEY)
    return True


def start_traffic(node: dict) -> None:
    """A traffic cluster (node.json `traffic`): the app instances' HTTP on a DEA, the router's
    reverse proxy on a router node (docs/dev/simulator.md §10)."""
    if not node.get("traffic"):
        return
    if "dea" in node.get("roles", []):
        start_daemon("apps-http.log", "stackato_sim.apps_http")
    if "router" in node.get("roles", []):
        start_daemon("router.log", "stackato_sim.router_proxy")


def wait_for_port(ip: str, port: int, what: str) -> bool:
    """Block until ip:port accepts a connection (or the deadline passes)."""
    deadline = time.monotonic() + PORT_DEADLINE_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.05)  # refused returns at once; nothing to block on but the retry
    say(f"WARNING: {what} ({ip}:{port}) not answering after {PORT_DEADLINE_S:.0f} s")
    return False


def exec_sshd(ip: str, port: int) -> None:
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(SSHD, [SSHD, "-D", "-e", "-p", str(port), "-o", f"ListenAddress={ip}"])


def main() -> None:
    node = load(NODE_JSON)
    load(CLUSTER_JSON)  # fail early and loudly if the harness did not mount it
    ip, is_primary = node["ip"], "primary" in node.get("roles", [])
    say(f"node {node['name']} {ip} roles={','.join(node.get('roles', []))}")
    forget_previous_boot()
    configure_sudo(node)
    install_ssh()
    prepare_s_tree()
    run_node_init()
    start_sentinel_d()
    api = False
    if is_primary:
        start_state_server()
        api = start_api_server()
    start_traffic(node)
    wait_for_port(ip, ports.of(node, "sentinel_port"), "sentinel-d")
    if api:
        wait_for_port(ip, ports.of(node, "api_port"), "Cloud Controller API")
    # Every node waits for the cluster state: once all sshd answer, kato works everywhere.
    wait_for_port(node["primary_ip"], ports.of(node, "state_port"), "cluster state server")
    say("ready, starting sshd")
    exec_sshd(ip, ports.of(node, "ssh_port"))


if __name__ == "__main__":
    main()
