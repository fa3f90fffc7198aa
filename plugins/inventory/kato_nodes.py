# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: kato_nodes
short_description: The nodes of a Stackato cluster, from C(kato node list) on its core node
version_added: 1.1.0
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
description:
  - Given only the address of the Stackato core node and SSH access to it, runs C(kato node list) there over SSH
    (C(ssh) with C(BatchMode=yes), no terminal) and builds the groups the playbooks of this collection use.
  - Reads the documented text form only, one line per node, its IP first and its roles after it on the same line,
    separated by spaces or commas; header lines, C(WARNING:) lines and blank lines are ignored.
  - "Groups: C(stackato) with the children C(core), C(controller), C(router), C(dea) and C(data_services). Each node is
    in one of them, as in the example inventory: the node with the C(primary) role only in C(core); otherwise the first
    of C(controller), C(router), C(dea) it has; otherwise C(data_services) when it has a data-service role (such as
    C(filesystem), C(mysql), C(postgresql), C(mongodb), C(redis), C(rabbit), C(rabbit3), C(memcached), C(harbor)).
    A node with none of these roles is only in C(stackato); the preflight inventory check then reports it."
  - "Host variables: C(ansible_host) and C(stackato_node_ip) (the IP kato lists), C(stackato_roles) (its sorted roles).
    The inventory host name is the IP, or the name O(host_names) gives it."
  - The file must end in C(kato_nodes.yml) or C(kato_nodes.yaml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin, so that Ansible uses it for the file.
    required: true
    type: str
    choices: ['stackato.cluster.kato_nodes']
  core_host:
    description:
      - Address (name or IP) of the core node, as SSH reaches it from where the inventory is built.
      - AWX passes the source variables of an inventory source from a project as environment variables, so the
        source can set E(STACKATO_KATO_NODES_CORE_HOST) instead.
    required: true
    type: str
    env:
      - name: STACKATO_KATO_NODES_CORE_HOST
  ssh_user:
    description: The user SSH logs in as on the core node; kato runs as this user (never root).
    type: str
    default: stackato
    env:
      - name: STACKATO_KATO_NODES_SSH_USER
  ssh_port:
    description: The SSH port of the core node.
    type: int
    default: 22
    env:
      - name: STACKATO_KATO_NODES_SSH_PORT
  ssh_private_key_file:
    description:
      - Private key for the SSH login. Without it, SSH uses its agent or its default keys.
      - In AWX the "Stackato inventory SSH key" credential type (docs/awx.md) writes the key to a file and names it in
        E(STACKATO_KATO_NODES_SSH_KEY_FILE).
    type: path
    env:
      - name: STACKATO_KATO_NODES_SSH_KEY_FILE
  ssh_common_args:
    description:
      - More C(ssh) arguments, placed before the host (for example C(-o StrictHostKeyChecking=no)).
    type: list
    elements: str
    default: []
  ssh_executable:
    description: The C(ssh) client to run.
    type: str
    default: ssh
  kato_path:
    description: Path of kato on the core node.
    type: str
    default: /home/stackato/bin/kato
  timeout:
    description: Seconds the whole SSH command may take (connecting and C(kato node list)).
    type: int
    default: 60
  host_names:
    description:
      - Inventory host names by node IP. A node not named here is called by its IP.
    type: dict
    default: {}
  connection_vars:
    description:
      - Set C(ansible_user) and C(ansible_port) on the group C(stackato) from O(ssh_user) and O(ssh_port), so that the
        playbooks reach every node the way this plugin reached the core.
      - The key is not set, since its path may be valid only while the inventory is built (as in an AWX inventory
        update); give it to the run instead (C(--private-key), C(ansible.cfg), an AWX Machine credential).
    type: bool
    default: false
notes:
  - Every node must be reachable at the IP kato lists it by; when it is not, set C(ansible_host) with O(compose).
  - The result is cached when O(cache=true); C(ansible-inventory --flush-cache) reads kato again.
"""

EXAMPLES = r"""
# stackato.kato_nodes.yml: the whole cluster from its core node
plugin: stackato.cluster.kato_nodes
core_host: core.example.com
ssh_user: stackato
ssh_private_key_file: ~/.ssh/stackato_ed25519
connection_vars: true
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/stackato-kato-nodes
cache_timeout: 600

---
# As an AWX inventory source from a project (awx/inventory/stackato.kato_nodes.yml): the source
# variables STACKATO_KATO_NODES_CORE_HOST (and _SSH_PORT) give the core node, the credential type
# "Stackato inventory SSH key" the key; the jobs get user and key from their Machine credential
plugin: stackato.cluster.kato_nodes
connection_vars: true
ssh_common_args: ['-o', 'StrictHostKeyChecking=accept-new']
host_names:
  127.0.0.11: core
  127.0.0.21: dea1
"""

import ipaddress
import shlex
import subprocess

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.stackato.cluster.plugins.module_utils._kato import KATO_ENVIRON, parse_node_list

try:  # ansible-core 2.19+: values from a plugin are untrusted (exported as __ansible_unsafe) unless marked
    from ansible.template import trust_as_template
except ImportError:  # older ansible-core: plain strings are exported as they are
    def trust_as_template(value):
        return value
from ansible_collections.stackato.cluster.plugins.module_utils._rules import UPGRADE_GROUPS, inventory_group

PARENT_GROUP = "stackato"


def node_list_argv(options):
    """The ssh argv that runs ``kato node list`` on the core node (no terminal, never a prompt)."""
    argv = [options["ssh_executable"], "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            "-p", str(options["ssh_port"]), "-l", options["ssh_user"]]
    if options.get("ssh_private_key_file"):
        argv += ["-i", options["ssh_private_key_file"], "-o", "IdentitiesOnly=yes"]
    argv += list(options.get("ssh_common_args") or [])
    env = " ".join(f"{key}={value}" for key, value in sorted(KATO_ENVIRON.items()))
    argv += [options["core_host"], f"env {env} {shlex.quote(options['kato_path'])} node list"]
    return argv


def cluster_groups(nodes):
    """``{ip: roles}`` -> ``{group: [ip, ...]}`` for the groups of UPGRADE_GROUPS (the one rule: _rules.inventory_group)."""
    groups = {group: [] for group in UPGRADE_GROUPS}
    for ip in sorted(nodes, key=ipaddress.ip_address):
        group = inventory_group(nodes[ip])
        if group:
            groups[group].append(ip)
    return groups


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Builds the stackato groups from ``kato node list`` on the core node."""

    NAME = "stackato.cluster.kato_nodes"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("kato_nodes.yml", "kato_nodes.yaml"))

    def _read_nodes(self):
        options = {name: self.get_option(name) for name in (
            "core_host", "ssh_user", "ssh_port", "ssh_private_key_file", "ssh_common_args", "ssh_executable",
            "kato_path")}
        argv = node_list_argv(options)
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=self.get_option("timeout"), check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AnsibleParserError(f"kato_nodes: could not run {shlex.join(argv)}: {exc}") from exc
        if done.returncode != 0:
            raise AnsibleParserError(
                f"kato_nodes: `kato node list` on {options['core_host']} failed (rc={done.returncode}): "
                f"{(done.stderr or done.stdout).strip()} [{shlex.join(argv)}]")
        nodes = parse_node_list(done.stdout)
        if not nodes:
            raise AnsibleParserError(
                f"kato_nodes: `kato node list` on {options['core_host']} listed no node (a line starting with an IP): "
                f"{done.stdout.strip()!r}")
        return nodes

    def _populate(self, nodes):
        names = {str(ip): str(name) for ip, name in (self.get_option("host_names") or {}).items()}
        strict = self.get_option("strict")
        self.inventory.add_group(PARENT_GROUP)
        for group in UPGRADE_GROUPS:
            self.inventory.add_group(group)
            self.inventory.add_child(PARENT_GROUP, group)
        if self.get_option("connection_vars"):
            self.inventory.set_variable(PARENT_GROUP, "ansible_user", self.get_option("ssh_user"))
            self.inventory.set_variable(PARENT_GROUP, "ansible_port", self.get_option("ssh_port"))
        groups = cluster_groups(nodes)
        grouped = {ip for members in groups.values() for ip in members}
        for ip in sorted(nodes, key=ipaddress.ip_address):
            host = names.get(ip, ip)
            if ip in grouped:
                group = next(g for g, members in groups.items() if ip in members)
                self.inventory.add_host(host, group=group)
            else:
                self.display.warning(f"kato_nodes: node {ip} ({' '.join(nodes[ip]) or 'no roles'}) has no role of an "
                                     f"upgrade group; it is only in group {PARENT_GROUP}")
                self.inventory.add_host(host, group=PARENT_GROUP)
            # IPs (parsed by ipaddress) and role names (letters, digits, '_' and '-' only) hold no template
            hostvars = {"ansible_host": trust_as_template(ip), "stackato_node_ip": trust_as_template(ip),
                        "stackato_roles": [trust_as_template(role) for role in nodes[ip]]}
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        nodes = None
        if use_cache:
            try:
                nodes = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if nodes is None:
            nodes = self._read_nodes()
        if update_cache:
            self._cache[cache_key] = nodes
        self._populate(nodes)
