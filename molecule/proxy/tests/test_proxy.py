"""proxy: the upgrade works through the proxy; preflight names the hosts when it is down."""
import json

import journal


def test_every_node_at_target():
    for host in journal.nodes():
        assert journal.kato_version(host) == journal.TARGET


def test_preflight_names_unreachable_hosts_when_proxy_down():
    result = json.loads((journal.CLUSTER_DIR / "preflight-proxy-down.json").read_text())
    assert result["rc"] != 0
    assert "upgrade.stackato.com:443" in result["stdout"]
    assert "through the proxy" in result["stdout"]
