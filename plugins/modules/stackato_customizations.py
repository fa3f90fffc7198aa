#!/usr/bin/python
# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: stackato_customizations
short_description: Save the customized files of a Stackato node before an upgrade, and bring them back after it
version_added: 1.1.0
description:
  - An upgrade deletes edits under C(/s/code), reverts changed files under C(/s/etc) and C(/s/static), and
    overwrites new files there when the release brings one of the same name.
  - With O(state=saved), finds every regular file under O(trees) that differs from the installed release's
    pristine file (V(modified)) or that no installed component ships (V(new)), and writes them with their
    owner, group, mode and content, plus the old pristine text of each modified file, to the archive O(archive).
  - With O(state=restored), after the upgrade, reads O(archive) and puts back every new file the release did
    not bring a file of that name for, and re-applies every modified file by a three-way line merge (old
    pristine, new pristine, customized). A file that cannot be merged, or a new file that collides with one
    the release brought, is a conflict; the release's file stays in place and the customized one is kept
    beside it as C(<file>.customized). Nothing is silently overwritten.
  - The pristine files come from each component's file list, C(/s/code/<component>/<release_dir>/manifest.json)
    (path -> sha256) and the pristine copies under C(<release_dir>/pristine/); see docs/dev/modules.md for the
    status of that source. Without any file list the module fails (O(require_manifest)).
  - Runs with C(become) to read and restore files of every owner.
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
  state:
    description:
      - V(saved) writes the archive; V(restored) applies it.
    type: str
    choices: [saved, restored]
    required: true
  archive:
    description:
      - The archive on the node (a gzipped tar with C(index.json)).
    type: path
    required: true
  trees:
    description:
      - The directories searched for customized files.
    type: list
    elements: path
    default: [/s/code, /s/etc, /s/static]
  exclude:
    description:
      - Paths left alone; a glob pattern (C(fnmatch)) or a directory whose contents are all left alone.
    type: list
    elements: str
    default: []
  release_dir:
    description:
      - The directory, inside each C(/s/code/<component>), that holds the component's file list and pristine copies.
    type: str
    default: .release
  require_manifest:
    description:
      - Fail when no component has a file list. When V(false), every file is V(new) and a warning says so.
    type: bool
    default: true
  root:
    description:
      - A prefix for every path (tests, or a node's disk mounted elsewhere).
    type: path
    default: /
seealso:
  - module: stackato.cluster.stackato_buildpack
"""

EXAMPLES = r"""
- name: Save the customized files before the upgrade
  stackato.cluster.stackato_customizations:
    state: saved
    archive: /var/tmp/stackato-customizations.tar.gz
    exclude: [/s/code/sentinel]
  become: true

- name: Bring them back after the upgrade
  stackato.cluster.stackato_customizations:
    state: restored
    archive: /var/tmp/stackato-customizations.tar.gz
  become: true
"""

RETURN = r"""
files:
  description: The saved files (V(saved)) with C(path), C(kind) (V(new) or V(modified)), C(owner), C(group), C(mode), C(sha256), C(size).
  returned: success
  type: list
  elements: dict
components:
  description: The components whose file list was read, with their version.
  returned: success
  type: dict
  sample: {"nginx": "3.4.2"}
restored:
  description: Paths written back as they were saved (V(restored)).
  returned: success
  type: list
  elements: str
merged:
  description: Paths re-applied by the three-way merge onto the new release's file (V(restored)).
  returned: success
  type: list
  elements: str
unchanged:
  description: Paths already as they should be (V(restored)).
  returned: success
  type: list
  elements: str
conflicts:
  description: Files left as the release brought them, each with C(path), C(aside) (where the customized one is kept) and C(details).
  returned: success
  type: list
  elements: dict
"""

import grp
import gzip
import io
import json
import os
import pwd
import stat
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stackato.cluster.plugins.module_utils import _customizations as rules

CODE = "/s/code"


class Node:
    """The node's files, every path given as on the node and resolved under root."""

    def __init__(self, root, release_dir):
        self.root = root
        self.release_dir = release_dir

    def p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def read(self, path):
        try:
            with open(self.p(path), "rb") as handle:
                return handle.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def manifests(self):
        """({path: sha256}, {path: component}, {component: version}) of every component's file list."""
        files, owner, versions = {}, {}, {}
        code = self.p(CODE)
        for name in sorted(os.listdir(code)) if os.path.isdir(code) else ():
            data = self.read(f"{CODE}/{name}/{self.release_dir}/manifest.json")
            if data is None:
                continue
            try:
                record = json.loads(data)
                listed = record["files"]
            except (ValueError, KeyError, TypeError):
                continue
            versions[name] = str(record.get("version") or "")
            for path, meta in listed.items():
                files[path] = meta.get("sha256") if isinstance(meta, dict) else meta
                owner[path] = name
        return files, owner, versions

    def pristine(self, path, owner):
        if path not in owner:
            return None
        return self.read(f"{CODE}/{owner[path]}/{self.release_dir}/pristine/{path.lstrip('/')}")

    def walk(self, trees, exclude):
        """Every regular file under trees (node paths), sorted; the components' release dirs skipped."""
        found = []
        for tree in trees:
            base = self.p(tree)
            for dirpath, dirnames, filenames in os.walk(base):
                rel = "/" + os.path.relpath(dirpath, self.root)
                if os.path.dirname(rel) == CODE and self.release_dir in dirnames:
                    dirnames.remove(self.release_dir)
                dirnames[:] = sorted(d for d in dirnames if not rules.excluded(f"{rel}/{d}", exclude))
                for name in sorted(filenames):
                    path = f"{rel}/{name}"
                    if rules.excluded(path, exclude):
                        continue
                    if stat.S_ISREG(os.lstat(self.p(path)).st_mode):
                        found.append(path)
        return sorted(set(found))

    def meta(self, path):
        st = os.lstat(self.p(path))
        try:
            owner = pwd.getpwuid(st.st_uid).pw_name
        except KeyError:
            owner = str(st.st_uid)
        try:
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group = str(st.st_gid)
        return {"owner": owner, "group": group, "mode": "%04o" % stat.S_IMODE(st.st_mode)}

    def write(self, path, content, meta, warnings):
        target = self.p(path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".stackato-restore.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.chmod(tmp, int(meta.get("mode") or "0644", 8))
            if os.geteuid() == 0:
                os.chown(tmp, _uid(meta.get("owner")), _gid(meta.get("group")))
            elif meta.get("owner") not in (None, pwd.getpwuid(os.geteuid()).pw_name):
                warnings.append(f"{path}: not running as root, so it keeps this user instead of {meta.get('owner')}")
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def _uid(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return int(name) if str(name).isdigit() else -1


def _gid(name):
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return int(name) if str(name).isdigit() else -1


def build_archive(index, blobs):
    """A deterministic gzipped tar (same input, same bytes): index.json, then the blobs by name."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        members = [("index.json", json.dumps(index, indent=1, sort_keys=True).encode())] + sorted(blobs.items())
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o600
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def read_archive(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        blobs = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    return json.loads(blobs.pop("index.json")), blobs


def save(module, node):
    params = module.params
    pristine, owner, versions = node.manifests()
    if not versions:
        msg = (f"no component under {CODE} has a file list ({CODE}/<component>/{params['release_dir']}/manifest.json), "
               "so modified files cannot be told from pristine ones")
        if params["require_manifest"]:
            module.fail_json(msg=msg + "; set customizations_require_manifest=false to save every file as new")
        module.warn(msg + "; every file is saved as new")
    entries, blobs = [], {}
    for path in node.walk(params["trees"], params["exclude"]):
        content = node.read(path)
        if content is None:
            continue
        kind = rules.classify(path, rules.sha256(content), pristine)
        if kind == "pristine":
            continue
        entry = dict(node.meta(path), path=path, kind=kind, sha256=rules.sha256(content), size=len(content))
        blobs["custom" + path] = content
        if kind == "modified":
            old = node.pristine(path, owner)
            if old is not None:
                blobs["pristine" + path] = old
            entry["component"] = owner[path]
            entry["pristine_copy"] = old is not None
        entries.append(entry)
    index = {"format": 1, "components": versions, "files": entries}
    data = build_archive(index, blobs)
    archive = params["archive"]
    before = _read_plain(archive)
    changed = before != data
    if changed and not module.check_mode:
        os.makedirs(os.path.dirname(archive) or ".", exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(archive) or ".")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, archive)
    result = {"changed": changed, "files": entries, "components": versions, "archive": archive}
    if module._diff:
        result["diff"] = {"before": {"files": _summary(before)}, "after": {"files": sorted(e["path"] for e in entries)}}
    return result


def _read_plain(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _summary(data):
    if data is None:
        return []
    try:
        return sorted(e["path"] for e in read_archive(data)[0]["files"])
    except (OSError, ValueError, KeyError, tarfile.TarError):
        return []


def restore(module, node):
    params = module.params
    data = _read_plain(params["archive"])
    if data is None:
        module.fail_json(msg=f"no saved customizations at {params['archive']}: run the save (state=saved) before the upgrade")
    index, blobs = read_archive(data)
    pristine, owner, versions = node.manifests()
    if not versions and params["require_manifest"]:
        module.fail_json(msg=f"no component under {CODE} has a file list after the upgrade, so the new release's files "
                             "cannot be told apart; nothing was restored")
    result = {"changed": False, "restored": [], "merged": [], "unchanged": [], "conflicts": [],
              "components": versions, "archive": params["archive"]}
    warnings, before, after = [], {}, {}
    for entry in index.get("files", []):
        path = entry["path"]
        if rules.excluded(path, params["exclude"]):
            continue
        custom = blobs.get("custom" + path)
        current = node.read(path)
        new_pristine = None
        if path in pristine:
            new_pristine = node.pristine(path, owner)
            if new_pristine is None and current is not None and rules.sha256(current) == pristine[path]:
                new_pristine = current
        action, write, aside, details = rules.restore_action(entry, current, new_pristine, blobs.get("pristine" + path), custom)
        if action == "conflict":
            aside_path = path + rules.CUSTOMIZED_SUFFIX
            result["conflicts"].append({"path": path, "aside": aside_path, "details": details})
            if node.read(aside_path) != aside:
                result["changed"] = True
                before[aside_path], after[aside_path] = "absent or different", "customized version"
                if not module.check_mode:
                    node.write(aside_path, aside, entry, warnings)
            continue
        result[action if action in ("restored", "merged") else "unchanged"].append(path)
        if write is not None:
            result["changed"] = True
            before[path] = "absent" if current is None else rules.sha256(current)
            after[path] = rules.sha256(write)
            if not module.check_mode:
                node.write(path, write, entry, warnings)
    for warning in warnings:
        module.warn(warning)
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["saved", "restored"], "required": True},
            "archive": {"type": "path", "required": True},
            "trees": {"type": "list", "elements": "path", "default": list(rules.TREES)},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "release_dir": {"type": "str", "default": ".release"},
            "require_manifest": {"type": "bool", "default": True},
            "root": {"type": "path", "default": "/"},
        },
        supports_check_mode=True,
    )
    node = Node(module.params["root"], module.params["release_dir"])
    try:
        result = save(module, node) if module.params["state"] == "saved" else restore(module, node)
    except (OSError, ValueError, KeyError, tarfile.TarError) as exc:
        module.fail_json(msg=f"{module.params['state']}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
