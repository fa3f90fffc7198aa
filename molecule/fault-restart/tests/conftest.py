"""Make the shared verifier helpers (molecule/resources/tests/journal.py) importable."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "resources" / "tests"))
