"""The OpenAPI 3.1 description of the JSON API (served at /api/v1/openapi.json).

Built in code from the same constants the API and the exporter use: the record's fields and
their kinds come from `collector.export.FIELDS`, so the description follows the records. The
sources list is the document `collector status --json` prints; its full JSON Schema is
docs/status.schema.json (the tests check the API's answer against it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .. import __version__
from ..export import FIELDS, NULLABLE, TEXT
from ..selection import MAX_LANGUAGE_CHARS

#: Statements a page of the list holds by default, and at most.
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

_TIME = {"type": "string", "format": "date-time"}
_KINDS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "bool": {"type": "boolean"},
    "time": _TIME,
    "strings": {"type": "array", "items": {"type": "string"}},
    "locations": {"type": "array", "items": {"$ref": "#/components/schemas/Location"}},
    "provenance": {"$ref": "#/components/schemas/Provenance"},
}
_DESCRIPTIONS = {
    "file": "the statement's file name in the corpus directory",
    "id": "first 64 bits of SHA-256 over the canonical URL, in hex",
    "seq": "sequence number: order of arrival, never reused",
    "source": "id of the source whose page the text comes from",
    "published": "publication date the page states (null when it states none)",
    "collected": "when the statement was first stored",
    "updated": "when its text last changed",
    "revision": "1 when first stored, +1 at each change of its text",
    "text": "the statement in the corpus format (headline, blank line, blocks)",
    "provenance": "how the stored text was obtained (null for statements stored before "
                  "provenance was recorded)",
}


def _field(name: str) -> dict[str, Any]:
    schema = dict(_KINDS[FIELDS[name]])
    if name in NULLABLE:
        schema = {"oneOf": [schema, {"type": "null"}]}
    if name in _DESCRIPTIONS:
        schema["description"] = _DESCRIPTIONS[name]
    return schema


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, **extra}


@cache
def document() -> dict[str, Any]:
    record_fields = [f for f in FIELDS if f != TEXT]
    date = {"type": "string", "description": "a date (2024-05-31) or a time with an offset "
                                             "(2024-05-31T12:00:00Z)"}
    params = [
        _query("source", "only statements this source published, as the original or where it "
               "was found again (repeat for any of several)",
               {"type": "array", "items": {"type": "string"}}, style="form", explode=True),
        _query("tag", "only statements of configured sources with this tag",
               {"type": "string"}),
        _query("language", "only statements in this language",
               {"type": "string", "maxLength": MAX_LANGUAGE_CHARS}),
        _query("since", "published (else collected) on or after this date or time", date),
        _query("until", "published (else collected) on or before this date, or before this "
               "time", date),
        _query("after_seq", "only statements with a higher sequence number",
               {"type": "integer", "minimum": -1}),
        _query("cursor", "next_cursor of the previous page", {"type": "string"}),
        _query("limit", "statements in a page",
               {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT}),
        _query("text", "add each statement's text", {"type": "boolean", "default": False}),
    ]
    security: list[dict[str, list[str]]] = [{"bearer": []}, {}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "collector",
            "version": __version__,
            "description": "Read-only access to the statements collector has stored and to "
                           "the health of its sources. Bearer tokens are required when the "
                           "service sets COLLECTOR_API_TOKENS; without them only loopback "
                           "clients are answered.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": security,
        "paths": {
            "/documents": {"get": {
                "operationId": "listDocuments",
                "summary": "Statements in sequence order, a page at a time",
                "description": "Oldest first by sequence number. Pages follow next_cursor; "
                               "no statement is lost or repeated while others are stored, "
                               "and next_cursor asked later gives what is new.",
                "parameters": params,
                "responses": {
                    "200": {"description": "a page of statements", "content": {
                        "application/json": {"schema": {
                            "$ref": "#/components/schemas/DocumentList"}}}},
                    "400": _error("a parameter is wrong (named in error.parameter)"),
                    "401": _error("a bearer token is required or wrong"),
                    "403": _error("not a loopback client and no tokens are set"),
                    "503": _error("the database does not answer"),
                }}},
            "/documents/{id}": {"get": {
                "operationId": "getDocument",
                "summary": "One statement with its text, locations and revisions",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9A-Za-z]{1,64}$"}}],
                "responses": {
                    "200": {"description": "the statement", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/DocumentDetail"}}}},
                    "401": _error("a bearer token is required or wrong"),
                    "403": _error("not a loopback client and no tokens are set"),
                    "404": _error("no such statement"),
                }}},
            "/sources": {"get": {
                "operationId": "listSources",
                "summary": "Every configured source with its health, worst first",
                "description": "The document `collector status --json` prints; its JSON "
                               "Schema is docs/status.schema.json.",
                "responses": {
                    "200": {"description": "sources and counts", "content": {
                        "application/json": {"schema": {
                            "$ref": "#/components/schemas/Status"}}}},
                    "401": _error("a bearer token is required or wrong"),
                    "403": _error("not a loopback client and no tokens are set"),
                }}},
            "/openapi.json": {"get": {
                "operationId": "getOpenApi",
                "summary": "This description",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {
                    "application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Location": {
                    "type": "object",
                    "required": ["source", "url", "seen", "how"],
                    "properties": {
                        "source": {"type": "string"}, "url": {"type": "string"},
                        "seen": _TIME,
                        "how": {"type": "string", "description": "original, exact, near, "
                                                                 "page or variant"}}},
                "Provenance": {
                    "type": "object",
                    "description": "the fetch the stored text came from, the WARC record of "
                                   "its capture and the text's hash (docs/evidence.md)",
                    "required": ["requested_url", "final_url", "status", "fetched",
                                 "warc_record_id", "text_hash"],
                    "properties": {
                        "requested_url": {"type": ["string", "null"]},
                        "final_url": {"type": ["string", "null"]},
                        "status": {"type": ["integer", "null"]},
                        "fetched": {"type": ["string", "null"], "format": "date-time"},
                        "warc_record_id": {"type": ["string", "null"]},
                        "text_hash": {"type": "string"}}},
                "Document": {
                    "type": "object",
                    "description": "an index.jsonl record (docs/codebook.md); text with "
                                   "text=true",
                    "required": record_fields,
                    "properties": {name: _field(name) for name in FIELDS}},
                "Revision": {
                    "type": "object",
                    "description": "a text the statement held; the current one last",
                    "required": ["revision", "current", "updated", "replaced", "title",
                                 "content_hash", "text"],
                    "properties": {"revision": {"type": "integer", "minimum": 1},
                                   "current": {"type": "boolean"},
                                   "updated": _TIME | {"description": "when this text became "
                                                                      "the stored one"},
                                   "replaced": {"type": ["string", "null"],
                                                "format": "date-time",
                                                "description": "when the next text replaced "
                                                               "it; null for the current"},
                                   "title": {"type": "string"},
                                   "content_hash": {"type": "string"},
                                   "text": {"type": "string"}}},
                "Watch": {
                    "type": ["object", "null"],
                    "description": "what the re-checks of its address found (docs/evidence.md"
                                   "#watching); null before the first check",
                    "required": ["checks", "last_check", "next_check", "last_result",
                                 "vanished", "evidence"],
                    "properties": {
                        "checks": {"type": "integer", "minimum": 0},
                        "last_check": {"type": ["string", "null"], "format": "date-time"},
                        "next_check": {"type": ["string", "null"], "format": "date-time"},
                        "last_result": {"type": ["string", "null"]},
                        "vanished": {"type": ["string", "null"], "format": "date-time",
                                     "description": "since when it is gone; null while "
                                                    "it is there"},
                        "evidence": {"type": ["object", "null"], "properties": {
                            "status": {"type": ["integer", "null"]},
                            "final_url": {"type": ["string", "null"]},
                            "reason": {"type": "string"}}}}},
                "Event": {
                    "type": "object",
                    "required": ["kind", "at", "revision", "status", "final_url", "reason"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["edited", "removed", "restored"]},
                        "at": _TIME, "revision": {"type": "integer"},
                        "status": {"type": ["integer", "null"]},
                        "final_url": {"type": ["string", "null"]},
                        "reason": {"type": ["string", "null"]}}},
                "DocumentDetail": {
                    "allOf": [{"$ref": "#/components/schemas/Document"}, {
                        "type": "object", "required": [TEXT, "revisions", "watch", "events"],
                        "properties": {
                            "revisions": {"type": "array",
                                          "items": {"$ref": "#/components/schemas/Revision"}},
                            "watch": {"$ref": "#/components/schemas/Watch"},
                            "events": {"type": "array",
                                       "items": {"$ref": "#/components/schemas/Event"}}}}]},
                "DocumentList": {
                    "type": "object",
                    "required": ["documents", "has_more", "next_cursor"],
                    "properties": {
                        "documents": {"type": "array",
                                      "items": {"$ref": "#/components/schemas/Document"}},
                        "has_more": {"type": "boolean",
                                     "description": "more statements follow now"},
                        "next_cursor": {"type": ["string", "null"],
                                        "description": "where the next page starts; null "
                                                       "only when nothing was ever listed"}}},
                "Status": {
                    "type": "object",
                    "required": ["schema_version", "generated_at", "documents", "counts",
                                 "sources"],
                    "properties": {
                        "schema_version": {"type": "integer"},
                        "generated_at": _TIME,
                        "documents": {"type": "integer"},
                        "baseline_documents": {"type": "integer"},
                        "counts": {"type": "object",
                                   "additionalProperties": {"type": "integer"}},
                        "digests": {"type": "array", "items": {"type": "object"}},
                        "sources": {"type": "array", "items": {
                            "type": "object",
                            "required": ["id", "name", "url", "enabled", "health"],
                            "properties": {"id": {"type": "string"},
                                           "name": {"type": "string"},
                                           "url": {"type": "string"},
                                           "enabled": {"type": "boolean"},
                                           "health": {"type": "string"}}}}}},
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["status", "message", "parameter"],
                        "properties": {"status": {"type": "integer"},
                                       "message": {"type": "string"},
                                       "parameter": {"type": ["string", "null"]}}}}},
            },
        },
    }
