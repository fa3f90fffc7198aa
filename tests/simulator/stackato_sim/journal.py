"""The append-only event journal shared by every node (docs/dev/simulator.md section 5)."""

from __future__ import annotations

import json
import os
import time

from . import paths


def emit(event: str, node: str | None = None, **fields) -> dict:
    """Append one event line; a single write on an O_APPEND descriptor keeps lines whole."""
    if node is None:
        try:
            from .nodeconf import my_ip
            node = my_ip()
        except OSError:
            node = "unknown"
    record = {"ts": time.time(), "node": node, "event": event}
    record.update(fields)
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    path = paths.p(paths.JOURNAL)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return record


def read(path: str | None = None) -> list[dict]:
    """Every event, in file order."""
    path = path or paths.p(paths.JOURNAL)
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
