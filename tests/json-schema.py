#!/usr/bin/python3
"""json-schema.py SCHEMA.json DOCUMENT.json [DEF]: validates DOCUMENT against
SCHEMA (or against SCHEMA's $defs/DEF), using the subset of JSON Schema that
the hexz schemas use: type (one or a list), enum, const, properties,
required, additionalProperties (false or a schema), items, minimum, oneOf,
$ref to "#/$defs/NAME".  Prints every violation with its JSON path and exits
1 if there is any, 2 on bad arguments.  A hand-written checker, so that the
tests need nothing beyond python3's own json module."""
import json
import sys

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
KNOWN = {"type", "enum", "const", "properties", "required", "additionalProperties", "items", "minimum",
         "oneOf", "$ref", "$defs", "$schema", "$id", "title", "description"}


def check(schema, value, path, root, errors):
    unknown = set(schema) - KNOWN
    if unknown:
        raise SystemExit("%s: schema uses unsupported keywords %s" % (path, sorted(unknown)))
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise SystemExit("%s: unsupported $ref %s" % (path, ref))
        check(root["$defs"][ref[len("#/$defs/"):]], value, path, root, errors)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            errors.append("%s: %r is not of type %s" % (path, value, "/".join(types)))
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r is not one of %r" % (path, value, schema["enum"]))
    if "const" in schema and value != schema["const"]:
        errors.append("%s: %r is not %r" % (path, value, schema["const"]))
    if "minimum" in schema and TYPES["number"](value) and value < schema["minimum"]:
        errors.append("%s: %r is below %r" % (path, value, schema["minimum"]))
    if "oneOf" in schema:
        matches = []
        for i, s in enumerate(schema["oneOf"]):
            e = []
            check(s, value, path, root, e)
            if not e:
                matches.append(i)
        if len(matches) != 1:
            errors.append("%s: matches %d of the oneOf alternatives, not exactly one" % (path, len(matches)))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in value:
                errors.append("%s: the required key %r is missing" % (path, k))
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                check(props[k], v, "%s.%s" % (path, k), root, errors)
            elif extra is False:
                errors.append("%s: the key %r is not in the schema" % (path, k))
            elif isinstance(extra, dict):
                check(extra, v, "%s.%s" % (path, k), root, errors)
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            check(schema["items"], v, "%s[%d]" % (path, i), root, errors)


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    root = json.load(open(sys.argv[1]))
    doc = json.load(open(sys.argv[2]))
    schema = root["$defs"][sys.argv[3]] if len(sys.argv) == 4 else root
    errors = []
    check(schema, doc, "$", root, errors)
    for e in errors:
        print("%s: %s" % (sys.argv[2], e), file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
