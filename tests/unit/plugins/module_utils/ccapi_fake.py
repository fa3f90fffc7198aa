# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake ``open_url`` for the Cloud Controller v2 API, shared by the unit tests of _ccapi and its modules."""

from __future__ import annotations

import base64
import io
import json
from urllib.error import HTTPError

API = "https://127.42.0.11:8443"
UAA = "https://127.42.0.11:9443/aok"
PASSWORD = "s3cret-pa55"
TOKEN = "tok-abc.def.ghi"
BASIC_CF = "Basic " + base64.b64encode(b"cf:").decode()


class Response:
    def __init__(self, body, status=200):
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.status = status

    def read(self):
        return self.body

    def getcode(self):
        return self.status


def http_error(url, status, body=b""):
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HTTPError(url, status, "error", {}, io.BytesIO(body))


def app(guid, name, memory=256, instances=1, state="STARTED"):
    return {"metadata": {"guid": guid, "url": f"/v2/apps/{guid}"},
            "entity": {"name": name, "memory": memory, "instances": instances, "state": state}}


def page(resources, next_url=None):
    return {"total_results": len(resources), "next_url": next_url, "resources": resources}


def stats(*instances):
    return {str(index): ({"state": state, "stats": {"host": host, "port": 61000 + index, "mem_quota": 1}}
                         if host else {"state": state})
            for index, (state, host) in enumerate(instances)}


class FakeAPI:
    """Answers open_url from a table {(method, url): [answer, ...]} (an answer is a body, a Response or an exception)."""

    def __init__(self, routes):
        self.routes = {key: list(value) if isinstance(value, list) else [value] for key, value in routes.items()}
        self.calls = []

    def __call__(self, url, data=None, headers=None, method=None, **kwargs):
        self.calls.append({"method": method, "url": url, "headers": dict(headers or {}), "data": data, "kwargs": kwargs})
        answers = self.routes.get((method, url))
        assert answers, f"unexpected request {method} {url}"
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, Response) else Response(answer)

    def requests(self):
        return [(call["method"], call["url"]) for call in self.calls]


INFO = {"name": "vcap", "token_endpoint": UAA, "authorization_endpoint": API + "/aok"}
TOKEN_ANSWER = {"access_token": TOKEN, "token_type": "bearer", "expires_in": 3600}
BASE_ROUTES = {
    ("GET", API + "/v2/info"): INFO,
    ("POST", UAA + "/oauth/token"): TOKEN_ANSWER,
}
