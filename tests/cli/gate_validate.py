#!/usr/bin/env python3
"""Validates JSON documents against doc/report-schema.json.

    gate_validate.py SCHEMA FILE...     exit 0 if every FILE is valid, else 1
    gate_validate.py --expect-invalid SCHEMA FILE...   exit 0 if every FILE is INVALID

Two validators run on every document and must agree:
  * the `jsonschema` package (Draft 2020-12), when it can be imported;
  * a small validator bundled here for the subset of JSON Schema the schema
    uses (type, enum, const, properties, required, additionalProperties,
    items, minItems, maxItems, minimum, maximum, exclusiveMinimum, $ref to
    #/$defs/..., allOf, oneOf, not, if/then/else, boolean schemas).
When `jsonschema` is missing the bundled one decides alone, and says so.
"""
import json
import sys


class Invalid(Exception):
    pass


def _type_ok(value, name):
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool) or (
            isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise Invalid(f"schema uses unknown type {name!r}")


def _equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


KNOWN = {"$schema", "$id", "title", "description", "type", "enum", "const", "properties",
         "required", "additionalProperties", "items", "minItems", "maxItems", "minimum",
         "maximum", "exclusiveMinimum", "$ref", "allOf", "oneOf", "not", "if", "then", "else",
         "$defs"}


class Subset:
    def __init__(self, root):
        self.root = root

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise Invalid(f"unsupported $ref {ref!r}")
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def check(self, value, schema, path="$"):
        if schema is True:
            return
        if schema is False:
            raise Invalid(f"{path}: not allowed here")
        unknown = set(schema) - KNOWN
        if unknown:
            raise Invalid(f"schema keyword(s) {sorted(unknown)} not supported by the subset validator")
        if "$ref" in schema:
            self.check(value, self.resolve(schema["$ref"]), path)
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_type_ok(value, t) for t in types):
                raise Invalid(f"{path}: {value!r} is not of type {schema['type']}")
        if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
            raise Invalid(f"{path}: {value!r} is not one of {schema['enum']}")
        if "const" in schema and not _equal(value, schema["const"]):
            raise Invalid(f"{path}: {value!r} is not {schema['const']!r}")
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and "minimum" in schema and value < schema["minimum"]:
            raise Invalid(f"{path}: {value} < minimum {schema['minimum']}")
        if number and "maximum" in schema and value > schema["maximum"]:
            raise Invalid(f"{path}: {value} > maximum {schema['maximum']}")
        if number and "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise Invalid(f"{path}: {value} <= exclusiveMinimum {schema['exclusiveMinimum']}")
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                raise Invalid(f"{path}: fewer than {schema['minItems']} items")
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                raise Invalid(f"{path}: more than {schema['maxItems']} items")
            if "items" in schema:
                for i, v in enumerate(value):
                    self.check(v, schema["items"], f"{path}[{i}]")
        if isinstance(value, dict):
            for name in schema.get("required", []):
                if name not in value:
                    raise Invalid(f"{path}: required member {name!r} is missing")
            props = schema.get("properties", {})
            for name, v in value.items():
                if name in props:
                    self.check(v, props[name], f"{path}.{name}")
                elif "additionalProperties" in schema:
                    self.check(v, schema["additionalProperties"], f"{path}.{name}")
        for sub in schema.get("allOf", []):
            self.check(value, sub, path)
        if "oneOf" in schema:
            ok = 0
            for sub in schema["oneOf"]:
                try:
                    self.check(value, sub, path)
                    ok += 1
                except Invalid:
                    pass
            if ok != 1:
                raise Invalid(f"{path}: {value!r} matches {ok} of the oneOf schemas, not 1")
        if "not" in schema:
            try:
                self.check(value, schema["not"], path)
            except Invalid:
                pass
            else:
                raise Invalid(f"{path}: matches a 'not' schema")
        if "if" in schema:
            try:
                self.check(value, schema["if"], path)
                branch = schema.get("then", True)
            except Invalid:
                branch = schema.get("else", True)
            self.check(value, branch, path)


def main(argv):
    expect_invalid = False
    if argv and argv[0] == "--expect-invalid":
        expect_invalid = True
        argv = argv[1:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        schema = json.load(f)
    try:
        import jsonschema
        validator = jsonschema.Draft202012Validator
        validator.check_schema(schema)
        full = validator(schema)
    except ImportError:
        full = None
        print("note: python module jsonschema is not available: only the bundled subset "
              "validator checks these files", file=sys.stderr)
    subset = Subset(schema)
    status = 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        try:
            subset.check(doc, schema)
            sub_err = None
        except Invalid as e:
            sub_err = str(e)
        full_err = None
        if full is not None:
            errs = sorted(full.iter_errors(doc), key=lambda e: list(e.absolute_path))
            if errs:
                full_err = "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errs[:3])
            if (sub_err is None) != (full_err is None):
                print(f"FAIL {path}: validators disagree: jsonschema says {full_err or 'valid'}, "
                      f"subset says {sub_err or 'valid'}")
                status = 1
                continue
        err = full_err or sub_err
        if expect_invalid and err is None:
            print(f"FAIL {path}: accepted, but it should be rejected")
            status = 1
        elif not expect_invalid and err is not None:
            print(f"FAIL {path}: {err}")
            status = 1
        elif expect_invalid:
            print(f"ok (rejected as expected) {path}: {err}")
    which = "jsonschema (Draft 2020-12) and the bundled subset validator" if full else \
        "the bundled subset validator"
    print(f"{len(argv) - 1} file(s) checked with {which}: "
          f"{'all as expected' if status == 0 else 'FAILURES'}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
