# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the tests of the modules that read the Cloud Controller API."""

from __future__ import annotations

import pytest

from ansible_collections.stackato.cluster.plugins.module_utils import _ccapi

from ansible_collections.stackato.cluster.tests.unit.plugins.module_utils.ccapi_fake import BASE_ROUTES, FakeAPI


@pytest.fixture
def api(monkeypatch):
    """api(routes) -> the FakeAPI the modules' Cloud Controller client talks to (the base routes plus ``routes``)."""
    def _install(routes):
        fake = FakeAPI({**BASE_ROUTES, **routes})
        monkeypatch.setattr(_ccapi, "open_url", fake)
        return fake
    return _install
