"""Tool arguments as clients send them → the tool function's keyword arguments, or one clear refusal.

The SDK would validate arguments against each tool's pydantic model and answer a mistake with pydantic's
own text (``1 validation error for task_addArguments … https://errors.pydantic.dev/…``), and before that
it re-parses every optional string as JSON, so ``"null"`` silently became "absent" and ``'{"a": 1}'`` a
type error. Here every parameter is read by one set of rules, and every refusal names the parameter and
the forms it accepts, in the project's words:

* a parameter the tool does not have is refused (a misspelt name is not silently ignored);
* a required parameter that is missing or ``null`` is refused; an optional one that is ``null`` is absent;
* the *string* ``"null"`` for an optional parameter is refused with what to send instead (leave the
  parameter out, or ``""`` to clear a field): it is what a client sends when it meant JSON ``null``, and a
  task with the project "null" or a due date left unchanged that was meant to be cleared would both be wrong;
* numbers and booleans are read as their text, a list as JSON text (tags, depends and fields parse it);
  an object is refused;
* text longer than its limit (:data:`TEXT_LIMIT`, more for a doc or an import) or holding a lone UTF-16
  surrogate is refused before any work is done;
* a priority is trimmed and upper-cased, then must be H, M or L (or ``""``, which clears it on an edit
  and means none on a new task).

Every refusal of one call is reported at once, as one message starting ``Parameter validation error in
TOOL:``; nothing is changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..inputs import shorten, to_text
from .catalogue import CLEARABLE, EDIT_TOOLS, NEW_TASK_TOOLS, PARAM_FORMS, PARAM_LIMITS, TEXT_LIMIT

NULL_WORD = "null"
_SURROGATE = re.compile("[\ud800-\udfff]")
_REMOTE_RE = re.compile(r"^[^\x00-\x20\x7f]{1,255}$")


@dataclass(frozen=True)
class Param:
    """One published parameter of a tool."""

    name: str
    required: bool
    default: Any = None
    choices: tuple[str, ...] | None = None
    """The values an enum parameter (priority) accepts, after trimming and upper-casing."""


def params_of(schema: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[Param, ...]:
    """A tool's parameters, from its published input schema and its function's defaults."""
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        choices = tuple(str(value) for value in prop["enum"]) if "enum" in prop else None
        params.append(Param(name, name in required, defaults.get(name), choices))
    return tuple(params)


class _Refused(Exception):
    """One parameter's problem (collected; the call is refused with all of them)."""


def coerce(tool: str, params: Sequence[Param], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``tool``'s function for ``arguments``, or InvalidInput naming every problem."""
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    for param in params:
        try:
            kwargs[param.name] = _value(tool, param, arguments.get(param.name))
        except _Refused as exc:
            problems.append(str(exc))
    known = {param.name for param in params}
    unknown = [name for name in arguments if name not in known]
    if unknown:
        names = ", ".join(shorten(name, 40) for name in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        takes = f"its parameters are {', '.join(sorted(known))}" if known else "it takes no parameters"
        problems.append(f"{tool} has no parameter {names}; {takes}")
    if problems:
        raise InvalidInput(f"Parameter validation error in {tool}: " + "; ".join(problems) + ".")
    return kwargs


def forms(param: Param) -> str:
    """What ``param`` accepts, in words."""
    if param.choices is not None:
        listed = ", ".join(choice for choice in param.choices if choice)
        text = f"{listed.rsplit(', ', 1)[0]} or {listed.rsplit(', ', 1)[-1]} (any case)"
        return text + (' or "" to clear it' if "" in param.choices else "")
    return PARAM_FORMS.get(param.name, "text")


def _value(tool: str, param: Param, value: Any) -> Any:
    name = param.name
    if value is None:
        if param.required:
            raise _Refused(f"{name} is missing: give {forms(param)}")
        return param.default
    if isinstance(value, dict):
        raise _Refused(f"{name} must be {forms(param)}, not a JSON object")
    text = to_text(value)
    if not isinstance(text, str):
        if isinstance(value, list | tuple):
            what = "a list nested too deeply"
        elif isinstance(value, int | float):
            what = "a number that large"
        else:
            what = f"a {type(value).__name__}"
        raise _Refused(f"{name} must be {forms(param)}, not {what}")
    if name == "remote" and text.strip() and not _REMOTE_RE.match(text.strip()):
        raise _Refused(
            f"remote: {shorten(text)} is not a configured git remote (a remote's name has no spaces or control "
            f"characters); give {forms(param)}"
        )
    limit = PARAM_LIMITS.get(name, TEXT_LIMIT)
    if len(text) > limit:
        raise _Refused(f"{name} is too long: {len(text):,} characters, at most {limit:,} are accepted")
    if _SURROGATE.search(text):
        raise _Refused(f"{name} contains a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape): send Unicode")
    if not param.required and text.strip() == NULL_WORD:
        raise _Refused(f'{name}: "null" is not a value; {_instead_of_null(tool, name)}')
    if param.choices is not None:
        word = text.strip().upper()
        if word == "" and "" not in param.choices:
            return param.default  # an empty priority on a new task: none
        if word not in param.choices:
            raise _Refused(f"{name} must be {forms(param)}, got {shorten(value)}")
        return word
    return text


def _instead_of_null(tool: str, name: str) -> str:
    if tool in EDIT_TOOLS:
        keep = f"leave {name} out to keep it as it is"
        return keep + (', or pass "" to clear it' if name in CLEARABLE else "")
    if tool in NEW_TASK_TOOLS:
        return f"leave {name} out if the task has none"
    return f"leave {name} out for the default"
