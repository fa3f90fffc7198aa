"""customizations (micro): what prepare.yml customized is back after the upgrade; the conflict is
reported with both versions kept; the custom buildpacks are at their positions; the sample apps'
proxy setting is back."""
import json

import pytest

import journal

API = "https://{ip}:8443"


@pytest.fixture(scope="module")
def node():
    return journal.nodes()[0]


def text(node, path):
    return node.file(path).content_string


def test_node_at_target(node):
    assert journal.kato_version(node) == journal.TARGET


def test_new_files_back_in_all_three_trees(node):
    assert text(node, "/s/code/aok/theme/custom.css") == "body { color: #123456; }\n"
    assert node.file("/s/code/aok/theme/custom.css").mode == 0o640
    assert node.file("/s/code/aok/theme/custom.css").user == "stackato"
    assert text(node, "/s/etc/site/site.yml") == "site: molecule\n"
    assert node.file("/s/etc/site/site.yml").mode == 0o600
    assert text(node, "/s/static/console/js/custom.js") == "// ours\n"


def test_edits_merged_into_the_new_release(node):
    console = text(node, "/s/code/console/lib/console.rb")
    assert f"VERSION = '{journal.TARGET}'" in console and console.endswith("# local patch: longer session timeout\n")
    assert text(node, "/s/etc/nginx/nginx.conf") == f"# Stackato {journal.TARGET}\nworker_processes 8;\n"
    assert text(node, "/s/static/console/css/stackato.css") == f"/* Stackato {journal.TARGET} */\nbody {{ margin: 4px; }}\n"


def test_conflict_keeps_both_versions_and_is_reported(node):
    assert text(node, "/s/etc/router2g/router.yml").startswith(f"# Stackato {journal.TARGET}\n")
    assert text(node, "/s/etc/router2g/router.yml.customized").startswith("# router tuned by ops\n")
    result = node.ansible("stackato.cluster.stackato_customizations",
                          "state=restored archive=/var/tmp/stackato-customizations.tar.gz",
                          check=True, become=True)
    assert [c["path"] for c in result["conflicts"]] == ["/s/etc/router2g/router.yml"]
    assert result["changed"] is False


def test_saved_on_the_controller():
    saved = journal.CLUSTER_DIR / "customizations" / journal.nodes()[0].backend.host
    assert (saved / "files.tar.gz").is_file()
    bps = json.loads((saved / "buildpacks.json").read_text())
    assert {b["name"] for b in bps} == {"bp-first", "bp-late", "custom-go"}


def test_buildpacks_back_at_their_positions(node):
    result = node.ansible("stackato.cluster.stackato_buildpack",
                          f"state=saved dest=/tmp/bp-verify api_url={API.format(ip=journal.core_ip())} "
                          "api_password=stackato-admin ca_path=/etc/stackato-sim/upstream-ca.pem",
                          check=True)
    got = [(b["name"], b["position"], b["locked"], b["filename"]) for b in result["buildpacks"]]
    assert got[0] == ("bp-first", 1, True, "bp-first-v1.zip")
    assert got[4] == ("bp-late", 5, False, "bp-late-v1.zip")
    assert got[-1][0] == "custom-go"
    evts = journal.events()
    removed = {e["name"] for e in journal.of(evts, "buildpack_removed")}
    assert removed == {"bp-first", "bp-late", "custom-go"}


def test_proxy_setting_back(node):
    out = node.check_output("/home/stackato/bin/kato config get dea_ng environment/app_http_proxy --json")
    assert json.loads(out) == "http://proxy.customizations.test:3128"
