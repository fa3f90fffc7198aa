"""A page in headless Chromium (Debian's chromium), loopback only: its DOM and a screenshot.

Every fetch is refused: the proxy is 127.0.0.1:9 (discard, nothing listens), every host name
resolves to nothing, and background networking is off; the page is opened from file://.
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

NO_NETWORK = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--disable-extensions", "--hide-scrollbars"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], profile: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *NO_NETWORK, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=False)


def open_page(html: Path, png: Path, size: str = "1100,700") -> str:
    """The page's DOM after it loaded; the screenshot saved to ``png``."""
    url = Path(html).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        dom = _run(["--dump-dom", url], profile)
        shot = _run([f"--window-size={size}", f"--screenshot={png}", url], profile)
    assert dom.returncode == 0 and "<html" in dom.stdout, dom.stderr[-2000:]
    assert shot.returncode == 0 and Path(png).is_file(), shot.stderr[-2000:]
    return dom.stdout


def png_figures(png: Path) -> dict:
    """Width, height, and how much the picture varies: distinct pixel rows and the share of rows
    that are not blank (all one colour)."""
    data = Path(png).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = header[:4]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    stride = width * channels * depth // 8
    raw = zlib.decompress(idat)
    rows, prev = [], bytearray(stride)
    bpp = max(1, channels * depth // 8)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        prev = line
    blank = sum(1 for r in rows if len(set(r[i:i + channels] for i in range(0, len(r), channels))) == 1)
    return {"width": width, "height": height, "distinct_rows": len(set(rows)),
            "non_blank_share": 1 - blank / max(1, height)}


def node_cells(dom: str) -> list[str]:
    """The node names in the report's table (the first cell of each row)."""
    return re.findall(r'<td class="node">([^<]*)</td>', dom)
