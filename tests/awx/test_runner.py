# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The job templates run as AWX runs them: ansible-runner on a private data dir, no terminal.

One simulated micro cluster. The project is the repository at a commit (HEAD), as AWX syncs it. The inventory is synced as an AWX inventory update does it: the
project's awx/inventory/stackato.kato_nodes.yml through ``ansible-inventory --list --export``,
its source variables as environment variables and the key from the "Stackato inventory SSH key"
credential as a file; the job then gets that inventory as a script. Each job's private data dir
holds the project (this collection's playbooks), the collection installed from its build (as AWX
installs a project's collections into requirements_collections), env/extravars with the survey
answers typed as AWX types them (launch validated by AWX's rules, tests/awx/awx_rules.py) and the
awx_* variables, env/ssh_key (the Machine credential), env/cmdline (-u, --forks, -t, and the
custom credential's extra vars file) and env/envvars. Asserts on the runner's artifacts.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "harness"))
import awx_rules  # noqa: E402  pylint: disable=wrong-import-position
from harness_support import running_cluster  # noqa: E402  pylint: disable=wrong-import-position

ansible_runner = pytest.importorskip("ansible_runner")

NAME = "awx-test"
OCTET = 77
CORE_IP = f"127.42.{OCTET}.11"
BIN = Path(sys.executable).parent
TEMPLATES = {t["name"]: t for t in yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["stackato_awx_job_templates"]}
DEFAULTS = yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["stackato_awx_template_defaults"]
# AWX's job settings for the operator guide's speed settings ("Speed"), as environment variables
SPEED_ENV = {"ANSIBLE_PIPELINING": "True", "ANSIBLE_GATHERING": "explicit",
             "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=300s -o ServerAliveInterval=30"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The cluster, the collection built and installed, and the inventory synced from kato_nodes."""
    work = tmp_path_factory.mktemp("awx")
    # the project as AWX syncs it: the repository at a commit (STACKATO_AWX_TEST_REF, default HEAD)
    project = work / "project"
    project.mkdir()
    ref = os.environ.get("STACKATO_AWX_TEST_REF", "HEAD")
    archive = subprocess.run(["git", "-C", REPO, "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", project], input=archive, check=True)
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", work / "dist", project],
                   check=True, capture_output=True)
    tarball = sorted((work / "dist").glob("stackato-cluster-*.tar.gz"))[0]
    collections = work / "requirements_collections"
    subprocess.run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", collections, tarball],
                   check=True, capture_output=True, env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(work),
                                                         "ANSIBLE_COLLECTIONS_PATH": str(collections)})
    with running_cluster("micro", NAME, OCTET) as inventory:
        cluster_vars = yaml.safe_load((inventory.parent / "group_vars" / "stackato.yml").read_text())
        key = Path(re.search(r"ansible_ssh_private_key_file=(\S+)", inventory.read_text()).group(1))
        # the inventory update: source file from the project, source vars and the key file as AWX injects them
        key_copy = work / "inventory-update-key"
        key_copy.write_text(key.read_text())
        key_copy.chmod(stat.S_IRUSR | stat.S_IWUSR)
        sync = subprocess.run(
            [BIN / "ansible-inventory", "-i", project / "awx" / "inventory" / "stackato.kato_nodes.yml", "--list", "--export"],
            capture_output=True, text=True, check=False, timeout=120,
            env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(work), "ANSIBLE_COLLECTIONS_PATH": str(collections),
                 "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "INVENTORY_UPDATE_ID": "1",
                 "STACKATO_KATO_NODES_CORE_HOST": CORE_IP, "STACKATO_KATO_NODES_SSH_PORT": "2222",
                 "STACKATO_KATO_NODES_SSH_KEY_FILE": str(key_copy)})
        assert sync.returncode == 0, sync.stderr
        synced = json.loads(sync.stdout)
        # the inventory's own variables (set on the AWX inventory); the API password comes from a credential
        synced["stackato"].setdefault("vars", {}).update(
            {k: v for k, v in cluster_vars.items() if k != "stackato_api_password"})
        yield {"work": work, "project": project, "collections": collections, "inventory": synced, "key": key.read_text(),
               "api_password": cluster_vars["stackato_api_password"]}


def test_the_inventory_update_builds_the_groups_from_kato(site):
    inventory = site["inventory"]
    assert inventory["core"]["hosts"] == [CORE_IP]
    assert inventory["stackato"]["vars"]["ansible_port"] == 2222
    node = inventory["_meta"]["hostvars"][CORE_IP]
    assert node["stackato_node_ip"] == CORE_IP and "primary" in node["stackato_roles"]


_JOB_IDS = iter(range(101, 200))


def launch(site, template_name, answers):
    """Run one job of a template as AWX would; return (runner result, events, private data dir)."""
    template = TEMPLATES[template_name]
    # the launch form starts from each question's default; AWX refuses a launch its rules refuse
    answers = dict({q["variable"]: q["default"] for q in template["survey_spec"]["spec"] if "default" in q}, **answers)
    extra = awx_rules.launch_extra_vars(template["survey_spec"], answers)
    job_id = next(_JOB_IDS)
    pdd = site["work"] / f"job_{job_id}"
    (pdd / "project").mkdir(parents=True)
    for part in ("playbooks", "awx"):
        shutil.copytree(site["project"] / part, pdd / "project" / part)
    (pdd / "inventory").mkdir()
    script = pdd / "inventory" / "hosts"
    script.write_text("#!/bin/sh\ncat <<'EOF'\n" + json.dumps(site["inventory"]) + "\nEOF\n")
    script.chmod(0o700)
    env = pdd / "env"
    env.mkdir()
    extra.update({f"{prefix}_{key}": value for prefix in ("awx", "tower") for key, value in {
        "job_id": job_id, "job_launch_type": "manual", "job_template_id": 7, "job_template_name": template_name,
        "user_name": "admin", "inventory_id": 3, "inventory_name": "Stackato cluster",
        "project_revision": "0" * 40, "execution_node": "localhost"}.items()})
    (env / "extravars").write_text(json.dumps(extra))
    credential_vars = env / "tmp_stackato_cluster_credential"  # the custom credential type's extra_vars injector
    credential_vars.write_text(json.dumps({"stackato_api_password": site["api_password"]}))
    credential_vars.chmod(stat.S_IRUSR | stat.S_IWUSR)
    (env / "ssh_key").write_text(site["key"])
    cmdline = ["-u", "stackato", f"--forks={DEFAULTS['forks']}"]
    if template.get("job_tags"):
        cmdline += ["-t", template["job_tags"]]
    cmdline += ["-e", f"@{credential_vars}"]
    (env / "cmdline").write_text(" ".join(cmdline))
    (pdd / "cp").mkdir(mode=0o700)
    (env / "envvars").write_text(json.dumps(dict(SPEED_ENV, **{
        "JOB_ID": str(job_id), "INVENTORY_ID": "3", "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_SSH_CONTROL_PATH_DIR": str(pdd / "cp"),
        # AWX sets both names (ansible-core 2.21 reads only the second)
        "ANSIBLE_COLLECTIONS_PATHS": str(site["collections"]), "ANSIBLE_COLLECTIONS_PATH": str(site["collections"]),
        "ANSIBLE_FORCE_COLOR": "False",
        "PATH": f"{BIN}:/usr/bin:/bin"})))
    result = ansible_runner.run(private_data_dir=str(pdd), playbook=template["playbook"], ident=f"job{job_id}",
                                quiet=True, timeout=300)
    events = [json.loads(p.read_text()) for p in
              sorted((pdd / "artifacts" / f"job{job_id}" / "job_events").glob("*.json"),
                     key=lambda p: int(p.name.split("-", 1)[0]))]
    return result, events, pdd


def tasks(events, kind):
    return [e["event_data"].get("task", "") for e in events if e["event"] == kind]


def actions(events, kind, role=None):
    """The modules of the events of a kind (runner_on_ok, ...), of one role when given."""
    return [e["event_data"].get("task_action", "") for e in events if e["event"] == kind
            and (role is None or e["event_data"].get("role") == role)]


def explain(result, pdd):
    stdout = pdd / "artifacts" / result.config.ident / "stdout"
    return stdout.read_text()[-4000:] if stdout.exists() else ""


def test_preflight_plan_succeeds(site):
    result, events, pdd = launch(site, "Stackato: preflight (plan)", {
        "stackato_target_version": "3.6.2", "stackato_cache_ip": CORE_IP, "preflight_min_free_disk_gb": 7,
        "preflight_skip_checks": [], "preflight_accept_risks": []})
    assert (result.status, result.rc) == ("successful", 0), explain(result, pdd)
    assert events[-1]["event"] == "playbook_on_stats"
    ok = actions(events, "runner_on_ok", role="preflight")
    for module in ("kato_info", "node_resources_info", "upstream_reachability_info", "stackato_apps_info"):
        assert f"stackato.cluster.{module}" in ok, ok
    assert not tasks(events, "runner_on_failed")
    assert "stackato.cluster.kato_upgrade" not in actions(events, "runner_on_ok")


def test_preflight_failure_is_in_the_artifacts(site):
    result, events, pdd = launch(site, "Stackato: preflight (plan)", {
        "stackato_target_version": "3.6.2", "preflight_min_free_disk_gb": 100000})
    assert result.status == "failed" and result.rc != 0, explain(result, pdd)
    failed = [e for e in events if e["event"] == "runner_on_failed"]
    assert failed, explain(result, pdd)
    messages = json.dumps([e["event_data"]["res"] for e in failed])
    assert "disk" in messages and "100000" in messages, messages
    stats = events[-1]
    assert stats["event"] == "playbook_on_stats" and stats["event_data"]["failures"]


def test_prefetch_downloads_into_the_cache(site):
    result, events, pdd = launch(site, "Stackato: prefetch", {"stackato_target_version": "3.6.2"})
    assert (result.status, result.rc) == ("successful", 0), explain(result, pdd)
    assert events[-1]["event"] == "playbook_on_stats"
    assert "stackato.cluster.kato_upgrade" in actions(events, "runner_on_ok", role="prefetch")
    assert "stackato.cluster.kato_upgrade" not in actions(events, "runner_on_ok", role="node_upgrade")


def test_upgrade_then_resume_skips_the_upgraded_node(site):
    answers = {"stackato_target_version": "3.6.2", "maintenance_mode_on_failure": "keep"}
    result, events, pdd = launch(site, "Stackato: upgrade", answers)
    assert (result.status, result.rc) == ("successful", 0), explain(result, pdd)
    upgraded = [e for e in events if e["event"] == "runner_on_ok" and e["event_data"].get("role") == "node_upgrade"
                and e["event_data"].get("task_action") == "stackato.cluster.kato_upgrade"]
    assert [e["event_data"]["host"] for e in upgraded] == [CORE_IP]
    assert upgraded[0]["event_data"]["res"].get("changed") is True
    assert events[-1]["event"] == "playbook_on_stats" and not events[-1]["event_data"]["failures"]
    # resume: the same template again; the node at the target is not upgraded again
    result, events, pdd = launch(site, "Stackato: resume upgrade", answers)
    assert (result.status, result.rc) == ("successful", 0), explain(result, pdd)
    assert not [e for e in events if e["event"] == "runner_on_ok" and e["event_data"].get("role") == "node_upgrade"
                and e["event_data"].get("task_action") == "stackato.cluster.kato_upgrade"
                and e["event_data"]["res"].get("changed")]
