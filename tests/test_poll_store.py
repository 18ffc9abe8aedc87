"""The lean polling path: claims that return state, one write per outcome that frees the lease,
start-up without alembic at head, the fetch deadline setting and parse worker sizing.

Runs on a real SQLite file (or a fresh PostgreSQL database on the PostgreSQL lane).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from collector import isolate, limits
from collector.config import Source
from collector.errors import ConfigError
from collector.store import PollRecord, Store, head_revision
from collector.store.browse import poll_history
from tests.helpers import load, poll

T0 = datetime(2030, 1, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def _source(i: int) -> Source:
    return Source(id=f"s{i}", name=f"s{i}", url=f"http://127.0.0.1:9/{i}", kind="feed")


@pytest.fixture
def store(database_url: str) -> Store:
    s = Store(database_url)
    s.upgrade()
    s.sync_sources([_source(i) for i in range(3)], T0)
    yield s
    s.close()


def _lease(store: Store, sid: str) -> tuple[str | None, object]:
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT lease_owner, lease_until FROM sources WHERE id = :i"),
                           {"i": sid}).one()
    return row[0], row[1]


def test_claim_returns_the_state_of_each_claimed_source(store: Store):
    store.update_source("s1", etag='"v1"', last_modified="Mon, 01 Jan 2029 00:00:00 GMT",
                        polls=4, consecutive_failures=2)
    states = store.claim(T0, owner="w", lease_s=60, limit=5, ids=["s1", "s2"])
    by_id = {s.id: s for s in states}
    assert set(by_id) == {"s1", "s2"}
    assert by_id["s1"].etag == '"v1"'
    assert by_id["s1"].last_modified == "Mon, 01 Jan 2029 00:00:00 GMT"
    assert by_id["s1"].polls == 4 and by_id["s1"].consecutive_failures == 2
    assert by_id["s2"].etag is None and by_id["s2"].polls == 0
    assert _lease(store, "s1")[0] == "w"
    # claimed rows are not claimed again while the lease lives
    assert store.claim(T0, owner="x", lease_s=60, limit=5, ids=["s1", "s2"]) == []


def test_failing_sources_are_claimed_first(store: Store):
    """A failing source's poll is the slow one (timeouts, hangs): started first, it overlaps
    the quick ones. Among equals the most overdue comes first."""
    store.update_source("s0", next_poll_at=T0 - timedelta(minutes=30))
    store.update_source("s1", next_poll_at=T0 - timedelta(minutes=20))
    store.update_source("s2", next_poll_at=T0 - timedelta(minutes=1), consecutive_failures=3)
    order = [s.id for s in store.claim(T0, owner="w", lease_s=60, limit=3,
                                       ids=["s0", "s1", "s2"])]
    assert order == ["s2", "s0", "s1"]


def test_saving_an_outcome_frees_the_lease_of_its_owner(store: Store):
    store.claim(T0, owner="w", lease_s=60, limit=1, ids=["s0"])
    store.save_poll("s0", {"etag": '"e"', "polls": 1}, release_owner="w")
    assert _lease(store, "s0") == (None, None)
    assert store.source_state("s0").etag == '"e"'


def test_saving_an_outcome_keeps_a_lease_another_worker_took_over(store: Store):
    """A lease that expired and was claimed by another worker stays with that worker."""
    store.claim(T0, owner="slow", lease_s=60, limit=1, ids=["s0"])
    later = T0 + timedelta(seconds=120)
    assert [s.id for s in store.claim(later, owner="other", lease_s=60, limit=1,
                                      ids=["s0"])] == ["s0"]
    store.save_poll("s0", {"polls": 1}, release_owner="slow")
    owner, until = _lease(store, "s0")
    assert owner == "other" and until is not None
    assert store.source_state("s0").polls == 1


def test_saving_without_an_owner_leaves_the_lease(store: Store):
    store.claim(T0, owner="w", lease_s=60, limit=1, ids=["s0"])
    store.update_source("s0", polls=3)
    assert _lease(store, "s0")[0] == "w"


def test_unknown_source_fields_are_refused(store: Store):
    with pytest.raises(ValueError, match="unknown source fields"):
        store.save_poll("s0", {"no_such_column": 1}, release_owner=None)


def test_head_revision_read_from_the_scripts_matches_alembic():
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ROOT / "collector/store/migrations"))
    assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()


def test_head_revision_is_none_for_several_heads(tmp_path: Path):
    for name, rev in (("a.py", "a1"), ("b.py", "b1")):
        (tmp_path / name).write_text(f'revision = "{rev}"\ndown_revision = None\n')
    assert head_revision(tmp_path) is None


@pytest.mark.sqlite_only
def test_a_database_at_head_starts_without_importing_alembic(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    first = Store(url)
    assert first.upgrade() == head_revision()
    first.close()
    code = ("import sys; from collector.store import Store; s = Store(sys.argv[1]); "
            "print(s.upgrade()); print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, url], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=60).stdout.split()
    assert out == [head_revision(), "False"]


def test_a_poll_that_stores_nothing_never_imports_numpy(tmp_path: Path):
    """numpy is no dependency of the service (the near-duplicate index is pure Python): a
    worker starts and stops without it."""
    config = load(tmp_path, "sources:\n  - id: s\n    url: http://127.0.0.1:9/feed\n")
    code = ("import asyncio, sys\n"
            "from collector.config import load_config\n"
            "from collector.scheduler import Worker\n"
            "from collector.store import Store\n"
            "config = load_config(sys.argv[1])\n"
            "store = Store(config.settings.database_url)\n"
            "async def main():\n"
            "    worker = Worker(config, store)\n"
            "    await worker.start()\n"
            "    await worker.close()\n"
            "asyncio.run(main())\n"
            "print('numpy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(config.path)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]


@pytest.mark.sqlite_only
def test_a_database_behind_head_is_migrated(tmp_path: Path):
    from alembic import command
    from alembic.config import Config as AlembicConfig

    url = f"sqlite:///{tmp_path / 'c.db'}"
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ROOT / "collector/store/migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "0001")
    s = Store(url)
    assert s.current_revision() == "0001"
    assert s.upgrade() == head_revision()
    assert s.current_revision() == head_revision()
    s.close()


def test_poll_leaves_no_lease_behind(tmp_path: Path):
    """A poll that ends normally frees its source in the outcome write."""
    config = load(tmp_path, "sources:\n  - id: gone\n    url: http://127.0.0.1:9/feed\n"
                  "    kind: feed\n")
    (_, outcome), = poll(config)
    assert not outcome.ok
    s = Store(config.settings.database_url)
    try:
        assert _lease(s, "gone") == (None, None)
        assert s.source_state("gone").consecutive_failures == 1
    finally:
        s.close()


def test_fetch_deadline_setting(tmp_path: Path):
    body = "sources:\n  - id: a\n    url: http://127.0.0.1:9/feed\n"
    assert load(tmp_path, body).settings.fetch.deadline_s == limits.REQUEST_DEADLINE_S
    assert load(tmp_path, body, settings_extra="    deadline: 45s\n"
                ).settings.fetch.deadline_s == 45.0
    with pytest.raises(ConfigError, match="deadline"):
        load(tmp_path, body, settings_extra="    deadline: 0s\n")


def test_pipeline_policy_uses_the_deadline_setting(tmp_path: Path):
    from collector.fetch import Fetcher
    from collector.pipeline import Pipeline

    config = load(tmp_path, "sources:\n  - id: a\n    url: http://127.0.0.1:9/feed\n",
                  settings_extra="    deadline: 7s\n")
    s = Store(config.settings.database_url)
    try:
        p = Pipeline(config, s, Fetcher())
        assert p._policy(config.sources[0], "feed").deadline_s == 7.0
    finally:
        s.close()


def test_parse_workers_default_to_one_per_core_within_the_cap():
    assert isolate.parse_workers(1) == 1
    assert isolate.parse_workers(2) == 2
    assert isolate.parse_workers(3) == 3
    assert isolate.parse_workers(1000) == limits.MAX_PARSE_WORKERS


def test_outcomes_written_together_fail_only_on_their_own(store: Store):
    """Outcomes that finish together share one transaction; a bad one fails alone."""
    import asyncio

    from collector.pipeline import _OutcomeWriter

    store.claim(T0, owner="w", lease_s=60, limit=3, ids=["s0", "s1", "s2"])
    writer = _OutcomeWriter(store)

    def polled(sid: str) -> PollRecord:
        return PollRecord(sid, T0, ok=True, new_documents=1)

    async def main() -> list[object]:
        return await asyncio.gather(
            writer.save("s0", {"polls": 5}, "w", polled("s0")),
            writer.save("s1", {"no_such_column": 1}, "w", polled("s1")),
            writer.save("s2", {"polls": 7}, "w", polled("s2")),
            return_exceptions=True)

    got = asyncio.run(main())
    assert got[0] is None and got[2] is None
    assert isinstance(got[1], ValueError)
    assert store.source_state("s0").polls == 5 and store.source_state("s2").polls == 7
    assert _lease(store, "s0") == (None, None) and _lease(store, "s2") == (None, None)
    assert _lease(store, "s1")[0] == "w"
    # each poll's history row went with its outcome: the failed one left none
    assert [len(poll_history(store, sid)) for sid in ("s0", "s1", "s2")] == [1, 0, 1]


def test_batched_outcomes_free_only_their_owners_leases_and_the_last_one_wins(store: Store):
    """save_polls groups outcomes of the same shape into one statement; that must not change
    whose lease is freed or which of two outcomes for one source is kept."""
    store.claim(T0, owner="w", lease_s=60, limit=3, ids=["s0", "s1", "s2"])
    later = T0 + timedelta(seconds=120)
    store.claim(later, owner="other", lease_s=60, limit=1, ids=["s2"])   # s2 taken over
    store.save_polls([
        ("s0", {"etag": '"a"', "polls": 1}, "w"),
        ("s1", {"etag": '"b"', "polls": 2}, "w"),
        ("s2", {"etag": '"c"', "polls": 3}, "w"),          # w's lease on s2 is gone
        ("s1", {"etag": '"b2"', "polls": 7}, None),        # the same source again, later
        ("s0", {"last_error": "boom", "consecutive_failures": 1}, None),
    ])
    assert _lease(store, "s0") == (None, None) and _lease(store, "s1") == (None, None)
    assert _lease(store, "s2")[0] == "other"
    assert store.source_state("s1").etag == '"b2"' and store.source_state("s1").polls == 7
    s0 = store.source_state("s0")
    assert s0.etag == '"a"' and s0.last_error == "boom" and s0.consecutive_failures == 1
    assert store.source_state("s2").polls == 3
