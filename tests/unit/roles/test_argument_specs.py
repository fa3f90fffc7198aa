"""Every role's meta/argument_specs.yml describes exactly its defaults, all prefixed."""
from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "tasks" / "main.yml").exists())
# Cluster-wide inputs (group_vars/stackato) that role defaults may read.
CLUSTER_WIDE = {"stackato_target_version", "stackato_cache_ip", "stackato_http_proxy",
                "stackato_https_proxy", "stackato_no_proxy", "stackato_offline"}


def _load(path):
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_specs_match_defaults(role):
    defaults = _load(role / "defaults" / "main.yml")
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(specs) == set(defaults)
    for key, value in defaults.items():
        if specs[key].get("type") == "bool" and isinstance(value, str) and "{{" in value:
            # A bool computed from a cluster-wide variable: a template is no valid bool default
            # for the docs, so the spec names its source in the description instead.
            assert "default" not in specs[key], key
            assert "Default:" in " ".join(_as_list(specs[key]["description"])), key
            continue
        assert specs[key].get("default") == value, key
        assert specs[key].get("description"), key


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_variables_prefixed(role):
    for key in _load(role / "defaults" / "main.yml"):
        assert key.startswith(role.name + "_"), key
    for key in _load(role / "vars" / "main.yml") if (role / "vars" / "main.yml").exists() else {}:
        assert key.startswith(f"__{role.name}_"), key
    for path in (role / "tasks").glob("*.yml"):
        for task in _load(path) if isinstance(_load(path), list) else []:
            for block in [task] + task.get("block", []) + task.get("rescue", []):
                if "register" in block:
                    assert block["register"].startswith(f"__{role.name}_"), (path.name, block["register"])
                for fact in (block.get("ansible.builtin.set_fact") or {}):
                    assert fact.startswith((f"__{role.name}_", f"{role.name}_")), (path.name, fact)


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_meta_and_handlers(role):
    assert _load(role / "meta" / "main.yml")["galaxy_info"]["description"]
    handlers = role / "handlers" / "main.yml"
    if handlers.exists():
        for handler in _load(handlers):
            assert handler["name"][0].isupper() and handler.get("listen", "").startswith(role.name)


def _as_list(value):
    return value if isinstance(value, list) else [value]
