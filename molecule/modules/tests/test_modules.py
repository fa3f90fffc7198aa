"""modules: what the converge's module runs really did to the nodes (read back over SSH)."""
import json

import journal

CACHE_DIR = "/var/cache/stackato-sentinel"
SENTINEL_CONFIG = "/s/code/sentinel/daemon/config/config.yml"
BACKUP = "/home/stackato/backup/pre-upgrade.tgz"


def node(name):
    return next(host for host in journal.nodes() if host.backend.get_hostname() == name)


def kato_json(host, *args):
    return json.loads(host.check_output("/home/stackato/bin/kato " + " ".join(args)))


def test_config_values_read_back():
    core = node("micro")
    assert kato_json(core, "config get cloud_controller_ng maintenance_mode --json") is False
    assert kato_json(core, "config get cloud_controller_ng app_uris/reserved_list --json") == \
        ["www", "api", "login", "aok", "console"]


def test_maintenance_mode_set_once_each_way():
    # check mode and the idempotent runs wrote nothing: one true, then the final false
    assert [e["value"] for e in journal.maintenance_sets(journal.events())] == [True, False]


def test_dea_role_of_dea2_stopped_and_started_once():
    dea2 = node("dea2")
    ip = dea2.ansible.get_variables()["stackato_node_ip"]
    states = [e["state"] for e in journal.events() if e["event"] == "role_state" and e.get("role") == "dea"
              and e["node"] == ip]
    assert states[:2] == ["STOPPED", "RUNNING"]


def test_sentinel_cache_dir_configured_and_owned_by_stackato():
    core = node("micro")
    cache = core.file(CACHE_DIR)
    assert cache.is_directory
    assert (cache.user, cache.group, cache.mode) == ("stackato", "stackato", 0o755)
    assert f"cache_dir: {CACHE_DIR}" in core.file(SENTINEL_CONFIG).content_string.splitlines()


def test_backup_archive_written_once():
    core = node("micro")
    archive = core.file(BACKUP)
    assert archive.is_file and archive.size > 0 and archive.user == "stackato"
    assert "stackato-export/manifest.json" in core.check_output(f"tar -tzf {BACKUP}").split()
    exports = [e for e in journal.events() if e["event"] == "data_export"]
    assert len(exports) == 1


def test_kato_updated_once_and_both_nodes_at_target():
    updates = [e for e in journal.events() if e["event"] == "self_update" and e.get("changed")]
    assert updates, "kato_upgrade update_kato=true changed nothing"
    for host in journal.nodes():
        assert journal.kato_version(host) == journal.TARGET


def test_one_dea_retired_with_its_instance_moved():
    evts = journal.events()
    upgrade_end = max(e["ts"] for e in evts if e["event"] == "upgrade_done")
    retired = [e for e in evts if e["event"] == "dea_retired" and e["ts"] > upgrade_end]
    assert len(retired) == 1 and retired[0]["moved"] == 1
    # the retired DEA runs nothing now: the journal's instance moves, whatever kato prints
    dea = retired[0]["dea"]
    after = [e for e in evts if e["ts"] > upgrade_end and e["event"] in ("instance_started", "instance_stopped")]
    assert [e["event"] for e in after if e.get("dea") == dea] == ["instance_stopped"]
