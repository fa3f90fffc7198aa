# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures for the unit tests of plugins/.

Importable as ``ansible_collections.stackato.cluster``: when the checkout is not already under
``.../ansible_collections/stackato/cluster`` (as ansible-test arranges it), a temporary directory
with ``ansible_collections/stackato/cluster`` -> repo symlink goes first on sys.path, so plain
``pytest tests/unit`` works from the repo root.

``run_module`` runs a module's main() with patched AnsibleModule.run_command: every call must
match the next expected command (argv, environment, cwd) and returns its (rc, stdout, stderr).

kato refuses to run as root, and these tests run as root in CI: the autouse ``euid`` fixture
makes the kato client see the effective uid 1000 (the stackato user); ``euid.set(0)`` shows root.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import threading

import pytest

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
KATO_ENV = {"LANGUAGE": "C", "LC_ALL": "C"}


def _make_importable():
    parts = REPO.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "stackato"] and parts[-1] == "cluster":
        root = os.sep.join(parts[:-3])
    else:
        root = tempfile.mkdtemp(prefix="stackato-cluster-unit-")
        atexit.register(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, "ansible_collections", "stackato"))
        os.symlink(REPO, os.path.join(root, "ansible_collections", "stackato", "cluster"))
    if root not in sys.path:
        sys.path.insert(0, root)


_make_importable()

from ansible.module_utils import basic  # noqa: E402  (after the sys.path set-up above)
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.stackato.cluster.plugins.module_utils import _ccapi, _kato  # noqa: E402
from ansible_collections.stackato.cluster.tests.unit.plugins.module_utils.ccapi_fake import BASE_ROUTES, FakeAPI  # noqa: E402


class EffectiveUid:
    """The effective uid the kato client sees (os.geteuid as _kato reads it)."""

    def __init__(self, uid=1000):
        self.uid = uid

    def set(self, uid):
        self.uid = uid

    def geteuid(self):
        return self.uid


class _OsView:
    """``os`` as _kato sees it: the real module with geteuid replaced, so nothing else is affected."""

    def __init__(self, euid):
        self._euid = euid

    def __getattr__(self, name):
        if name == "geteuid":
            return self._euid.geteuid
        return getattr(os, name)


@pytest.fixture(autouse=True)
def euid(monkeypatch):
    """Every test sees a non-root effective uid in _kato unless it calls ``euid.set(0)``."""
    value = EffectiveUid()
    monkeypatch.setattr(_kato, "os", _OsView(value))
    return value


class ModuleExit(Exception):
    """exit_json or fail_json was called; ``result`` holds its keyword arguments."""

    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


class Call:
    """One expected command: argv, optional cwd, and the (rc, stdout, stderr) it returns. ``concurrent``: the module
    runs it in a thread at the same time as the command listed before it, so the two may come in either order."""

    def __init__(self, argv, rc=0, out="", err="", cwd=None, environ=None, side_effect=None, concurrent=False):
        self.argv = [str(a) for a in argv]
        self.concurrent = concurrent
        self.rc, self.out, self.err = rc, out, err
        self.cwd = cwd
        self.environ = KATO_ENV if environ is None else environ
        self.side_effect = side_effect


class RunCommandMock:
    def __init__(self, calls):
        self.expected = [call if isinstance(call, Call) else Call(**call) for call in calls]
        self.seen = []
        self._lock = threading.Lock()

    def __call__(self, module, args, **kwargs):
        with self._lock:
            index = len(self.seen)
            self.seen.append((list(args), kwargs))
            assert index < len(self.expected), f"unexpected command #{index + 1}: {args}"
            following = self.expected[index + 1] if index + 1 < len(self.expected) else None
            if (list(args) != self.expected[index].argv and following is not None and following.concurrent
                    and list(args) == following.argv):
                # the concurrent command came first: the one before it is expected next
                self.expected[index], self.expected[index + 1] = following, self.expected[index]
            call = self.expected[index]
        assert list(args) == call.argv, f"command #{index + 1}"
        assert kwargs.get("environ_update") == call.environ, f"environment of command #{index + 1}"
        assert kwargs.get("expand_user_and_vars") is False, "arguments must not be expanded"
        assert kwargs.get("cwd") == call.cwd, f"cwd of command #{index + 1}"
        if call.side_effect:
            call.side_effect()
        return call.rc, call.out, call.err

    def assert_all_called(self):
        missing = self.expected[len(self.seen):]
        assert not missing, "expected commands not run: " + "; ".join(" ".join(c.argv) for c in missing)


@pytest.fixture
def run_module(monkeypatch):
    """run_module(module, args, calls, check=False, diff=False) -> (result dict, failed bool, warnings).

    ``calls`` lists the expected commands in order, each a dict of Call's arguments:
    ``{"argv": [...], "rc": 0, "out": "", "err": "", "cwd": None, "environ": None, "side_effect": None}``.
    """

    def _run(module, args, calls=(), check=False, diff=False):
        warnings = []

        def exit_json(self, **kwargs):
            kwargs.setdefault("changed", False)
            raise ModuleExit(kwargs, False)

        def fail_json(self, msg, **kwargs):
            kwargs["msg"] = msg
            raise ModuleExit(kwargs, True)

        def warn(self, warning, **kwargs):
            warnings.append(warning)

        mock = RunCommandMock(calls)

        def run_command(self, args, **kwargs):
            return mock(self, args, **kwargs)

        monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
        monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
        monkeypatch.setattr(basic.AnsibleModule, "warn", warn)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        module_args = dict(args)
        module_args["_ansible_check_mode"] = check
        module_args["_ansible_diff"] = diff
        with patch_module_args(module_args):
            with pytest.raises(ModuleExit) as exc_info:
                module.main()
        mock.assert_all_called()
        # Everything a module returns must survive the trip to the controller, and the keys the
        # controller interprets must be booleans (a list under "unreachable" marks the host unreachable).
        json.dumps(exc_info.value.result)
        for key in ("changed", "failed", "skipped", "unreachable"):
            assert isinstance(exc_info.value.result.get(key, False), bool), key
        return exc_info.value.result, exc_info.value.failed, warnings

    return _run


@pytest.fixture
def kato(tmp_path):
    """Path of an executable stand-in for kato (never run: run_command is mocked)."""
    path = tmp_path / "bin" / "kato"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 99\n")
    path.chmod(0o755)
    return str(path)


def _check_case(case, result, failed, warnings=()):
    """Assert a table case's expectations: failed or not, result keys, message parts, warnings."""
    assert failed == case.get("failed", False), result
    for key, value in case.get("result", {}).items():
        assert result[key] == value, key
    for text in case.get("msg_contains", []):
        assert text in result["msg"]
    for text in case.get("warnings", []):
        assert any(text in warning for warning in warnings), warnings


@pytest.fixture
def check_case():
    """The shared checker of the table-driven module tests."""
    return _check_case


@pytest.fixture
def api(monkeypatch):
    """api(routes) -> the FakeAPI the Cloud Controller client talks to (the base routes plus ``routes``): the tests
    of _ccapi and of the modules that read the API."""
    def _install(routes):
        fake = FakeAPI({**BASE_ROUTES, **routes})
        monkeypatch.setattr(_ccapi, "open_url", fake)
        return fake
    return _install
