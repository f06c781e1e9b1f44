"""openapi_check -- check HTTP responses against doc/openapi.yaml.

A small validator for the subset of JSON Schema the document uses: type
(one name or a list), properties, required, additionalProperties (false or a
schema), items, enum, minimum/maximum, maxLength, pattern and $ref to
#/components/....  Every call is recorded, so a test can assert that it walked
every path and method of the document.  PyYAML (Debian python3-yaml).
"""
import re

import yaml

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class SchemaError(AssertionError):
    pass


class OpenAPI:
    def __init__(self, path):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.called = set()

    def resolve(self, node):
        """Follow $ref until a node without one."""
        for _ in range(16):
            if not isinstance(node, dict) or "$ref" not in node:
                return node
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise SchemaError("unsupported $ref %s" % ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
        raise SchemaError("$ref loop")

    def validate(self, value, schema, where="$"):
        schema = self.resolve(schema)
        types = schema.get("type")
        if types is not None:
            names = types if isinstance(types, list) else [types]
            if not any(_TYPES[t](value) for t in names):
                raise SchemaError("%s: %r is not of type %s" % (where, value, types))
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError("%s: %r not in %s" % (where, value, schema["enum"]))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                raise SchemaError("%s: %r < minimum" % (where, value))
            if "maximum" in schema and value > schema["maximum"]:
                raise SchemaError("%s: %r > maximum" % (where, value))
        if isinstance(value, str):
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                raise SchemaError("%s: longer than %d" % (where, schema["maxLength"]))
            if "pattern" in schema and not re.search(schema["pattern"], value):
                raise SchemaError("%s: %r does not match %s" % (where, value, schema["pattern"]))
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    raise SchemaError("%s: required member %r missing" % (where, name))
            extra = schema.get("additionalProperties", True)
            for k, v in value.items():
                if k in props:
                    self.validate(v, props[k], "%s.%s" % (where, k))
                elif extra is False:
                    raise SchemaError("%s: member %r is not in the schema" % (where, k))
                elif isinstance(extra, dict):
                    self.validate(v, extra, "%s.%s" % (where, k))
        if isinstance(value, list) and "items" in schema:
            for i, v in enumerate(value):
                self.validate(v, schema["items"], "%s[%d]" % (where, i))

    def template_of(self, path):
        """The document's path template that PATH (no query) matches."""
        best = None
        for tmpl in self.doc["paths"]:
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
            if re.match(rx, path):
                # a literal segment beats a parameter: /v1/suppression/import
                if best is None or tmpl.count("{") < best.count("{"):
                    best = tmpl
        if best is None:
            raise SchemaError("path %s is not in openapi.yaml" % path)
        return best

    def check(self, method, path, status, ctype, body):
        """Validate one response; BODY is the parsed JSON (or text)."""
        tmpl = self.template_of(path.split("?")[0])
        op = self.doc["paths"][tmpl].get(method.lower())
        if op is None:
            raise SchemaError("%s %s is not in openapi.yaml" % (method, tmpl))
        self.called.add((method.lower(), tmpl))
        resp = op["responses"].get(str(status))
        if resp is None:
            raise SchemaError("%s %s: status %d is not documented" % (method, tmpl, status))
        resp = self.resolve(resp)
        content = resp.get("content")
        if not content:
            if body not in (None, b"", ""):
                raise SchemaError("%s %s %d: a body where none is documented" % (method, tmpl, status))
            return
        media = (ctype or "").split(";")[0].strip()
        if media not in content:
            raise SchemaError("%s %s %d: content type %r, documented %s"
                              % (method, tmpl, status, media, list(content)))
        schema = content[media].get("schema")
        if schema is not None:
            self.validate(body, schema, "%s %s %d" % (method, tmpl, status))

    def uncalled(self):
        every = set()
        for tmpl, item in self.doc["paths"].items():
            for m in ("get", "put", "post", "delete"):
                if m in item:
                    every.add((m, tmpl))
        return sorted(every - self.called)
