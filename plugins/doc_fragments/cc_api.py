# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Options of the modules that read the Cloud Controller v2 API (CC_API_ARGS in module_utils/_ccapi.py).
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the Cloud Controller v2 API on the Core node, C(https://api.<cluster domain>).
      - The roles pass the inventory variable C(stackato_api_url).
      - The token endpoint is discovered from C(GET /v2/info) (C(token_endpoint), else C(authorization_endpoint)).
    type: str
    required: true
  api_username:
    description:
      - The API user, an admin of the cluster (C(stackato_api_username) in the roles).
    type: str
    default: admin
  api_password:
    description:
      - The password of O(api_username) (C(stackato_api_password) in the roles; keep it in a vault).
      - Sent only to the token endpoint, in a password grant of the OAuth client C(cf); never returned or logged.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the API's TLS certificate. Set O(ca_path) rather than turning this off.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file on the managed node with the CA that signed the API's certificate
        (C(stackato_api_ca_path) in the roles). The system trust store when omitted.
    type: path
  api_timeout:
    description:
      - Seconds each API request may take.
    type: float
    default: 30
notes:
  - Reads the Cloud Controller v2 API (C(GET /v2/info), a password-grant token, C(GET /v2/apps),
    C(GET /v2/apps/<guid>/stats)); it changes nothing there.
  - Proxy settings come from the task's C(environment) (C(https_proxy), C(no_proxy)).
  - API failures return C(url) and C(status) (the HTTP status, V(null) when there was no answer)
    and a C(msg) that names the fix.
"""

    # Modules in the stackato.cluster.cc_api action group (meta/runtime.yml), for module_defaults.
    ACTIONGROUP_CC_API = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/stackato.cluster.cc_api) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - stackato.cluster.cc_api
"""
