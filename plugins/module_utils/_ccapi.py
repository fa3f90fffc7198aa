# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A client for the Cloud Controller v2 API on the Stackato Core node.

The documented source of the apps, their memory and where each instance runs (kato prints
none of it in a documented form): ``GET /v2/info`` names the token endpoint, a password grant
for the client ``cf`` gives a bearer token, ``GET /v2/apps`` (paged by ``next_url``) lists the
apps and ``GET /v2/apps/<guid>/stats`` the instances of a started app. Every failure is one
:class:`CloudControllerError` whose message names the URL, the HTTP status and the fix; the
password and the token never appear in it.
"""

from __future__ import annotations

import base64
import json
import os
import ssl

from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError, SSLValidationError, open_url

# Shared options, documented once in plugins/doc_fragments/cc_api.py.
CC_API_ARGS = {
    "api_url": {"type": "str", "required": True},
    "api_username": {"type": "str", "default": "admin"},
    "api_password": {"type": "str", "required": True, "no_log": True},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "api_timeout": {"type": "float", "default": 30},
}

# The Cloud Foundry command line client's OAuth client: public, with an empty secret.
OAUTH_CLIENT = "cf"
INSTANCE_STATES = ("RUNNING", "STARTING", "DOWN", "CRASHED")
MAX_PAGES = 1000
_HIDDEN = "********"

CREDENTIALS_FIX = "check stackato_api_username/stackato_api_password (the options api_username and api_password)"
TLS_FIX = ("set stackato_api_ca_path (the option ca_path) to the CA that signed the API certificate, "
           "or validate_certs=false (not recommended)")
URL_FIX = "check stackato_api_url (the option api_url: https://api.<cluster domain>) and that the Core node's API is up"


class CloudControllerError(Exception):
    """A Cloud Controller request failed; ``url`` and ``status`` (HTTP status or None) say where."""

    def __init__(self, msg, url=None, status=None):
        super().__init__(msg)
        self.msg = msg
        self.url = url
        self.status = status

    def to_result(self):
        return {"msg": self.msg, "url": self.url, "status": self.status}


def fail_from_api_error(module, exc, **result):
    """Fail the module with everything a CloudControllerError knows, plus the partial result."""
    result.update(exc.to_result())
    msg = result.pop("msg")
    module.fail_json(msg=msg, **result)


def _is_tls_failure(reason):
    text = str(reason)
    return isinstance(reason, (ssl.SSLError, ssl.CertificateError, SSLValidationError)) or \
        "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text.lower()


class CloudControllerClient:
    """Talks to the Cloud Controller v2 API as one user; only the buildpack methods write."""

    def __init__(self, module, api_url, username, password, validate_certs=True, ca_path=None, timeout=30):
        self.module = module
        self.api_url = (api_url or "").strip().rstrip("/")
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise CloudControllerError(f"api_url {api_url!r} is not an http(s) URL; {URL_FIX}", url=api_url)
        self.username = username
        self._password = password
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self._token = None
        self._authorization = None
        self.warnings = []

    @classmethod
    def from_params(cls, module):
        params = module.params
        return cls(module, params["api_url"], params["api_username"], params["api_password"],
                   validate_certs=params["validate_certs"], ca_path=params["ca_path"], timeout=params["api_timeout"])

    # -- transport

    def _hide(self, text):
        """Text with the password and the token blanked out (error bodies are quoted in messages)."""
        text = str(text)
        for secret in (self._password, self._token):
            if secret:
                text = text.replace(secret, _HIDDEN)
        return text

    def _request(self, method, url, headers=None, data=None, what="the request", raw=False):
        """(status, parsed JSON, or the bytes with raw) of one request; every failure is a CloudControllerError."""
        try:
            response = open_url(url, method=method, headers=headers, data=data, validate_certs=self.validate_certs,
                                ca_path=self.ca_path, timeout=self.timeout, follow_redirects="safe",
                                force_basic_auth=False, use_netrc=False)
            body = response.read()
            status = response.getcode() if hasattr(response, "getcode") else getattr(response, "status", 200)
        except HTTPError as exc:
            raise self._http_error(method, url, exc, what) from None
        except (URLError, UrlsConnectionError, ssl.SSLError, ssl.CertificateError) as exc:
            reason = getattr(exc, "reason", exc)
            if _is_tls_failure(reason):
                raise CloudControllerError(f"{method} {url} ({what}): the TLS certificate could not be verified: "
                                           f"{self._hide(reason)}; {TLS_FIX}", url=url) from None
            raise CloudControllerError(f"{method} {url} ({what}) failed: {self._hide(reason)}; {URL_FIX}",
                                       url=url) from None
        except (OSError, ValueError) as exc:   # timeouts, resets, malformed URLs
            raise CloudControllerError(f"{method} {url} ({what}) failed: {self._hide(exc)}; {URL_FIX} "
                                       f"(the request may also need a larger api_timeout)", url=url) from None
        if raw:
            return status, body
        try:
            return status, json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        except ValueError:
            raise CloudControllerError(f"{method} {url} ({what}) answered HTTP {status} with a body that is not JSON; "
                                       f"{URL_FIX}", url=url, status=status) from None

    def _http_error(self, method, url, exc, what):
        status = exc.code
        try:
            raw = exc.read() or b""
            raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        except (OSError, ValueError, AttributeError):   # the body only illustrates the status
            raw = ""
        detail = raw.strip()
        try:
            parsed = json.loads(raw)
            if isinstance(parsed, dict):
                detail = parsed.get("error_description") or parsed.get("description") or parsed.get("error") or detail
        except ValueError:
            pass
        detail = self._hide(str(detail)[:300])
        where = f"{method} {url} ({what}) answered HTTP {status}" + (f": {detail}" if detail else "")
        if status in (400, 401) and what == "token request":
            fix = f"the credentials of {self.username} were refused; {CREDENTIALS_FIX}"
        elif status == 401:
            fix = f"the token of {self.username} was refused; {CREDENTIALS_FIX}"
        elif status == 403:
            fix = f"{self.username} may not read this; use an admin account ({CREDENTIALS_FIX})"
        elif status == 404:
            fix = URL_FIX
        elif status == 503 and "maintenance" in str(detail).lower():
            fix = "maintenance mode is on and the Cloud Controller refuses writes; write after it is turned off"
        else:
            fix = "the Cloud Controller on the Core node is not answering normally: check it (kato status) and retry"
        return CloudControllerError(f"{where}; {fix}", url=url, status=status)

    def _url(self, path_or_url):
        """An absolute URL for an API path or a next_url; never another host than api_url's (the token goes along)."""
        url = urljoin(self.api_url + "/", path_or_url)
        base, target = urlsplit(self.api_url), urlsplit(url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise CloudControllerError(f"the Cloud Controller pointed to {url}, outside {self.api_url}; not following it "
                                       f"(the token would go along); {URL_FIX}", url=url)
        return url

    # -- authentication

    def info(self):
        """GET /v2/info, unauthenticated."""
        url = self._url("/v2/info")
        dummy, data = self._request("GET", url, headers={"Accept": "application/json"}, what="API information")
        if not isinstance(data, dict):
            raise CloudControllerError(f"GET {url} answered {type(data).__name__}, not an object; {URL_FIX}", url=url)
        return data

    def token_url(self):
        """The password-grant URL: <token_endpoint>/oauth/token (falling back to authorization_endpoint)."""
        info = self.info()
        endpoint = info.get("token_endpoint") or info.get("authorization_endpoint")
        if not endpoint:
            raise CloudControllerError(f"GET {self._url('/v2/info')} names neither token_endpoint nor "
                                       f"authorization_endpoint; {URL_FIX}", url=self._url("/v2/info"))
        url = endpoint.rstrip("/") + "/oauth/token"
        scheme = urlsplit(url).scheme
        if scheme not in ("https", "http") or (scheme == "http" and urlsplit(self.api_url).scheme == "https"):
            raise CloudControllerError(f"the token endpoint {url} is not HTTPS; refusing to send the password there; "
                                       f"{URL_FIX}", url=url)
        return url

    def authenticate(self):
        """A fresh bearer token by the password grant (client cf, empty secret)."""
        url = self.token_url()
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(f"{OAUTH_CLIENT}:".encode()).decode("ascii"),
        }
        form = urlencode({"grant_type": "password", "username": self.username, "password": self._password})
        dummy, data = self._request("POST", url, headers=headers, data=form, what="token request")
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            raise CloudControllerError(f"POST {url} (token request) answered without an access_token; {URL_FIX}", url=url)
        self._token = token
        return f"{data.get('token_type') or 'bearer'} {token}"

    def get(self, path_or_url, what):
        """GET an API path with the bearer token; one new token when the first is refused (expired)."""
        return self.call("GET", path_or_url, what)

    def call(self, method, path_or_url, what, data=None, content_type=None, raw=False):
        """One request with the bearer token; one new token when the first is refused (expired)."""
        url = self._url(path_or_url)
        if self._token is None:
            self._authorization = self.authenticate()
        for attempt in (1, 2):
            headers = {"Accept": "application/json", "Authorization": self._authorization}
            if content_type:
                headers["Content-Type"] = content_type
            try:
                return self._request(method, url, headers=headers, data=data, what=what, raw=raw)[1]
            except CloudControllerError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
                self._authorization = self.authenticate()
        return None  # not reached

    def resources(self, path, what):
        """Every resource of a paged list, following next_url."""
        items, url, pages = [], path, 0
        while url:
            pages += 1
            if pages > MAX_PAGES:
                raise CloudControllerError(f"{what}: more than {MAX_PAGES} pages; the API keeps answering next_url",
                                           url=self._url(url))
            page = self.get(url, what)
            if not isinstance(page, dict) or not isinstance(page.get("resources"), list):
                raise CloudControllerError(f"GET {self._url(url)} ({what}) is not a paged list (no resources); "
                                           f"{URL_FIX}", url=self._url(url))
            items += page["resources"]
            url = page.get("next_url")
        return items

    # -- what the modules read

    def apps(self):
        """[{guid, name, memory_mb, instances, state}] of every app, sorted by name."""
        apps = []
        for resource in self.resources("/v2/apps", "app list"):
            entity, metadata = resource.get("entity") or {}, resource.get("metadata") or {}
            apps.append({
                "guid": metadata.get("guid"),
                "name": entity.get("name"),
                "memory_mb": int(entity.get("memory") or 0),
                "instances": int(entity.get("instances") or 0),
                "state": entity.get("state"),
            })
        return sorted(apps, key=lambda app: (str(app["name"]), str(app["guid"])))

    def instances(self, apps=None):
        """One dict per instance of every STARTED app: {app, guid, index, memory_mb, host, state}."""
        apps = self.apps() if apps is None else apps
        instances = []
        for app in apps:
            if app.get("state") != "STARTED":
                continue
            try:
                stats = self.get(f"/v2/apps/{app['guid']}/stats", f"instances of {app['name']}")
            except CloudControllerError as exc:
                if exc.status != 400:
                    raise
                # CF answers 400 for an app that has not staged yet: it runs no instance.
                self.warnings.append(f"{exc.msg}; counting no instances of {app['name']}")
                continue
            if not isinstance(stats, dict):
                raise CloudControllerError(f"the stats of {app['name']} are not an object keyed by index",
                                           url=self._url(f"/v2/apps/{app['guid']}/stats"))
            for index, entry in stats.items():
                entry = entry if isinstance(entry, dict) else {}
                try:
                    index = int(index)
                except ValueError:
                    raise CloudControllerError(f"the stats of {app['name']} have the key {index!r}, not an instance index",
                                               url=self._url(f"/v2/apps/{app['guid']}/stats")) from None
                instances.append({
                    "app": app["name"],
                    "guid": app["guid"],
                    "index": index,
                    "memory_mb": app["memory_mb"],
                    "host": (entry.get("stats") or {}).get("host"),
                    "state": entry.get("state") or "DOWN",
                })
        return sorted(instances, key=lambda i: (str(i["app"]), str(i["guid"]), i["index"]))

    # -- buildpacks (the Stackato client's `buildpacks` and `create-buildpack`)

    def buildpacks(self):
        """[{guid, name, position, enabled, locked, filename}] sorted by position."""
        out = []
        for resource in self.resources("/v2/buildpacks", "buildpack list"):
            entity, metadata = resource.get("entity") or {}, resource.get("metadata") or {}
            out.append({"guid": metadata.get("guid"), "name": entity.get("name"),
                        "position": int(entity.get("position") or 0), "enabled": bool(entity.get("enabled", True)),
                        "locked": bool(entity.get("locked", False)), "filename": entity.get("filename")})
        return sorted(out, key=lambda b: (b["position"], str(b["name"])))

    def create_buildpack(self, name, position=None, enabled=True, locked=False):
        """POST /v2/buildpacks; the new buildpack's guid."""
        body = {"name": name, "enabled": enabled, "locked": locked}
        if position is not None:
            body["position"] = position
        data = self.call("POST", "/v2/buildpacks", f"create buildpack {name}", data=json.dumps(body),
                         content_type="application/json")
        return ((data or {}).get("metadata") or {}).get("guid")

    def update_buildpack(self, guid, name, **fields):
        """PUT /v2/buildpacks/<guid> with position, enabled, locked."""
        self.call("PUT", f"/v2/buildpacks/{guid}", f"update buildpack {name}", data=json.dumps(fields),
                  content_type="application/json")

    def upload_buildpack_bits(self, guid, name, filename, data):
        """PUT /v2/buildpacks/<guid>/bits, multipart field buildpack."""
        boundary = "stackato-cluster-" + base64.b16encode(os.urandom(8)).decode().lower()
        safe = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="buildpack"; filename="{safe}"\r\n'
                f"Content-Type: application/zip\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        self.call("PUT", f"/v2/buildpacks/{guid}/bits", f"upload the archive of buildpack {name}", data=body,
                  content_type=f"multipart/form-data; boundary={boundary}")

    def download_buildpack_bits(self, guid, name):
        """GET /v2/buildpacks/<guid>/download: the archive's bytes."""
        return self.call("GET", f"/v2/buildpacks/{guid}/download", f"download the archive of buildpack {name}", raw=True)
