"""proxy: the upgrade works through the proxy; preflight names the hosts when it is down."""
import pytest

import journal

SEED_ENDPOINTS = ["component-images.stackato.com:443", "docker.stackato.com:443", "upgrade.stackato.com:443",
                  "github.com:443", "s3.amazonaws.com:443", "rubygems.org:443", "api.rubygems.org:443",
                  "api.rubygems.org:80", "us.archive.ubuntu.com:80", "mirrors.kernel.org:80",
                  "security.ubuntu.com:80", "get.docker.io:80", "ppa.launchpad.net:80"]


@pytest.fixture(scope="module")
def proxy_down():
    return journal.saved_run("preflight-proxy-down.json")


def test_every_node_at_target():
    for host in journal.nodes():
        assert journal.kato_version(host) == journal.TARGET, host.backend.host


def test_upgrade_downloaded_from_upstream():
    evts = journal.events()
    assert journal.TARGET in {e["version"] for e in journal.of(evts, "download_done") if e["source"] == "upstream"}
    assert journal.of(evts, "upstream_request")


def test_nodes_cannot_reach_upstream_directly():
    # The seed host names resolve to a black hole on the nodes: only the proxy gets through.
    host = journal.nodes()[0]
    assert host.run("python3 -c \"import socket; socket.create_connection(('upgrade.stackato.com', 443), 3)\"").rc != 0


def test_preflight_fails_naming_every_unreachable_host(proxy_down):
    assert proxy_down["rc"] != 0
    assert "Preflight failed, nothing was changed" in proxy_down["stdout"]
    lines = [line for line in proxy_down["stdout"].splitlines() if "FAIL [upstream]" in line]
    assert len(lines) == len(journal.node_ips()), lines
    for line in lines:
        assert "through the proxy" in line and "unreachable" in line and "Fix:" in line
        for endpoint in SEED_ENDPOINTS:
            assert endpoint in line, (endpoint, line)
