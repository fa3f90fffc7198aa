# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The job templates of awx/job_templates.yml against AWX's rules and the collection's roles.

- every survey spec passes AWX's save-time validation, and every default its launch-time
  validation (AWX drops a default that fails it);
- every survey variable is one the roles accept (an option of some roles/*/meta/argument_specs.yml,
  a variable their defaults read, or a group variable of inventories/example), with a question
  type that matches the option's type and choices within the option's choices;
- the templates are awx.awx.job_template parameters naming playbooks and tags that exist.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import awx_rules  # noqa: E402  pylint: disable=wrong-import-position

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())
JOB_TEMPLATES = TEMPLATES["stackato_awx_job_templates"]
SURVEYS = [pytest.param(t["survey_spec"], id=t["name"]) for t in JOB_TEMPLATES]
QUESTIONS = [pytest.param(q, id=f"{t['name']}:{q['variable']}") for t in JOB_TEMPLATES for q in t["survey_spec"]["spec"]]

# Parameters of the awx.awx.job_template module that these templates use (its documented options).
JOB_TEMPLATE_OPTIONS = {
    "name", "description", "job_type", "inventory", "organization", "project", "playbook", "credentials",
    "execution_environment", "forks", "limit", "verbosity", "extra_vars", "job_tags", "skip_tags",
    "timeout", "become_enabled", "allow_simultaneous", "job_slice_count", "ask_variables_on_launch",
    "ask_limit_on_launch", "ask_tags_on_launch", "survey_enabled", "survey_spec", "diff_mode", "state",
}
# argument_specs type -> the survey types that deliver it (AWX types a multiselect answer as a list)
TYPES = {"int": {"integer"}, "float": {"float", "integer"}, "str": {"text", "textarea", "password", "multiplechoice"},
         "list": {"multiselect"}, "path": {"text"}}


def _argument_spec_options():
    options = {}
    for spec in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        for entry in (yaml.safe_load(spec.read_text()).get("argument_specs") or {}).values():
            for name, option in (entry.get("options") or {}).items():
                options.setdefault(name, option)
    return options


OPTIONS = _argument_spec_options()


def _accepted_variables():
    names = set(OPTIONS)
    for text in (p.read_text() for p in REPO.glob("roles/*/defaults/main.yml")):
        names.update(re.findall(r"\b(stackato_\w+)\s*\|", text))
    for path in (REPO / "inventories" / "example" / "group_vars").rglob("*.yml"):
        names.update(yaml.safe_load(path.read_text()) or {})
    return names


def test_template_data_is_awx_job_template_parameters():
    names = [t["name"] for t in JOB_TEMPLATES]
    assert len(names) == len(set(names))
    for template in JOB_TEMPLATES:
        assert set(template) <= JOB_TEMPLATE_OPTIONS, template["name"]
    assert set(TEMPLATES["stackato_awx_template_defaults"]) <= JOB_TEMPLATE_OPTIONS
    # the upgrade is ordered across the whole cluster: never sliced, never two at once
    assert TEMPLATES["stackato_awx_template_defaults"]["job_slice_count"] == 1
    assert TEMPLATES["stackato_awx_template_defaults"]["allow_simultaneous"] is False


def test_every_deliverable_has_its_template():
    by_name = {t["name"]: t for t in JOB_TEMPLATES}
    assert by_name["Stackato: preflight (plan)"]["job_tags"] == "preflight"
    assert by_name["Stackato: plan with estimates"]["playbook"] == "playbooks/plan.yml"
    assert by_name["Stackato: prefetch"]["job_tags"] == "prefetch"
    assert "job_tags" not in by_name["Stackato: upgrade"]
    assert by_name["Stackato: resume upgrade"]["playbook"] == by_name["Stackato: upgrade"]["playbook"]
    assert by_name["Stackato: maintenance mode"]["playbook"] == "playbooks/maintenance_mode.yml"
    variables = {q["variable"] for t in JOB_TEMPLATES for q in t["survey_spec"]["spec"]}
    assert {"stackato_target_version", "stackato_cache_ip", "stackato_http_proxy", "preflight_min_free_disk_gb",
            "maintenance_mode_on_failure", "preflight_skip_checks", "preflight_accept_risks",
            "maintenance_mode_state"} <= variables


@pytest.mark.parametrize("template", JOB_TEMPLATES, ids=lambda t: t["name"])
def test_playbooks_and_tags_exist(template):
    playbook = REPO / template["playbook"]
    assert playbook.is_file()
    if "job_tags" in template:
        text = "".join(p.read_text() for p in playbook.parent.glob("*.yml"))
        for tag in template["job_tags"].split(","):
            assert re.search(rf"tags:\s*\[[^\]]*\b{tag}\b", text), tag


@pytest.mark.parametrize("survey", SURVEYS)
def test_awx_accepts_the_survey_spec(survey):
    assert awx_rules.spec_errors(survey) == []


@pytest.mark.parametrize("survey", SURVEYS)
def test_a_launch_with_the_defaults_alone_passes(survey):
    answers = {q["variable"]: q["default"] for q in survey["spec"] if q["required"] and "default" in q}
    extra = awx_rules.launch_extra_vars(survey, answers)
    assert {q["variable"] for q in survey["spec"] if q["required"]} <= set(extra)


@pytest.mark.parametrize("question", QUESTIONS)
def test_question_default_within_bounds_and_choices(question):
    if "default" in question:
        assert awx_rules.answer_errors(question, {question["variable"]: question["default"]}) == []
        if question["type"] in ("integer", "float"):
            assert question.get("min", question["default"]) <= question["default"] <= question.get("max", question["default"])
    # an empty text default would reach the play as an extra var and hide the inventory's value
    assert question.get("default") != ""
    if question["type"] == "multiselect":
        assert "default" not in question  # AWX types a multiselect default as a string and drops it at launch
    if question["type"] in ("integer", "float", "text", "textarea", "password"):
        assert "min" in question and "max" in question and question["min"] <= question["max"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_survey_variable_is_one_the_roles_accept(question):
    variable = question["variable"]
    assert variable in _accepted_variables()
    option = OPTIONS.get(variable)
    if option:
        assert question["type"] in TYPES[option.get("type", "str")], (variable, option.get("type"))
        if "choices" in option:
            assert set(awx_rules.choice_list(question["choices"])) <= set(option["choices"])
        if question["type"] == "multiselect" and "choices" in option:
            assert set(awx_rules.choice_list(question["choices"])) == set(option["choices"]), "offer every name"


def test_target_versions_are_releases_the_collection_knows():
    known = yaml.safe_load((REPO / "roles" / "preflight" / "defaults" / "main.yml").read_text())["preflight_known_releases"]
    for template in JOB_TEMPLATES:
        for question in template["survey_spec"]["spec"]:
            if question["variable"] == "stackato_target_version":
                assert set(question["choices"]) <= set(known)


@pytest.mark.parametrize("answers, message", [
    ({"preflight_min_free_disk_gb": "7"}, "expected to be an integer"),
    ({"preflight_min_free_disk_gb": 0}, "too small"),
    ({"preflight_min_free_disk_gb": 100001}, "too large"),
    ({"preflight_min_free_disk_gb": True}, "expected to be an integer"),
    ({"preflight_skip_checks": "disk"}, "expected to be a list"),
    ({"preflight_skip_checks": ["disk", "everything"]}, "expected to be one of"),
    ({"stackato_target_version": "4.0.0"}, "expected to be one of"),
    ({"stackato_cache_ip": "1.2"}, "too small"),
    ({"stackato_cache_ip": 12}, "expected to be a string"),
], ids=str)
def test_the_rules_refuse_what_awx_refuses(answers, message):
    survey = next(t["survey_spec"] for t in JOB_TEMPLATES if t["name"] == "Stackato: upgrade")
    with pytest.raises(ValueError, match=message):
        awx_rules.launch_extra_vars(survey, answers)


@pytest.mark.parametrize("survey, message", [
    ({"name": "x", "description": "", "spec": []}, "doesn't contain any items"),
    ({"name": "x", "spec": [{}]}, "'description' is missing"),
    ({"name": "x", "description": "", "spec": [{"type": "text", "question_name": "q", "variable": "v"}]}, "missing"),
    ({"name": "x", "description": "", "spec": [{"type": "choice", "question_name": "q", "variable": "v",
                                                "required": True}]}, "not one of"),
    ({"name": "x", "description": "", "spec": [{"type": "integer", "question_name": "q", "variable": "v",
                                                "required": True, "default": "7"}]}, "expected to be integer"),
    ({"name": "x", "description": "", "spec": [{"type": "float", "question_name": "q", "variable": "v",
                                                "required": True, "min": 0.5}]}, "limit .* expected to be integer"),
    ({"name": "x", "description": "", "spec": [{"type": "multiselect", "question_name": "q", "variable": "v",
                                                "required": False}]}, "must specify choices"),
    ({"name": "x", "description": "", "spec": [{"type": "multiplechoice", "question_name": "q", "variable": "v",
                                                "required": True, "choices": ["a", "b"], "default": "a\nb"}]},
     "only have one default"),
    ({"name": "x", "description": "", "spec": [{"type": "multiplechoice", "question_name": "q", "variable": "v",
                                                "required": True, "choices": "a\nb", "default": "c"}]},
     "answered from the choices"),
    ({"name": "x", "description": "", "spec": [{"type": "text", "question_name": "q", "variable": "v", "required": True},
                                               {"type": "text", "question_name": "r", "variable": "v", "required": True}]},
     "duplicated"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_spec_rules_refuse_what_awx_refuses(survey, message):
    assert any(re.search(message, error) for error in awx_rules.spec_errors(survey)), awx_rules.spec_errors(survey)
