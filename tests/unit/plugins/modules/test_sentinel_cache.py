# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import grp
import os
import pwd
import stat

import pytest

from ansible_collections.stackato.cluster.plugins.modules import sentinel_cache

CONFIG = """\
# Sentinel daemon configuration
port: 9292
cache_dir: /s/sentinel-cache   # where downloads go
log_level: info
"""


@pytest.mark.parametrize("content, cache_dir, before, after", [
    (CONFIG, "/data/cache", "/s/sentinel-cache",
     CONFIG.replace("cache_dir: /s/sentinel-cache   #", "cache_dir: /data/cache   #")),
    (CONFIG, "/s/sentinel-cache", "/s/sentinel-cache", CONFIG),
    ("port: 9292\n", "/data/cache", None, "port: 9292\ncache_dir: /data/cache\n"),
    ("port: 9292", "/data/cache", None, "port: 9292\ncache_dir: /data/cache\n"),
    ("", "/data/cache", None, "cache_dir: /data/cache\n"),
    ("cache_dir: '/old dir'\r\nport: 1\r\n", "/old dir", "/old dir", "cache_dir: '/old dir'\r\nport: 1\r\n"),
    ('cache_dir: "/old"\n', "/new dir#1", "/old", 'cache_dir: "/new dir#1"\n'),
    ("  cache_dir: /nested\n", "/data", None, "  cache_dir: /nested\ncache_dir: /data\n"),
    ("cache_dir:\nport: 1\n", "/data", None, "cache_dir: /data\nport: 1\n"),
])
def test_set_cache_dir(content, cache_dir, before, after):
    assert sentinel_cache.set_cache_dir(content, cache_dir) == (before, after)


@pytest.fixture
def me():
    return {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(CONFIG)
    return path


def test_changes_config_and_creates_directory(run_module, config, tmp_path, me):
    cache = tmp_path / "big" / "cache"
    args = dict(me, cache_dir=str(cache), config_path=str(config), mode="0750")
    result, failed, dummy = run_module(sentinel_cache, args, diff=True)
    assert not failed, result
    assert result["changed"] is True and result["restart_needed"] is True
    assert result["before"] == "/s/sentinel-cache" and result["after"] == str(cache)
    assert f"cache_dir: {cache}   # where downloads go\n" in config.read_text()
    assert "log_level: info" in config.read_text()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o750
    assert result["diff"][0]["before"] == CONFIG
    assert result["diff"][1]["before"]["state"] == "absent"

    result, failed, dummy = run_module(sentinel_cache, args)
    assert not failed and result["changed"] is False and result["restart_needed"] is False


def test_mode_change_alone_needs_no_restart(run_module, config, tmp_path, me):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    config.write_text(CONFIG.replace("/s/sentinel-cache", str(cache)))
    result, failed, dummy = run_module(sentinel_cache, dict(me, cache_dir=str(cache), config_path=str(config)))
    assert not failed and result["changed"] is True and result["restart_needed"] is False
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755


def test_check_mode_changes_nothing(run_module, config, tmp_path, me):
    cache = tmp_path / "cache"
    args = dict(me, cache_dir=str(cache), config_path=str(config))
    result, failed, dummy = run_module(sentinel_cache, args, check=True, diff=True)
    assert not failed and result["changed"] is True and result["restart_needed"] is True
    assert config.read_text() == CONFIG
    assert not cache.exists()
    assert str(cache) in result["diff"][0]["after"]


@pytest.mark.parametrize("name, text", [
    ("missing_config", "cannot read the Sentinel configuration"),
    ("file_in_the_way", "exists and is not a directory"),
])
def test_failures(run_module, config, tmp_path, me, name, text):
    cache = tmp_path / "cache"
    args = dict(me, cache_dir=str(cache), config_path=str(config))
    if name == "missing_config":
        args["config_path"] = str(tmp_path / "nope.yml")
    else:
        cache.write_text("")
    result, failed, dummy = run_module(sentinel_cache, args)
    assert failed and text in result["msg"]
