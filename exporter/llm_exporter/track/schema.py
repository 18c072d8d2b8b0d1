"""Does a parsed JSON value match a JSON schema? The subset that structured outputs use.

OpenAI's structured outputs accept a restricted JSON Schema: ``type`` (one or a list),
``properties``, ``required``, ``additionalProperties: false``, ``items``, ``enum``, ``const``,
``anyOf`` and local ``$ref`` to ``$defs``. That subset is checked here; any other keyword is
accepted as is, so an unusual schema can yield a false "valid", never a false "invalid".
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 64

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}


def conforms(value: Any, schema: Any) -> bool:
    if not isinstance(schema, dict):
        return True
    return _check(value, schema, schema.get("$defs") or schema.get("definitions") or {}, 0)


def _check(value: Any, schema: dict[str, Any], defs: dict[str, Any], depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/")):
        target = defs.get(ref.rsplit("/", 1)[1])
        return not isinstance(target, dict) or _check(value, target, defs, depth + 1)
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_is_type(value, name) for name in names):
            return False
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and not any(
        _check(value, sub, defs, depth + 1) for sub in any_of if isinstance(sub, dict)
    ):
        return False
    if isinstance(value, dict):
        return _check_object(value, schema, defs, depth)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return all(_check(item, schema["items"], defs, depth + 1) for item in value)
    return True


def _check_object(value: dict[str, Any], schema: dict[str, Any], defs: dict[str, Any],
                  depth: int) -> bool:  # fmt: skip
    required = schema.get("required") or ()
    if any(key not in value for key in required):
        return False
    properties = schema.get("properties") or {}
    if schema.get("additionalProperties") is False and any(k not in properties for k in value):
        return False
    return all(
        _check(value[key], sub, defs, depth + 1)
        for key, sub in properties.items()
        if key in value and isinstance(sub, dict)
    )


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    expected = _TYPES.get(name)
    return expected is None or isinstance(value, expected)
