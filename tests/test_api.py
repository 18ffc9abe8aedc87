"""The JSON API against the running service (the real HTTP server on a real socket, a real
database): filters, cursor pages that lose and repeat nothing while statements are inserted,
400s naming the parameter, bearer tokens, loopback-only without tokens, and an OpenAPI
document that a validator accepts and that the answers follow."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_openapi

from collector.errors import CollectorError
from collector.server import HttpServer
from collector.store import watch as watch_store
from collector.store.watch import Evidence
from collector.web import api as api_module
from collector.web.openapi import MAX_LIMIT
from tests import corpus_world as world
from tests.corpus_world import database, expected_ids
from tests.test_server_helpers import running

ROOT = Path(__file__).resolve().parents[1]
TOKENS = ("first-token-0123456789", "second-token-abcdefghij")


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.delenv(api_module.TOKENS_ENV, raising=False)
    config, store = world.make(tmp_path)
    docs = world.populate(store)
    yield config, store, docs
    store.close()


@pytest.fixture
def api(corpus):
    config, store, docs = corpus
    with running(config, store) as srv, httpx.Client(base_url=srv.url + "/api/v1",
                                                     timeout=10) as client:
        yield client, store, docs


def without_text(records):
    return [{k: v for k, v in r.items() if k != "text"} for r in records]


def ids(response):
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["documents"]]


def openapi_validator(doc: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    """A validator for one component schema of the OpenAPI document (OpenAPI 3.1 schemas are
    JSON Schema 2020-12)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema,
                                           format_checker=jsonschema.Draft202012Validator
                                           .FORMAT_CHECKER)


# --- documents ---------------------------------------------------------------------------------


def test_the_list_is_the_export_records_in_sequence_order(api):
    client, store, _docs = api
    r = client.get("/documents")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["documents"] == without_text(database(store)) and body["has_more"] is False
    assert client.get("/documents", params={"text": "true"}).json()["documents"] == \
        database(store)
    doc = client.get("/openapi.json").json()
    openapi_validator(doc, "DocumentList").validate(body)


FILTERS = [
    ([("source", "vanguard")], {"sources": ["vanguard"]}),
    ([("source", "odd"), ("source", "vanguard")], {"sources": ["odd", "vanguard"]}),
    ([("tag", "left")], {"sources": ["reddawn", "vanguard"]}),
    ([("tag", "labour"), ("language", "fr")], {"sources": ["reddawn"], "language": "fr"}),
    ([("since", "2024-05-03"), ("until", "2024-05-05")],
     {"since": world.T0.replace(day=3, hour=0), "until": world.T0.replace(day=6, hour=0)}),
    ([("since", "2024-05-03T09:00:00Z"), ("until", "2024-05-05T09:00:00Z")],
     {"since": world.T0.replace(day=3), "until": world.T0.replace(day=5)}),
    ([("after_seq", "4")], {"after": 4}),
]


def test_filters(api):
    client, store, _docs = api
    for params, expect in FILTERS:
        assert ids(client.get("/documents", params=params)) == expected_ids(store, **expect), \
            params


def test_pages_follow_the_cursor_to_the_end(api):
    client, store, _docs = api
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        body = client.get("/documents", params=params).json()
        seen += [d["id"] for d in body["documents"]]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert seen == [r["id"] for r in database(store)]
    # the last cursor, asked again later, gives what is new
    new = world.add(store, "odd", "new", "Brand new", ["Fresh."],
                    now=world.T0 + timedelta(days=30))
    body = client.get("/documents", params={"cursor": cursor}).json()
    assert [d["id"] for d in body["documents"]] == [new.id] and not body["has_more"]


def test_cursor_pages_lose_and_repeat_nothing_under_concurrent_inserts(api):
    """Two writers insert statements (of a filtered source and of another) while a client
    pages through the filtered list; once they are done the client drains the list from its
    last cursor. It must have seen every matching statement once, in sequence order."""
    client, store, _docs = api
    per_writer = 15
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(per_writer):
                world.add(store, "reddawn" if i % 2 else "odd", f"w{n}-{i}",
                          f"Written {n} {i}", ["Concurrent."],
                          now=world.T0 + timedelta(days=20, minutes=i))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    seen: list[int] = []
    cursor = None

    def page() -> dict[str, Any]:
        params = {"limit": "2", "source": "reddawn", **({"cursor": cursor} if cursor else {})}
        r = client.get("/documents", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    for t in threads:
        t.start()
    pages = 0
    while any(t.is_alive() for t in threads) and pages < 500:
        body = page()
        seen += [d["seq"] for d in body["documents"]]
        cursor = body["next_cursor"] or cursor
        pages += 1
    for t in threads:
        t.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    for _ in range(100):
        body = page()
        seen += [d["seq"] for d in body["documents"]]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    want = [r["seq"] for r in database(store)
            if "reddawn" in {loc["source"] for loc in r["locations"]}]
    assert len(want) == 3 + 2 * (per_writer // 2)  # 3 of the world's, 7 of each writer's
    assert seen == want


def test_one_document_with_its_locations_and_revisions(api):
    client, store, docs = api
    r = client.get(f"/documents/{docs[0].id}")
    assert r.status_code == 200
    body = r.json()
    record = next(x for x in database(store) if x["id"] == docs[0].id)
    assert {k: v for k, v in body.items() if k not in ("revisions", "watch", "events")} == record
    assert [loc["how"] for loc in body["locations"]] == ["original", "exact"]
    first, current = body["revisions"]
    # the text it held before the correction is kept, with the time it was replaced
    assert (first["revision"], first["current"], first["replaced"]) == (
        1, False, current["updated"])
    assert first["text"] == docs[0].text and first["content_hash"] == docs[0].content_hash
    assert (current["revision"], current["current"], current["replaced"]) == (2, True, None)
    assert current["updated"] == record["updated"] and current["content_hash"] == "hash-a2"
    assert current["text"] == record["text"]
    assert body["watch"] is None and body["events"] == []
    openapi_validator(client.get("/openapi.json").json(), "DocumentDetail").validate(body)
    for missing in ("0000000000000000", "not-an-id!", "x" * 65):
        r = client.get(f"/documents/{missing}")
        assert r.status_code == 404 and r.json()["error"]["status"] == 404


def test_a_vanished_document_shows_when_and_the_evidence(api):
    client, store, docs = api
    now = world.T0 + timedelta(days=20)
    watch_store.seed(store, 86400, now)
    gone = Evidence(404, "http://127.0.0.1:9/v/c/", "the server answered 404 Not Found")
    assert watch_store.save_check(store, docs[2].id, now, result="vanished", checks=1,
                                  next_check_at=None, vanished=gone) is not None
    body = client.get(f"/documents/{docs[2].id}").json()
    iso = now.isoformat().replace("+00:00", "Z")
    assert body["watch"]["vanished"] == iso and body["watch"]["checks"] == 1
    assert body["watch"]["evidence"] == {"status": 404, "final_url": "http://127.0.0.1:9/v/c/",
                                         "reason": "the server answered 404 Not Found"}
    assert [(e["kind"], e["at"], e["status"]) for e in body["events"]] == [("removed", iso, 404)]
    openapi_validator(client.get("/openapi.json").json(), "DocumentDetail").validate(body)
    # one still there: checked, nothing found
    assert client.get(f"/documents/{docs[3].id}").json()["watch"]["vanished"] is None


# --- sources -----------------------------------------------------------------------------------


def test_sources_with_their_health_is_the_status_document(api):
    client, _store, _docs = api
    r = client.get("/sources")
    assert r.status_code == 200
    body = r.json()
    schema = json.loads((ROOT / "docs" / "status.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(body, schema)
    assert {s["id"] for s in body["sources"]} == {"reddawn", "vanguard", "odd"}
    assert body["documents"] == 8
    assert {s["id"]: s["documents"] for s in body["sources"]}["reddawn"] == 3
    openapi_validator(client.get("/openapi.json").json(), "Status").validate(body)


# --- bad requests ------------------------------------------------------------------------------


BAD = [
    ("/documents", {"limit": "0"}, "limit"),
    ("/documents", {"limit": str(MAX_LIMIT + 1)}, "limit"),
    ("/documents", {"limit": "ten"}, "limit"),
    ("/documents", {"since": "2024-02-30"}, "since"),
    ("/documents", {"until": "soon"}, "until"),
    ("/documents", {"since": "2024-05-05", "until": "2024-05-01"}, "until"),
    ("/documents", {"source": "nobody"}, "source"),
    ("/documents", {"tag": "nobody"}, "tag"),
    ("/documents", {"language": "x" * 17}, "language"),
    ("/documents", {"after_seq": "1.5"}, "after_seq"),
    ("/documents", {"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
    ("/documents", {"cursor": "%%%"}, "cursor"),
    ("/documents", {"text": "maybe"}, "text"),
    ("/documents", {"sorce": "odd"}, "sorce"),
    ("/documents", [("limit", "2"), ("limit", "3")], "limit"),
    ("/documents", {"limit": "\u00b2"}, "limit"),
    ("/documents", {"after_seq": "--1"}, "after_seq"),
    ("/documents", {"after_seq": "\u0665"}, "after_seq"),
    ("/documents", {"after_seq": "-2"}, "after_seq"),
    ("/documents", {"cursor": base64.urlsafe_b64encode(b"s1:--1").decode()}, "cursor"),
    ("/documents", {"cursor": "\u00e9t\u00e9"}, "cursor"),
    ("/sources", {"page": "2"}, "page"),
]


def test_bad_parameters_get_400_naming_them(api):
    client, _store, _docs = api
    errors = openapi_validator(client.get("/openapi.json").json(), "Error")
    for path, params, parameter in BAD:
        r = client.get(path, params=params)
        assert r.status_code == 400, (params, r.text)
        error = r.json()["error"]
        assert error["status"] == 400 and error["parameter"] == parameter, params
        assert parameter in error["message"], params
        errors.validate(r.json())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(api_module.LIST_PARAMETERS)), value=st.text(max_size=40))
def test_any_value_of_any_parameter_gets_an_answer_not_a_crash(api, name, value):
    client, _store, _docs = api
    r = client.get("/documents", params={name: value})
    assert r.status_code in (200, 400), (name, value, r.text)
    if r.status_code == 400:
        assert r.json()["error"]["parameter"] == name


def test_unknown_paths_and_writes_get_json_errors(api):
    client, _store, _docs = api
    r = client.get("/nothing")
    assert r.status_code == 404 and r.json()["error"]["status"] == 404
    r = client.post("/documents", json={})
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    assert r.json()["error"]["message"].startswith("POST is not allowed")


# --- OpenAPI -----------------------------------------------------------------------------------


def test_the_openapi_document_is_valid(api):
    client, _store, _docs = api
    r = client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    validate_openapi(doc)  # raises on an invalid document
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/documents", "/documents/{id}", "/sources", "/openapi.json"}
    listed = {p["name"] for p in doc["paths"]["/documents"]["get"]["parameters"]}
    assert listed == api_module.LIST_PARAMETERS


# --- access ------------------------------------------------------------------------------------


def test_tokens_are_required_when_set(corpus, monkeypatch):
    config, _store, _docs = corpus
    monkeypatch.setenv(api_module.TOKENS_ENV, " " + ", ".join(TOKENS) + ", ")
    store = corpus[1]
    with running(config, store) as srv, httpx.Client(base_url=srv.url, timeout=10) as client:
        r = client.get("/api/v1/documents")
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        assert r.json()["error"]["status"] == 401
        for header in ("Bearer wrong-token-0123456789", f"Basic {TOKENS[0]}", "Bearer", "Token x",
                       f"Bearer {TOKENS[0]}x", f"Bearer {TOKENS[0][:-1]}"):
            r = client.get("/api/v1/sources", headers={"Authorization": header})
            assert r.status_code == 401, header
        for token in TOKENS:
            r = client.get("/api/v1/documents", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and len(r.json()["documents"]) == 8
        # an unknown path says nothing before the token is checked
        assert client.get("/api/v1/nothing").status_code == 401
        # the web page is not the API's business
        assert client.get("/").status_code == 200


def test_a_short_token_stops_the_server_from_starting(corpus, monkeypatch):
    config, store, _docs = corpus
    monkeypatch.setenv(api_module.TOKENS_ENV, "short")
    with pytest.raises(CollectorError, match="COLLECTOR_API_TOKENS"):
        HttpServer(config, store, bind="127.0.0.1:0")


def test_constant_time_comparison_answers_for_every_token():
    assert api_module.token_matches(TOKENS[1], TOKENS)
    assert not api_module.token_matches(TOKENS[1][:-1], TOKENS)
    assert not api_module.token_matches("", TOKENS)
    assert not api_module.token_matches("é" * 20, TOKENS)


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine other than loopback, if it has one."""
    candidates: set[str] = set()
    try:
        candidates |= {str(info[4][0]) for info in socket.getaddrinfo(
            socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # sends nothing: picks the outgoing address
            candidates.add(s.getsockname()[0])
        except OSError:
            pass
    usable = sorted(a for a in candidates if not api_module.is_loopback(a) and a != "0.0.0.0")
    return usable[0] if usable else None


def test_without_tokens_only_loopback_clients_are_answered(corpus, monkeypatch, caplog):
    config, store, _docs = corpus
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    with caplog.at_level(logging.WARNING, logger="collector.api"), \
            running(config, store, bind=f"{address}:0") as srv, \
            httpx.Client(base_url=srv.url, timeout=10) as client:
        r = client.get("/api/v1/documents")
        assert r.status_code == 403 and api_module.TOKENS_ENV in r.json()["error"]["message"]
        assert client.get("/").status_code == 200   # the pages are served as before
    assert any("loopback clients only" in rec.getMessage() for rec in caplog.records)
    monkeypatch.setenv(api_module.TOKENS_ENV, TOKENS[0])
    with running(config, store, bind=f"{address}:0") as srv, \
            httpx.Client(base_url=srv.url, timeout=10) as client:
        assert client.get("/api/v1/documents").status_code == 401
        r = client.get("/api/v1/documents", headers={"Authorization": f"Bearer {TOKENS[0]}"})
        assert r.status_code == 200


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("localhost", True), ("192.0.2.2", False), ("0.0.0.0", False), ("::", False),
    ("fe80::1%eth0", False), ("example.org", False), (None, False), ("", False),
])
def test_loopback_addresses(host, loopback):
    assert api_module.is_loopback(host) is loopback
