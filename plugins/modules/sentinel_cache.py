#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: sentinel_cache
short_description: Point the Sentinel upgrade cache at a directory
version_added: 1.0.0
description:
  - Sets C(cache_dir) in the Sentinel daemon's configuration file, the step the upgrade guide gives
    for a cache node without enough space under C(/s), and creates the directory with the given owner,
    group and mode.
  - Edits the file line by line, so other keys and comments stay as they are; adds the key when missing.
  - Returns RV(restart_needed) when the file changed; restart C(sentinel-d) then
    (C(service sentinel-d restart)), for example from a handler.
  - Needs C(become), as the directory may be outside the C(stackato) user's reach.
author:
  - Stackato Cluster Maintainers (@stackato-cluster)
extends_documentation_fragment:
  - stackato.cluster.kato.ATTRIBUTES
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  cache_dir:
    description:
      - The directory Sentinel keeps downloaded upgrade content in.
    type: path
    required: true
  config_path:
    description:
      - The Sentinel daemon configuration file.
    type: path
    default: /s/code/sentinel/daemon/config/config.yml
  owner:
    description:
      - Owner of O(cache_dir).
    type: str
    default: stackato
  group:
    description:
      - Group of O(cache_dir).
    type: str
    default: stackato
  mode:
    description:
      - Mode of O(cache_dir), as an octal string such as V('0755') or a symbolic mode such as V(u=rwx,go=rx).
    type: raw
    default: '0755'
seealso:
  - module: stackato.cluster.kato_upgrade
"""

EXAMPLES = r"""
- name: Move the Sentinel cache to the big disk
  stackato.cluster.sentinel_cache:
    cache_dir: /data/sentinel-cache
  become: true
  notify: Restart sentinel-d
"""

RETURN = r"""
before:
  description: The C(cache_dir) before the task; V(null) when the key was missing.
  returned: success
  type: str
  sample: /s/sentinel-cache
after:
  description: The C(cache_dir) after the task.
  returned: success
  type: str
  sample: /data/sentinel-cache
restart_needed:
  description: Whether the configuration changed, so that C(sentinel-d) must be restarted to use it.
  returned: success
  type: bool
  sample: true
"""

import json
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

KEY_RE = re.compile(r"""^cache_dir[ \t]*:(?P<value>[^#\n]*?)(?P<comment>[ \t]+#.*)?[ \t]*$""")
PLAIN_RE = re.compile(r"^[A-Za-z0-9_./~+-][A-Za-z0-9_./~+@-]*$")


def yaml_scalar(text):
    """The value of a one-line YAML scalar (plain, 'single' or "double" quoted)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return json.loads(text)
        except ValueError:
            return text[1:-1]
    return text or None


def yaml_quote(value):
    return value if PLAIN_RE.match(value) and value not in ("null", "true", "false", "~") else json.dumps(value)


def set_cache_dir(content, cache_dir):
    """(old value, new content): content with cache_dir set; other lines untouched."""
    lines = content.splitlines(True)
    for index, line in enumerate(lines):
        match = KEY_RE.match(line.rstrip("\r\n"))
        if match:
            old = yaml_scalar(match.group("value"))
            if old == cache_dir:
                return old, content
            ending = line[len(line.rstrip("\r\n")):]
            lines[index] = f"cache_dir: {yaml_quote(cache_dir)}{match.group('comment') or ''}{ending}"
            return old, "".join(lines)
    if content and not content.endswith("\n"):
        content += "\n"
    return None, f"{content}cache_dir: {yaml_quote(cache_dir)}\n"


def write_atomically(module, path, content):
    fd, tmp = tempfile.mkstemp(prefix=".sentinel_cache.", dir=os.path.dirname(path))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    module.atomic_move(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec={
            "cache_dir": {"type": "path", "required": True},
            "config_path": {"type": "path", "default": "/s/code/sentinel/daemon/config/config.yml"},
            "owner": {"type": "str", "default": "stackato"},
            "group": {"type": "str", "default": "stackato"},
            "mode": {"type": "raw", "default": "0755"},
        },
        supports_check_mode=True,
    )
    params = module.params
    cache_dir, config_path = os.path.normpath(params["cache_dir"]), params["config_path"]
    if not os.path.isabs(cache_dir):
        module.fail_json(msg=f"cache_dir={cache_dir} must be an absolute path")
    try:
        with open(config_path, encoding="utf-8") as handle:
            content = handle.read()
    except OSError as exc:
        module.fail_json(msg=f"cannot read the Sentinel configuration {config_path}: {exc.strerror}; Sentinel comes "
                             f"with Stackato 3.4.1 and later, or set config_path")
    before, new_content = set_cache_dir(content, cache_dir)
    config_changed = new_content != content
    diff = [{"before": content, "after": new_content, "before_header": config_path, "after_header": config_path}]
    changed = config_changed

    if config_changed and not module.check_mode:
        write_atomically(module, config_path, new_content)

    dir_diff = {"before": {"path": cache_dir}, "after": {"path": cache_dir}}
    if not os.path.isdir(cache_dir):
        if os.path.exists(cache_dir):
            module.fail_json(msg=f"cache_dir={cache_dir} exists and is not a directory; choose another path or remove it")
        changed = True
        dir_diff["before"]["state"], dir_diff["after"]["state"] = "absent", "directory"
        if not module.check_mode:
            try:
                os.makedirs(cache_dir)
            except OSError as exc:
                module.fail_json(msg=f"cannot create cache_dir {cache_dir}: {exc.strerror}; run the task with become: true")
    if os.path.isdir(cache_dir):
        file_args = module.load_file_common_arguments(
            {"path": cache_dir, "owner": params["owner"], "group": params["group"], "mode": params["mode"]})
        changed = module.set_fs_attributes_if_different(file_args, changed, dir_diff)
    diff.append(dir_diff)

    module.exit_json(changed=changed, before=before, after=cache_dir, restart_needed=config_changed, diff=diff)


if __name__ == "__main__":
    main()
