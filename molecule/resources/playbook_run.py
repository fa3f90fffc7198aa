"""Runs ansible-playbook from a scenario's converge as an operator would, and stops or overlaps it
at a moment the simulator's journal names (a blocking wait on the journal, no sleeps).

  playbook_run.py kill --journal J --when '{"event": "upgrade_step", "phase": "start", "node": IP}'
                  --out RESULT.json -- ansible-playbook ...
      starts the run in its own process group, waits until the journal has an event (appended
      after the start) with every key of --when, then SIGKILLs the whole process group.
  playbook_run.py overlap --journal J --when '{...}' --out FIRST.json --second-out SECOND.json
                  -- ansible-playbook ...
      starts the run, waits for the event, runs the same command again to its end while the
      first still runs, then waits for the first.

Each result file: {"rc", "pid" (the ansible-playbook process), "stdout" (stdout then stderr),
"started", "ended" (time.time(), the journal's clock), "event" (the event waited for, if any)}. Exits 0 once the results
are written; 2 when the event never came (the run is killed then, and its result still written).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time


def start(argv: list[str]) -> tuple[subprocess.Popen, object, float]:
    out = tempfile.TemporaryFile(mode="w+")
    started = time.time()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    return proc, out, started


def finish(proc: subprocess.Popen, out, started: float, event: dict | None) -> dict:
    rc = proc.wait()
    ended = time.time()
    out.seek(0)
    return {"rc": rc, "pid": proc.pid, "stdout": out.read(), "started": started, "ended": ended, "event": event}


def wait_for_event(journal: str, offset: int, when: dict, proc: subprocess.Popen, timeout: float) -> dict | None:
    """The first event appended after ``offset`` that has every key of ``when``; None when the run
    ended or ``timeout`` passed first. Reads what was appended, blocking on the file's growth."""
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        try:
            with open(journal, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:
            chunk = b""
        offset += len(chunk)
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if all(event.get(k) == v for k, v in when.items()):
                return event
        if proc.poll() is not None:
            return None
        time.sleep(0.05)   # polling the journal's size: the simulator writes it from other hosts
    return None


def journal_size(journal: str) -> int:
    try:
        return os.path.getsize(journal)
    except FileNotFoundError:
        return 0


def save(path: str, result: dict) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("mode", choices=["kill", "overlap"])
    parser.add_argument("--journal", required=True)
    parser.add_argument("--when", required=True, type=json.loads)
    parser.add_argument("--out", required=True)
    parser.add_argument("--second-out")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("argv", nargs="+")
    args = parser.parse_args()
    offset = journal_size(args.journal)
    proc, out, started = start(args.argv)
    event = wait_for_event(args.journal, offset, args.when, proc, args.timeout)
    if args.mode == "kill" or event is None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        save(args.out, finish(proc, out, started, event))
        if event is None:
            print(f"no journal event with {args.when} before the run ended", file=sys.stderr)
            return 2
        return 0
    second, second_out, second_started = start(args.argv)
    save(args.second_out, finish(second, second_out, second_started, None))
    save(args.out, finish(proc, out, started, event))
    return 0


if __name__ == "__main__":
    sys.exit(main())
