#!/usr/bin/env python3
"""schema-check: a test helper.  Check a JSON document against a definition
of a swagger 2.0 (OpenAPI) description, the way the tests check the
configuration nucleus-node writes for Firecracker.  Not installed.

    schema-check.py SCHEMA.yaml DOCUMENT.json [DEFINITION]

DEFINITION defaults to FullVmConfiguration, the shape of Firecracker's
--config-file.  Prints one line per problem, "PATH: what", and exits 0
when the document is valid, 1 when it is not, 2 on a usage or I/O error.

What is checked, for each value, as its schema says: the type (object,
array, string, integer, number, boolean), the required members of an
object, enum, minimum and maximum, minLength and maxLength, the int32
and int64 formats' ranges, the items of an array, $ref to #/definitions.
An object's member the schema does not define is an error unless the
schema says additionalProperties (safest: Firecracker refuses unknown
fields of its configuration).

One leniency, on purpose: an optional member whose value is null passes,
as Firecracker (serde's Option) reads it as absent; its own example
configurations are written that way.  A required member is never null.
"""

import json
import re
import sys

import yaml


class Loader(yaml.SafeLoader):
    """YAML 1.1 reads Off, On, Yes and No as booleans; the schema means
    strings (the logger's level "Off"): only true and false are."""


Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                             re.compile(r"^(?:true|false)$"), list("tf"))

FORMAT_RANGES = {
    "int32": (-2**31, 2**31 - 1),
    "int64": (-2**63, 2**63 - 1),
}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float))
    and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


class Checker:
    def __init__(self, definitions):
        self.definitions = definitions
        self.problems = []

    def fail(self, path, what):
        self.problems.append("%s: %s" % (path or "(document)", what))

    def resolve(self, schema, path):
        seen = 0
        while "$ref" in schema:
            ref = schema["$ref"]
            prefix = "#/definitions/"
            if not ref.startswith(prefix) or \
                    ref[len(prefix):] not in self.definitions:
                raise SystemExit("schema-check: %s: unknown $ref %s"
                                 % (path, ref))
            schema = self.definitions[ref[len(prefix):]]
            seen += 1
            if seen > 32:
                raise SystemExit("schema-check: $ref loop at %s" % path)
        return schema

    def check(self, value, schema, path):
        schema = self.resolve(schema, path)
        kind = schema.get("type")
        if kind is None and "properties" in schema:
            kind = "object"
        if kind is not None:
            if kind not in TYPES:
                raise SystemExit("schema-check: %s: unknown type %s"
                                 % (path, kind))
            if not TYPES[kind](value):
                self.fail(path, "expected %s, got %s"
                          % (kind, json.dumps(value)[:60]))
                return
        if "enum" in schema and value not in schema["enum"]:
            self.fail(path, "%s is not one of %s"
                      % (json.dumps(value)[:60], schema["enum"]))
        if kind in ("integer", "number"):
            self.bounds(value, schema, path)
        if kind == "string":
            if "minLength" in schema and len(value) < schema["minLength"]:
                self.fail(path, "shorter than %d" % schema["minLength"])
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                self.fail(path, "longer than %d" % schema["maxLength"])
        if kind == "array" and "items" in schema:
            for i, item in enumerate(value):
                self.check(item, schema["items"], "%s[%d]" % (path, i))
        if kind == "object":
            self.members(value, schema, path)

    def bounds(self, value, schema, path):
        if "minimum" in schema and value < schema["minimum"]:
            self.fail(path, "%s is below the minimum %s"
                      % (value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            self.fail(path, "%s is above the maximum %s"
                      % (value, schema["maximum"]))
        lo, hi = FORMAT_RANGES.get(schema.get("format"), (None, None))
        if lo is not None and not lo <= value <= hi:
            self.fail(path, "%s is out of range for %s"
                      % (value, schema["format"]))

    def members(self, value, schema, path):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", False)
        for name in schema.get("required", []):
            if name not in value:
                self.fail(path, "missing required member \"%s\"" % name)
            elif value[name] is None:
                self.fail("%s.%s" % (path, name) if path else name,
                          "required, and null")
        for name, member in value.items():
            where = "%s.%s" % (path, name) if path else name
            if name in props:
                if member is None and name not in schema.get("required",
                                                             []):
                    continue
                self.check(member, props[name], where)
            elif extra is True:
                continue
            elif isinstance(extra, dict):
                self.check(member, extra, where)
            else:
                self.fail(where, "unknown member")


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write("usage: schema-check.py schema.yaml document.json "
                         "[definition]\n")
        return 2
    name = argv[3] if len(argv) == 4 else "FullVmConfiguration"
    try:
        with open(argv[1]) as f:
            spec = yaml.load(f, Loader=Loader)
        with open(argv[2]) as f:
            doc = json.load(f)
    except (OSError, ValueError, yaml.YAMLError) as e:
        sys.stderr.write("schema-check: %s\n" % e)
        return 2
    definitions = spec.get("definitions", {})
    if name not in definitions:
        sys.stderr.write("schema-check: no definition %s\n" % name)
        return 2
    checker = Checker(definitions)
    checker.check(doc, definitions[name], "")
    for p in checker.problems:
        print(p)
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
