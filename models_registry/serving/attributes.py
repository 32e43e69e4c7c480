"""Protected or segment attributes of a call (gender, age band, region): checked, not modelled.

The model never sees them; fairness checks and segments read them from the inference log.
A call (predict, explain) or a logged record may carry at most ATTRIBUTES_MAX_KEYS of them:
names of 1 to ATTRIBUTE_NAME_MAX characters, values a string of at most ATTRIBUTE_TEXT_MAX
characters, a finite number or a boolean.
"""

from __future__ import annotations

import math
from typing import Any

from governance.errors import InvalidInput

ATTRIBUTES_MAX_KEYS = 20
ATTRIBUTE_NAME_MAX = 50
ATTRIBUTE_TEXT_MAX = 200


def attribute_problems(attributes: Any) -> str | dict[str, str]:
    """What is wrong with the object itself, or name -> what is wrong with it ({}: nothing)."""
    if not isinstance(attributes, dict):
        return "expected an object"
    if len(attributes) > ATTRIBUTES_MAX_KEYS:
        return f"at most {ATTRIBUTES_MAX_KEYS} attributes"
    problems: dict[str, str] = {}
    for name, value in attributes.items():
        if not 1 <= len(name) <= ATTRIBUTE_NAME_MAX:
            problems[name] = f"a name of 1 to {ATTRIBUTE_NAME_MAX} characters"
        elif isinstance(value, str):
            if len(value) > ATTRIBUTE_TEXT_MAX:
                problems[name] = f"at most {ATTRIBUTE_TEXT_MAX} characters"
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems[name] = "must be a finite number"
        elif not isinstance(value, bool | int):
            problems[name] = "expected a string, a number or true/false"
        elif isinstance(value, int) and not -(2**63) <= value < 2**63:
            problems[name] = "out of range: a 64-bit integer"
    return problems


def attributes_validate(attributes: Any) -> dict[str, Any]:
    """The attributes of a predict or explain call, or a 400 naming each bad one."""
    problems = attribute_problems(attributes)
    if isinstance(problems, str):
        raise InvalidInput(f"attributes: {problems}.", extra={"attributes": [problems]})
    if problems:
        listed = ", ".join(f"{name!r} ({problem})" for name, problem in problems.items())
        raise InvalidInput(f"Invalid attributes: {listed}.", extra={"attributes": problems})
    return attributes
