# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The one client for kato, the Helion Stackato administration CLI.

It runs argv lists with a fixed locale, prefers kato's JSON output, tolerates the extra lines
kato prints (``WARNING:`` lines, trailing whitespace) and turns every failure into one
:class:`KatoError` that carries the command, its exit code and its output.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import re
import shlex
import signal
import threading
import time

KATO_DEFAULT_PATH = "/home/stackato/bin/kato"

# kato's messages are parsed, so they must not be translated.
KATO_ENVIRON = {"LANGUAGE": "C", "LC_ALL": "C"}

# Shared options, documented once in plugins/doc_fragments/kato.py.
KATO_COMMON_ARGS = {
    "kato_path": {"type": "path", "default": KATO_DEFAULT_PATH},
}

_VERSION_RE = re.compile(r"^\d+(?:\.\d+){1,3}$")
_VERSION_SEARCH_RE = re.compile(r"(?<![\w.])(\d+\.\d+\.\d+(?:\.\d+)?)(?![\w.])")
_NOISE_PREFIXES = ("WARNING:", "WARN:", "NOTICE:", "INFO:")
_NODE_LIST_SPLIT_RE = re.compile(r"[\s,]+")
_ROLE_NAME_RE = re.compile(r"^[A-Za-z][\w-]*$")

# The contract, section 1: kato runs as the stackato user, never as root.
ROOT_REFUSAL = (
    "kato runs as the stackato user, never as root, and this task runs as root. Connect as the stackato user "
    "(ansible_user=stackato) and turn become off for the kato modules (become: false on the task or play); "
    "kato asks for sudo itself when it needs it"
)


class KatoError(Exception):
    """A kato call (or a check around one) failed; carries the evidence for fail_json."""

    def __init__(self, msg, cmd=None, rc=None, stdout="", stderr="", **extra):
        super().__init__(msg)
        self.msg = msg
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout or ""
        self.stderr = stderr or ""
        self.extra = extra

    def to_result(self):
        result = {"msg": self.msg, "cmd": self.cmd, "rc": self.rc, "stdout": self.stdout, "stderr": self.stderr}
        result.update(self.extra)
        return result


# The file kato_upgrade holds (an exclusive flock) while it runs on a node; kato_info waits on it.
RUN_LOCK = "~/.stackato-cluster/kato-upgrade.lock"


class _LockWaitOver(Exception):
    """The wait for a lock reached its time limit."""


def block_on_lock(fd, seconds, operation=fcntl.LOCK_EX):
    """Block on a flock of ``fd`` (``operation``: LOCK_EX or LOCK_SH) for at most ``seconds`` (an interval
    timer interrupts the blocking call: no polling). True when the lock was taken."""
    if seconds <= 0:
        return False

    def over(signum, frame):
        raise _LockWaitOver()

    previous = signal.signal(signal.SIGALRM, over)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            fcntl.flock(fd, operation)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _LockWaitOver:
        return False
    finally:
        signal.signal(signal.SIGALRM, previous)
    return True


def wait_for_run_lock(path, seconds):
    """Wait for another run's hold of the run lock at ``path`` to end, at most ``seconds``.

    Reads only: a missing file means no run ever held it, and nothing is created. Returns
    ``(held, waited)``: whether a run still holds it (after ``seconds``; 0: not waited for) and the
    seconds waited. A shared lock is taken to wait and released at once.
    """
    try:
        fd = os.open(os.path.expanduser(path), os.O_RDONLY)
    except FileNotFoundError:
        return False, 0.0
    except OSError as exc:
        raise KatoError(f"cannot open the run lock {path}: {exc}; set run_lock to the file kato_upgrade uses, "
                        f"or to \"\" not to look at it") from None
    started = time.monotonic()
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False, 0.0
        except BlockingIOError:
            pass
        if not block_on_lock(fd, seconds, fcntl.LOCK_SH):
            return True, round(time.monotonic() - started, 3) if seconds > 0 else 0.0
        return False, round(time.monotonic() - started, 3)
    finally:
        os.close(fd)


def fail_from_error(module, exc, **result):
    """Fail the module with everything a KatoError knows, plus the partial result."""
    result.update(exc.to_result())
    msg = result.pop("msg")
    module.fail_json(msg=msg, **result)


def cmd_to_str(argv):
    return " ".join(shlex.quote(str(arg)) for arg in argv)


def _interesting_line(stdout, stderr):
    """The line of output that best explains a failure: kato's ERROR line, else the last line."""
    lines = [line.strip() for line in (stderr + "\n" + stdout).splitlines() if line.strip()]
    for line in lines:
        if line.upper().startswith(("ERROR", "FATAL")):
            return line
    return lines[-1] if lines else ""


def strip_noise(text):
    """The lines of kato output without warnings and blank lines, right-stripped."""
    lines = []
    for line in (text or "").splitlines():
        line = line.rstrip()
        if not line.strip() or line.lstrip().startswith(_NOISE_PREFIXES):
            continue
        lines.append(line)
    return lines


def parse_json_output(text):
    """Parse JSON from kato output that may have warning lines before and chatter after it.

    Returns the first JSON document that starts at the beginning of a line and runs to the end
    of a line. Raises ValueError when there is none.
    """
    text = text or ""
    try:
        return json.loads(text)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    lines = text.splitlines(True)
    offset = 0
    for line in lines:
        start = offset + len(line) - len(line.lstrip())
        offset += len(line)
        if not line.strip() or line.lstrip().startswith(_NOISE_PREFIXES):
            continue
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        rest_of_line = text[end:].split("\n", 1)[0]
        if not rest_of_line.strip():
            return value
    raise ValueError("no JSON document found in the output")


def parse_node_list(text):
    """The nodes of ``kato node list`` text output: ``{ip: sorted roles}``.

    The documented form is one line per node: its IP first, then its roles on the same line,
    separated by spaces or commas. A line counts only when its first token is an IP address, so
    warnings, headers, blank lines and trailing whitespace are ignored; a node listed twice gets
    the roles of both lines. Tokens that cannot be role names (a host name with dots, a
    parenthesised remark) are left out.
    """
    nodes = {}
    for line in (text or "").splitlines():
        tokens = [token for token in _NODE_LIST_SPLIT_RE.split(line.strip()) if token]
        if not tokens:
            continue
        try:
            ip = str(ipaddress.ip_address(tokens[0].rstrip(":")))
        except ValueError:
            continue
        names = (token.strip("[]'\"") for token in tokens[1:])
        nodes.setdefault(ip, set()).update(name for name in names if _ROLE_NAME_RE.match(name))
    return {ip: sorted(roles) for ip, roles in nodes.items()}


def running_as_root():
    """Whether this process runs with effective uid 0 (kato must not)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


class StackatoVersion:
    """A Stackato release number such as 3.4.2, ordered numerically (3.4.2 < 3.6.0 < 3.6.2)."""

    __slots__ = ("parts", "text")

    def __init__(self, text):
        if isinstance(text, StackatoVersion):
            text = text.text
        if not isinstance(text, str) or not _VERSION_RE.match(text.strip()):
            raise ValueError(f"{text!r} is not a Stackato version (expected digits and dots, such as 3.6.2)")
        self.text = text.strip()
        parts = [int(part) for part in self.text.split(".")]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        self.parts = tuple(parts)

    def __repr__(self):
        return f"StackatoVersion({self.text!r})"

    def __str__(self):
        return self.text

    def __eq__(self, other):
        return self.parts == _as_version(other).parts

    def __hash__(self):
        return hash(self.parts)

    def __lt__(self, other):
        return self.parts < _as_version(other).parts

    def __le__(self, other):
        return self.parts <= _as_version(other).parts

    def __gt__(self, other):
        return self.parts > _as_version(other).parts

    def __ge__(self, other):
        return self.parts >= _as_version(other).parts


def _as_version(value):
    return value if isinstance(value, StackatoVersion) else StackatoVersion(value)


def compare_versions(left, right):
    """-1, 0 or 1 as left is older than, equal to or newer than right. Raises ValueError on garbage."""
    left, right = _as_version(left), _as_version(right)
    return (left > right) - (left < right)


def parse_version_output(text):
    """The version from ``kato version`` output: the bare version line, ignoring extra lines."""
    lines = strip_noise(text)
    for line in lines:
        if _VERSION_RE.match(line.strip()):
            return line.strip()
    for line in lines:
        match = _VERSION_SEARCH_RE.search(line)
        if match:
            return match.group(1)
    raise ValueError(f"no Stackato version in the output {text!r}")


def _parse_node_list_strict(text):
    nodes = parse_node_list(text)
    if not nodes:
        raise ValueError("no line starts with a node's IP address")
    return nodes


def find_node(nodes, node, option="node", cmd="kato node list"):
    """(ip, roles) of ``node`` in the output of :func:`parse_node_list`; KatoError when kato does not list it."""
    try:
        key = str(ipaddress.ip_address(node.strip()))
    except ValueError:
        key = node.strip()
    if key not in nodes:
        raise KatoError(
            f"kato node list does not list {node} (it lists {', '.join(sorted(nodes)) or 'no node'}); set {option} "
            f"to the address kato node list shows for the node (the roles pass stackato_node_ip)",
            cmd=cmd,
        )
    return key, list(nodes[key])


class KatoClient:
    """Runs kato for one module. Every call goes through :meth:`run`."""

    def __init__(self, module, kato_path=None, require=True):
        self.module = module
        self.kato_path = kato_path or module.params.get("kato_path") or KATO_DEFAULT_PATH
        if running_as_root():
            raise KatoError(ROOT_REFUSAL, cmd=self.kato_path)
        if require:
            self.require()

    def exists(self):
        return os.path.isfile(self.kato_path) and os.access(self.kato_path, os.X_OK)

    def require(self):
        if not self.exists():
            raise KatoError(
                f"kato was not found at {self.kato_path} (or is not executable). Run this module on a Stackato node "
                f"as the stackato user, or set kato_path to where kato is installed. If an upgrade was interrupted "
                f"while installing stackato-kato, run stackato.cluster.kato_upgrade, which restores kato.",
                cmd=self.kato_path,
            )

    def argv(self, args):
        return [self.kato_path] + [str(arg) for arg in args]

    def run_argv(self, argv, check_rc=True, cwd=None, data=None, timeout=None, what=None, on_start=None):
        """Run any argv (kato or Sentinel) with the fixed locale; optional kill after timeout seconds. ``on_start``:
        called with the process once it runs (a caller in another thread may stop it)."""
        timer_box = []
        timed_out = []

        def _start_timer(proc):
            def _kill():
                timed_out.append(True)
                try:
                    proc.kill()
                except OSError:
                    pass

            timer = threading.Timer(timeout, _kill)
            timer.daemon = True
            timer.start()
            timer_box.append(timer)

        kwargs = {
            "environ_update": dict(KATO_ENVIRON),
            "expand_user_and_vars": False,
            "check_rc": False,
        }
        if cwd is not None:
            kwargs["cwd"] = cwd
        if data is not None:
            kwargs["data"] = data
            kwargs["binary_data"] = False

        def _started(proc):
            if timeout:
                _start_timer(proc)
            if on_start is not None:
                on_start(proc)

        if timeout or on_start is not None:
            kwargs["before_communicate_callback"] = _started
        try:
            rc, stdout, stderr = self.module.run_command(argv, **kwargs)
        finally:
            for timer in timer_box:
                timer.cancel()
        stdout, stderr = stdout or "", stderr or ""
        if timed_out:
            raise KatoError(
                f"{what or cmd_to_str(argv)} did not finish within {timeout} seconds and was stopped; "
                f"raise the timeout option, then re-run",
                cmd=cmd_to_str(argv), rc=rc, stdout=stdout, stderr=stderr, timed_out=True,
            )
        if check_rc and rc != 0:
            reason = _interesting_line(stdout, stderr) or "no output"
            raise KatoError(
                f"{what or cmd_to_str(argv)} failed (rc={rc}): {reason}",
                cmd=cmd_to_str(argv), rc=rc, stdout=stdout, stderr=stderr,
            )
        return rc, stdout, stderr

    def run(self, *args, **kwargs):
        """Run ``kato <args>``; returns (rc, stdout, stderr). Raises KatoError when rc != 0 and check_rc."""
        return self.run_argv(self.argv(args), **kwargs)

    def run_json(self, *args, **kwargs):
        """Run kato with arguments that ask for JSON and return the parsed value."""
        return self._run_parsed(self.argv(args), parse_json_output,
                                "could not parse the JSON output of {cmd}: {exc}; check that kato works when run by hand",
                                **kwargs)

    def version(self, node=None):
        """The installed Stackato version (``kato version``, or ``kato node version <node>``)."""
        args = ("node", "version", node) if node else ("version",)
        return self._run_parsed(self.argv(args), parse_version_output,
                                "could not read the Stackato version from {cmd}: {exc}")

    def node_list(self):
        """Every node of the cluster with its roles, from the documented text of ``kato node list``."""
        return self._run_parsed(self.argv(("node", "list")), _parse_node_list_strict,
                                "could not read the nodes from {cmd}: {exc}; check that kato works when run by hand")

    def _run_parsed(self, argv, parse, problem, **kwargs):
        """Run argv and parse its stdout; a parse failure is a KatoError carrying the evidence."""
        rc, stdout, stderr = self.run_argv(argv, **kwargs)
        try:
            return parse(stdout)
        except ValueError as exc:
            cmd = cmd_to_str(argv)
            raise KatoError(problem.format(cmd=cmd, exc=exc), cmd=cmd, rc=rc, stdout=stdout, stderr=stderr) from None


def single_node_entry(data, what, ip=None):
    """(ip, entry) from JSON keyed by node IP, such as ``kato info -j`` or ``kato process list -j``."""
    if not isinstance(data, dict) or not data:
        raise KatoError(f"{what} returned {data!r}, expected a JSON object keyed by node IP")
    if ip is not None and ip in data:
        return ip, data[ip]
    if len(data) == 1 or ip is None:
        key = next(iter(data))
        return key, data[key]
    raise KatoError(f"{what} has no entry for node {ip} (it has {', '.join(sorted(data))})")
