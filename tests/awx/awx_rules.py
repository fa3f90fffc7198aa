# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX's survey rules, restated from its source (read, not copied) so the tests can apply them.

Two sets of rules, both from ansible/awx (read at commit e21dd0a0933f):

- ``spec_errors``: what the API refuses when a survey spec is saved
  (``awx/api/views/__init__.py``, ``JobTemplateSurveySpec._validate_spec_data``, with
  ``SURVEY_TYPE_MAPPING`` of ``awx/main/constants.py``).
- ``answer_errors``: what a launch refuses for one question's answer
  (``awx/main/models/mixins.py``, ``SurveyJobTemplateMixin._survey_element_validation``). AWX also
  runs it on every default when it builds a job's extra vars and silently drops a default that
  fails it, so a default must pass it too.
"""
from __future__ import annotations

# question type -> the Python types AWX accepts for its default (SURVEY_TYPE_MAPPING)
DEFAULT_TYPES = {
    "text": (str,), "textarea": (str,), "password": (str,), "multiplechoice": (str,), "multiselect": (str,),
    "integer": (int,), "float": (float, int),
}
ENCRYPTED = "$encrypted$"


def _is(value, types):
    """isinstance as AWX's checks see it (bool counts as int in Python; no survey means a bool)."""
    return isinstance(value, types) and not isinstance(value, bool)


def choice_list(choices):
    """Choices as AWX reads them: a list, or a string of one choice per non-blank line."""
    if isinstance(choices, str):
        return [line for line in choices.splitlines() if line.strip()]
    return list(choices)


def spec_errors(survey):
    """Why the AWX API would refuse to save this survey spec (empty: it would accept it)."""
    errors = []
    for field, types in (("name", str), ("description", str), ("spec", list)):
        if field not in survey:
            errors.append(f"Field '{field}' is missing from survey spec.")
        elif not isinstance(survey[field], types):
            errors.append(f"Expected {types.__name__} for field '{field}'.")
    if errors:
        return errors
    if not survey["spec"]:
        return ["'spec' doesn't contain any items."]
    seen = set()
    for idx, item in enumerate(survey["spec"]):
        if not isinstance(item, dict):
            errors.append(f"Survey question {idx} is not a json object.")
            continue
        missing = [f for f in ("type", "question_name", "variable", "required") if f not in item]
        if missing:
            errors.append(f"{missing} missing from survey question {idx}")
            continue
        for field in ("type", "question_name", "variable"):
            if not isinstance(item[field], str):
                errors.append(f"'{field}' in survey question {idx} expected to be string.")
        if not isinstance(item["required"], bool):
            errors.append(f"'required' in survey question {idx} expected to be boolean.")
        if item["variable"] in seen:
            errors.append(f"'variable' '{item['variable']}' duplicated in survey question {idx}.")
        seen.add(item["variable"])
        qtype = item["type"]
        if qtype not in DEFAULT_TYPES:
            errors.append(f"'{qtype}' in survey question {idx} is not one of {sorted(DEFAULT_TYPES)}.")
            continue
        default = item.get("default")
        if "default" in item and default != "" and not _is(default, DEFAULT_TYPES[qtype]):
            errors.append(f"Default value {default!r} in survey question {idx} expected to be {qtype}.")
        for key in ("min", "max"):
            if key in item and item[key] is not None and not _is(item[key], (int,)):
                errors.append(f"The {key} limit in survey question {idx} expected to be integer.")
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                errors.append(f"Survey question {idx} of type {qtype} must specify choices.")
                continue
            choices = choice_list(item["choices"])
            if "default" in item:
                defaults = choice_list(default) if isinstance(default, str) else list(default)
                if qtype == "multiplechoice" and len(defaults) > 1:
                    errors.append("Multiple Choice (Single Select) can only have one default value.")
                if any(d not in choices for d in defaults):
                    errors.append(f"Default choice must be answered from the choices listed (question {idx}).")
        if isinstance(default, str) and default.startswith(ENCRYPTED) and qtype != "password":
            errors.append(f"$encrypted$ is a reserved keyword for password question defaults (question {idx}).")
    return errors


def answer_errors(item, data, validate_required=True):
    """Why AWX would refuse ``data[item['variable']]`` as the answer to this question at launch."""
    var, qtype = item["variable"], item["type"]
    if qtype == "password" and data.get(var) == ENCRYPTED:
        if item.get("default") is None and item["required"] and validate_required:
            return [f"'{var}' value missing"]
        return []
    if var not in data:
        return [f"'{var}' value missing"] if item["required"] and validate_required else []
    value = data[var]
    low, high = item.get("min"), item.get("max")
    low = None if low in ("", None) else low
    high = None if high in ("", None) else high
    errors = []
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"Value {value!r} for '{var}' expected to be a string."]
        if low is not None and len(value) < int(low):
            errors.append(f"'{var}' value {value!r} is too small (length is {len(value)} must be at least {low}).")
        if high is not None and len(value) > int(high):
            errors.append(f"'{var}' value {value!r} is too large (must be no more than {high}).")
    elif qtype in ("integer", "float"):
        # AWX compares type(value) itself: a bool is neither an integer nor a float there
        if qtype == "integer" and not _is(value, (int,)):
            return [f"Value {value!r} for '{var}' expected to be an integer."]
        if qtype == "float" and not _is(value, (float, int)):
            return [f"Value {value!r} for '{var}' expected to be a numeric type."]
        cast = int if qtype == "integer" else float
        if low is not None and value < cast(low):
            errors.append(f"'{var}' value {value} is too small (must be at least {low}).")
        if high is not None and value > cast(high):
            errors.append(f"'{var}' value {value} is too large (must be no more than {high}).")
    elif qtype == "multiselect":
        if not isinstance(value, list):
            return [f"'{var}' value is expected to be a list."]
        choices = choice_list(item["choices"])
        errors += [f"Value {v!r} for '{var}' expected to be one of {choices}." for v in value if v not in choices]
    elif qtype == "multiplechoice":
        choices = choice_list(item["choices"])
        if value not in choices:
            errors.append(f"Value {value!r} for '{var}' expected to be one of {choices}.")
    return errors


def launch_extra_vars(survey, answers):
    """The extra vars AWX gives a job launched with these survey answers (its defaults for the rest).

    Raises ValueError with AWX's messages when it would refuse the launch.
    """
    errors = [e for item in survey["spec"] for e in answer_errors(item, answers)]
    if errors:
        raise ValueError("; ".join(errors))
    extra = {}
    for item in survey["spec"]:
        default = item.get("default")
        if default is not None and not answer_errors(item, {item["variable"]: default}):
            extra[item["variable"]] = default
    extra.update(answers)
    return extra
