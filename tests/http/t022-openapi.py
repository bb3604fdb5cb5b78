#!/usr/bin/env python3
"""GET /openapi.json, written from the operation table, is an OpenAPI 3.1
document, and it describes what the server really answers.

- Its shape is checked against the OpenAPI 3.1 specification by a small
  validator written here (stdlib only): the document, path items,
  operations, parameters (every path template has its path parameter, and
  no other), request bodies, responses, unique operation ids, and the JSON
  Schema 2020-12 keywords our schemas use (3.1 spellings: `type` arrays
  instead of `nullable`, numeric `exclusiveMinimum`), every `$ref`
  resolving. Where the openapi-spec-validator package is installed it
  validates the document as well.
- Real answers are checked against the documented schemas: each
  operation's success status and JSON body (persons, medications, doses,
  the daily summary, the export, health), and 422 bodies against
  HTTPValidationError.

Python 3 stdlib only; ends with "N passed, N failed"."""

import datetime
import re
import sys

import apilib
from apilib import check

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PATH_ITEM_KEYS = METHODS | {"summary", "description", "servers", "parameters", "$ref"}
OPERATION_KEYS = {"tags", "summary", "description", "externalDocs", "operationId", "parameters",
                  "requestBody", "responses", "callbacks", "deprecated", "security", "servers"}
TOP_KEYS = {"openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks", "components",
            "security", "tags", "externalDocs"}
JSON_TYPES = {"null", "boolean", "object", "array", "number", "string", "integer"}
SCHEMA_KEYS = {"type", "properties", "required", "items", "enum", "default", "format",
               "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "maxLength",
               "description", "$ref"}
STATUS_RE = re.compile(r"^([1-5][0-9][0-9]|[1-5]XX|default)$")

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def extensions_ok(obj, allowed, where):
    for k in obj:
        if k not in allowed and not k.startswith("x-"):
            problem(where, f"unknown field {k!r}")


def check_schema(doc, s, where):
    """A JSON Schema 2020-12 object, limited to the keywords this API uses."""
    if not isinstance(s, dict):
        problem(where, "schema is not an object")
        return
    extensions_ok(s, SCHEMA_KEYS, where)
    if "nullable" in s:
        problem(where, "`nullable` is OpenAPI 3.0; 3.1 uses a type array")
    if "$ref" in s:
        ref = s["$ref"]
        name = ref[len("#/components/schemas/"):] if isinstance(ref, str) and \
            ref.startswith("#/components/schemas/") else None
        if name is None or name not in doc.get("components", {}).get("schemas", {}):
            problem(where, f"$ref {ref!r} does not resolve")
    t = s.get("type")
    types = t if isinstance(t, list) else [t] if t is not None else []
    if t is not None and (not types or any(x not in JSON_TYPES for x in types) or
                          len(set(types)) != len(types)):
        problem(where, f"bad type {t!r}")
    for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if k in s and (isinstance(s[k], bool) or not isinstance(s[k], (int, float))):
            problem(where, f"{k} must be a number in 3.1, is {s[k]!r}")
    if "maxLength" in s and (not isinstance(s["maxLength"], int) or s["maxLength"] < 0):
        problem(where, "maxLength must be a non-negative integer")
    if "enum" in s and (not isinstance(s["enum"], list) or not s["enum"]):
        problem(where, "enum must be a non-empty array")
    if "format" in s and not isinstance(s["format"], str):
        problem(where, "format must be a string")
    props = s.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            problem(where, "properties must be an object")
            props = {}
        for name, sub in props.items():
            check_schema(doc, sub, f"{where}.properties.{name}")
    if "required" in s:
        req = s["required"]
        if not isinstance(req, list) or len(set(req)) != len(req) or \
                not all(isinstance(x, str) for x in req):
            problem(where, "required must be an array of unique strings")
        elif props is not None:
            for name in req:
                if name not in props:
                    problem(where, f"required {name!r} is not a property")
    if "items" in s:
        check_schema(doc, s["items"], f"{where}.items")
    if "default" in s and types and not matches(doc, s["default"], dict(s, default=None)):
        problem(where, f"default {s['default']!r} does not match the schema")


def check_content(doc, content, where):
    if not isinstance(content, dict) or not content:
        problem(where, "content must be a non-empty map of media types")
        return
    for media, obj in content.items():
        if "/" not in media:
            problem(where, f"bad media type {media!r}")
        if not isinstance(obj, dict):
            problem(where, f"{media}: not a media type object")
        elif "schema" in obj:
            check_schema(doc, obj["schema"], f"{where}.{media}.schema")


def check_document(doc):
    """The OpenAPI 3.1 shape; returns the list of problems."""
    problems.clear()
    if not isinstance(doc, dict):
        problem("document", "not an object")
        return problems
    extensions_ok(doc, TOP_KEYS, "document")
    if not re.match(r"^3\.1\.\d+$", str(doc.get("openapi", ""))):
        problem("openapi", f"{doc.get('openapi')!r} is not 3.1.x")
    info = doc.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("title"), str) or \
            not isinstance(info.get("version"), str):
        problem("info", "needs title and version strings")
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        check_schema(doc, s, f"components.schemas.{name}")
    op_ids = set()
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        problem("paths", "not an object")
        return problems
    for path, item in paths.items():
        if not path.startswith("/"):
            problem(path, "a path must start with /")
        extensions_ok(item, PATH_ITEM_KEYS, path)
        templates = re.findall(r"\{([^}/]+)\}", path)
        for method, op in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            extensions_ok(op, OPERATION_KEYS, where)
            oid = op.get("operationId")
            if not isinstance(oid, str) or oid in op_ids:
                problem(where, f"operationId {oid!r} missing or not unique")
            op_ids.add(oid)
            seen = set()
            path_params = []
            for p in op.get("parameters", []):
                key = (p.get("name"), p.get("in"))
                if key in seen:
                    problem(where, f"parameter {key} listed twice")
                seen.add(key)
                if p.get("in") not in ("query", "header", "path", "cookie") or \
                        not isinstance(p.get("name"), str):
                    problem(where, f"bad parameter {p!r}")
                if p.get("in") == "path":
                    path_params.append(p.get("name"))
                    if p.get("required") is not True:
                        problem(where, f"path parameter {p.get('name')} must be required")
                if ("schema" in p) == ("content" in p):
                    problem(where, f"parameter {p.get('name')}: exactly one of schema, content")
                if "schema" in p:
                    check_schema(doc, p["schema"], f"{where} parameter {p.get('name')}")
            if sorted(path_params) != sorted(templates):
                problem(where, f"path parameters {path_params} do not match the template")
            body = op.get("requestBody")
            if body is not None:
                if not isinstance(body.get("required", False), bool):
                    problem(where, "requestBody.required must be a boolean")
                check_content(doc, body.get("content"), f"{where} requestBody")
            responses = op.get("responses")
            if not isinstance(responses, dict) or not responses:
                problem(where, "needs responses")
                continue
            for status, resp in responses.items():
                if not STATUS_RE.match(status):
                    problem(where, f"bad response key {status!r}")
                if not isinstance(resp.get("description"), str):
                    problem(where, f"response {status} needs a description")
                if "content" in resp:
                    check_content(doc, resp["content"], f"{where} response {status}")
    return problems


# ---- values against schemas ------------------------------------------------------------------

def resolve(doc, s):
    while isinstance(s, dict) and "$ref" in s:
        s = doc["components"]["schemas"][s["$ref"].split("/")[-1]]
    return s


def type_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def no(why, what):
    """Records why a value does not match (when asked) and says so."""
    if why is not None:
        why.append(what)
    return False


def matches(doc, v, s, where="value", why=None):
    """Whether v is valid against schema s (the keywords the API uses)."""
    s = resolve(doc, s)
    t = s.get("type")
    types = t if isinstance(t, list) else [t] if t else []
    vt = type_of(v)
    if types and vt not in types and not (vt == "integer" and "number" in types):
        return no(why, f"{where}: {vt} is not {types}")
    if vt == "string" and s.get("format") == "date" and \
            not re.match(r"^\d{4}-\d{2}-\d{2}$", v):
        return no(why, f"{where}: {v!r} is not a date")
    if vt == "string" and s.get("format") == "date-time" and not apilib.TS_RE.match(v):
        return no(why, f"{where}: {v!r} is not a date-time")
    if "enum" in s and v not in s["enum"]:
        return no(why, f"{where}: {v!r} not in {s['enum']}")
    if vt == "integer":
        if "minimum" in s and v < s["minimum"] or "maximum" in s and v > s["maximum"]:
            return no(why, f"{where}: {v} out of bounds")
    if vt == "object":
        for name in s.get("required", []):
            if name not in v:
                return no(why, f"{where}: no {name!r}")
        for name, sub in s.get("properties", {}).items():
            if name in v and not matches(doc, v[name], sub, f"{where}.{name}", why):
                return False
    if vt == "array" and "items" in s:
        return all(matches(doc, x, s["items"], f"{where}[{i}]", why) for i, x in enumerate(v))
    return True


def documented_response(doc, method, path, status):
    op = doc["paths"][path][method]
    resp = op["responses"].get(str(status))
    if resp is None:
        return None, None
    content = resp.get("content", {})
    media = next(iter(content), None)
    return media, content.get(media, {}).get("schema") if media else None


def answered_as_documented(s, doc, method, path, url, body=None):
    """Sends the request and checks status, content type and body against
    the document. Returns the response."""
    r = s.request(method.upper(), url, body)
    name = f"{method.upper()} {url}"
    ok = check(f"{name}: a documented status ({r.status})",
               str(r.status) in doc["paths"][path][method]["responses"], repr(r)[:300])
    if not ok:
        return r
    media, schema = documented_response(doc, method, path, r.status)
    ctype = (r.headers.get("content-type") or "").split(";")[0]
    if media is None:
        check(f"{name}: no content, as documented", not r.body, repr(r)[:200])
        return r
    check(f"{name}: content type {media}", ctype == media, ctype)
    if media == "application/json":
        why = []
        check(f"{name}: the body matches its schema", matches(doc, r.json(), schema, "body", why),
              "; ".join(why)[:400])
    return r


def main():
    s = apilib.Server("t022_openapi")
    try:
        r = s.get("/openapi.json")
        check("/openapi.json: 200 JSON", r.status == 200 and isinstance(r.json(), dict), repr(r))
        doc = r.json() or {}
        found = check_document(doc)
        check("the document has the OpenAPI 3.1 shape", not found, "\n  ".join(found[:30]))
        n_ops = sum(1 for item in doc.get("paths", {}).values() for m in item if m in METHODS)
        check("the document describes the API's operations", n_ops >= 24, n_ops)

        try:
            from openapi_spec_validator import validate
        except ImportError:
            validate = None
            print("# openapi-spec-validator is not installed: the checks above stand alone")
        if validate is not None:
            try:
                validate(doc)
                err = None
            except Exception as e:  # the validator's own error types vary by version
                err = e
            check("openapi-spec-validator accepts the document", err is None, str(err)[:400])

        # A broken document is refused by the validator above: it must not
        # pass by accident.
        broken = {"openapi": "3.0.3", "info": {"title": "x"},
                  "paths": {"/a/{id}": {"get": {"responses": {"200": {}}, "parameters": [
                      {"name": "id", "in": "path", "schema": {"type": "integer",
                                                              "nullable": True,
                                                              "exclusiveMinimum": True}}]}}}}
        found = check_document(broken)
        check("the shape check refuses a 3.0-style document", len(found) >= 5, found)

        today = apilib.utc_today().isoformat()
        p = answered_as_documented(s, doc, "post", "/api/v1/persons/", "/api/v1/persons/",
                                   {"first_name": "Ada", "last_name": "L",
                                    "date_of_birth": "1990-02-03"})
        pid = (p.json() or {}).get("id", 1)
        m = answered_as_documented(s, doc, "post", "/api/v1/medications/", "/api/v1/medications/",
                                   {"person_id": pid, "name": "Aspirin", "dosage": "100 mg",
                                    "frequency": "daily", "max_doses_per_day": 3})
        mid = (m.json() or {}).get("id", 1)
        d = answered_as_documented(
            s, doc, "post", "/api/v1/doses/medications/{medication_id}/dose",
            f"/api/v1/doses/medications/{mid}/dose", {"timezone_offset": 0})
        dose_id = (d.json() or {}).get("id", 1)
        gets = [
            ("/health", "/health"),
            ("/api/v1/health", "/api/v1/health"),
            ("/api/v1/persons/", "/api/v1/persons/"),
            ("/api/v1/persons/{person_id}", f"/api/v1/persons/{pid}"),
            ("/api/v1/medications/", "/api/v1/medications/?timezone_offset=0"),
            ("/api/v1/medications/{medication_id}", f"/api/v1/medications/{mid}"),
            ("/api/v1/doses/medications/{medication_id}/doses",
             f"/api/v1/doses/medications/{mid}/doses"),
            ("/api/v1/doses/medications/{medication_id}/doses/{date}",
             f"/api/v1/doses/medications/{mid}/doses/{today}?timezone_offset=0"),
            ("/api/v1/doses/daily-summary", "/api/v1/doses/daily-summary?timezone_offset=0"),
            ("/api/v1/doses/daily-summary/{date}",
             f"/api/v1/doses/daily-summary/{today}?timezone_offset=0"),
            ("/api/v1/reports/doses.json",
             f"/api/v1/reports/doses.json?person_id={pid}&from={today}&to={today}"),
            ("/api/v1/reports/doses.csv",
             f"/api/v1/reports/doses.csv?person_id={pid}&from={today}&to={today}"),
        ]
        for path, url in gets:
            answered_as_documented(s, doc, "get", path, url)
        answered_as_documented(s, doc, "put", "/api/v1/persons/{person_id}",
                               f"/api/v1/persons/{pid}", {"notes": "n"})
        answered_as_documented(s, doc, "put", "/api/v1/medications/{medication_id}",
                               f"/api/v1/medications/{mid}", {"dosage": "200 mg"})
        answered_as_documented(s, doc, "put", "/api/v1/persons/{person_id}/set-default",
                               f"/api/v1/persons/{pid}/set-default")
        # Errors: a documented 404, and 422 bodies as HTTPValidationError.
        answered_as_documented(s, doc, "get", "/api/v1/persons/{person_id}",
                               "/api/v1/persons/999999")
        answered_as_documented(s, doc, "get", "/api/v1/persons/{person_id}", "/api/v1/persons/0")
        answered_as_documented(s, doc, "post", "/api/v1/medications/", "/api/v1/medications/",
                               {"name": 5})
        answered_as_documented(s, doc, "delete", "/api/v1/doses/{dose_id}",
                               f"/api/v1/doses/{dose_id}")
        yesterday = (apilib.utc_today() - datetime.timedelta(days=1)).isoformat()
        answered_as_documented(s, doc, "get", "/api/v1/reports/doses.json",
                               f"/api/v1/reports/doses.json?person_id={pid}&from={today}"
                               f"&to={yesterday}")
        check("server still answers", s.alive())
    finally:
        s.stop()
    apilib.report()


if __name__ == "__main__":
    sys.exit(main())
