# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""execution-environment.yml with ansible-builder, as an EE build starts, without building an image.

The collection is built with ansible-galaxy as the EE file expects it; `ansible-builder create`
must write a Containerfile that installs it; `ansible-builder introspect` on the installed copy
must list the collection's Python and system dependencies (meta/execution-environment.yml); and
bindep must read the system file and find its packages installed here (a Debian machine).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
TARBALL = f"stackato-cluster-{VERSION}.tar.gz"


def run(*argv, cwd=None, env=None):
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=300)
    assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A copy of execution-environment.yml next to dist/<the collection built from this checkout>."""
    work = tmp_path_factory.mktemp("ee")
    run(BIN / "ansible-galaxy", "collection", "build", "--output-path", work / "dist", REPO)
    assert (work / "dist" / TARBALL).is_file()
    shutil.copy(REPO / "execution-environment.yml", work / "execution-environment.yml")
    return work


def test_the_ee_file_installs_this_version_of_the_collection():
    ee = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    assert [f["src"] for f in ee["additional_build_files"]] == [f"dist/{TARBALL}"]
    assert ee["dependencies"]["galaxy"]["collections"] == [{"name": f"collections/{TARBALL}", "type": "file"}]
    pinned = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines()
                  if "==" in line and not line.startswith("#"))
    assert ee["dependencies"]["ansible_core"]["package_pip"] == f"ansible-core=={pinned['ansible-core']}"
    assert ee["dependencies"]["ansible_runner"]["package_pip"] == f"ansible-runner=={pinned['ansible-runner']}"


def test_ansible_builder_create_writes_a_containerfile(built):
    run(BIN / "ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context", cwd=built)
    containerfile = (built / "context" / "Containerfile").read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==' in containerfile
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "introspect" in containerfile  # the collection's dependencies are read from the installed copy
    assert "install-from-bindep" in containerfile
    # every job in the EE has the collection's progress callback enabled
    assert "ENV ANSIBLE_CALLBACKS_ENABLED=stackato.cluster.upgrade_progress" in containerfile
    assert (built / "context" / "_build" / "collections" / TARBALL).is_file()
    requirements = yaml.safe_load((built / "context" / "_build" / "requirements.yml").read_text())
    assert requirements == {"collections": [{"name": f"collections/{TARBALL}", "type": "file"}]}


def test_ansible_builder_introspect_lists_the_collection_dependencies(built):
    installed = built / "installed"
    run(BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", installed, built / "dist" / TARBALL,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "ANSIBLE_COLLECTIONS_PATH": str(installed), "HOME": str(built)})
    listing = yaml.safe_load(run(BIN / "ansible-builder", "introspect", installed).split("\n", 1)[1])
    assert listing["python"] == ["jinja2>=3.1  # from collection stackato.cluster"]
    assert sorted(listing["system"]) == ["openssh-client [platform:dpkg]  # from collection stackato.cluster",
                                         "openssh-clients [platform:rpm]  # from collection stackato.cluster"]


def test_bindep_reads_the_system_requirements_and_finds_them_here():
    assert run(BIN / "bindep", "--file", REPO / "meta" / "ee-bindep.txt", "--brief").strip() == ""
