"""sources.yaml validation: every problem at once, each with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.config import load_config, parse_config, parse_duration
from collector.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text, Path("sources.yaml"), env={})
    return err.value.problems


def test_broken_yaml_names_file_and_line():
    msgs = problems("sources:\n  - id: a\n    url: [https://a.org\n  - id: b\n")
    assert len(msgs) == 1
    assert msgs[0].startswith("sources.yaml:4:")
    assert "not valid YAML" in msgs[0]


def test_unknown_key_names_the_key_its_line_and_a_suggestion():
    msgs = problems("sources:\n  - id: a\n    url: https://a.org/feed\n    tgas: [x]\n")
    assert msgs == ["sources.yaml:4: source 'a': unknown key 'tgas' (did you mean 'tags'?)"]


def test_duplicate_id_names_both_lines():
    msgs = problems("sources:\n  - id: a\n    url: https://a.org/\n"
                    "  - id: a\n    url: https://b.org/\n")
    assert msgs == ["sources.yaml:4: duplicate source id 'a' (first used on line 2)"]


def test_bad_schedule_is_reported_with_its_line():
    msgs = problems("sources:\n  - id: a\n    url: https://a.org/\n    every: 5 minutes\n")
    assert msgs == ["sources.yaml:4: source 'a': every '5 minutes' is not a duration like "
                    "30m, 1h30m or 2d"]
    msgs = problems("sources:\n  - id: a\n    url: https://a.org/\n    cron: '61 * * * *'\n")
    assert len(msgs) == 1 and msgs[0].startswith("sources.yaml:4: source 'a': cron '61 * * * *'")


def test_every_problem_is_reported_at_once():
    msgs = problems("sources:\n  - id: a\n    url: ftp://a.org/\n    colour: red\n"
                    "  - url: https://b.org/\n  - id: c\n    url: https://c.org/\n"
                    "    every: 10s\n")
    assert len(msgs) == 4
    assert [m.split(":")[1] for m in msgs] == ["3", "4", "5", "8"]


def test_bad_url_selector_regex_and_time_zone_are_rejected():
    msgs = problems("""sources:
  - id: a
    url: https://a.org/
    content_selector: "div[[["
    include:
      - regex: "(unclosed"
    cron: "0 7 * * *"
    timezone: Mars/Olympus
""")
    assert any("content_selector" in m and ":4:" in m for m in msgs)
    assert any("regex" in m and ":6:" in m for m in msgs)
    assert any("time zone" in m and ":8:" in m for m in msgs)


def test_yaml_tags_cannot_construct_python_objects():
    msgs = problems("sources:\n  - id: a\n    url: !!python/object/new:os.system [ls]\n")
    assert msgs and "url" in msgs[0]


def test_defaults_are_inherited_and_overridden():
    cfg = parse_config("""defaults:
  every: 2h
  backfill: 3
  tags: [x]
sources:
  - id: a
    url: https://a.org/
  - id: b
    url: https://b.org/
    every: 15m
    backfill: 0
    tags: [y]
""", Path("s.yaml"), env={})
    a, b = cfg.sources
    assert a.schedule.interval_s == 7200 and a.backfill == 3 and a.tags == ("x",)
    assert b.schedule.interval_s == 900 and b.backfill == 0 and b.tags == ("y",)
    assert a.kind == "auto" and a.enabled


def test_environment_overrides_settings_and_secrets_come_only_from_it(tmp_path):
    cfg = parse_config("settings:\n  database_url: sqlite:///x.db\n  smtp:\n    host: h\n"
                       "sources: []\n", tmp_path / "s.yaml",
                       env={"COLLECTOR_DATABASE_URL": "postgresql://db/c",
                            "COLLECTOR_SMTP_PASSWORD": "s3cret"})
    assert cfg.settings.database_url == "postgresql://db/c"
    assert cfg.settings.smtp.password == "s3cret" and cfg.settings.smtp.host == "h"
    assert problems("settings:\n  smtp:\n    password: x\nsources: []\n")[0].startswith(
        "sources.yaml:3: settings: smtp: unknown key 'password'")


def test_durations():
    assert parse_duration("30m") == 1800
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2d") == 172800
    assert parse_duration("45") == 45
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_the_shipped_sources_yaml_is_valid():
    cfg = load_config(ROOT / "sources.yaml", env={})
    assert len(cfg.sources) >= 15
    assert {"wivl", "newworker", "isl", "icwp-redflag", "marxist-com"} <= {s.id for s in
                                                                          cfg.sources}


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "nope.yaml")
    assert "no such file" in str(err.value)


def test_the_readme_configuration_example_is_valid():
    """The README's sources.yaml example is loaded, so the documentation cannot drift."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```yaml\nsettings:")
    example = text[start + len("```yaml\n"):text.index("```", start + 7)]
    cfg = parse_config(example, Path("README.md"), env={})
    assert {s.id for s in cfg.sources} == {"wivl", "ohchr", "tenants-app", "dockers-telegram",
                                           "dockers-mastodon", "union-newsletter"}
    assert cfg.digests[0].schedule.timezone == "Europe/Berlin"
    assert cfg.exclude and cfg.exclude[0].on == "title"


def test_the_readme_lists_every_environment_variable():
    from collector.config import ENVIRONMENT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ENVIRONMENT:
        short = name.removeprefix("COLLECTOR_SMTP_")
        assert name in text or f"_{short}" in text, name


def test_ids_cannot_name_paths():
    """RELIABILITY 17: ids end up in file names (feeds/<id>.atom); no path can hide in one."""
    for bad in ("../../etc/x", "a/b", "A", ".hidden", "x" * 65):
        msgs = problems(f"sources:\n  - id: ok\n    url: https://a.org/\ndigests:\n"
                        f"  - id: '{bad}'\n    channel: feed\n")
        assert any("id must be" in m for m in msgs), bad
        msgs = problems(f"sources:\n  - id: '{bad}'\n    url: https://a.org/\n")
        assert any("id must be" in m for m in msgs), bad


def test_a_world_writable_config_may_not_open_the_service_up(tmp_path):
    """RELIABILITY 18: risky switches in a file every user may edit are refused."""
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - id: a\n    url: https://a.org/\n"
                    "    allow_private_addresses: true\n")
    path.chmod(0o666)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "writable by every user" in str(err.value) and "allow_private_addresses" in str(
        err.value)
    path.chmod(0o644)
    assert load_config(path, env={}).sources[0].allow_private_addresses
    path.write_text("sources:\n  - id: a\n    url: https://a.org/\n")
    path.chmod(0o666)
    assert load_config(path, env={}).sources[0].id == "a"   # nothing risky: accepted


def test_a_feed_digest_needs_no_schedule_but_an_email_digest_does():
    base = "sources:\n  - id: a\n    url: https://a.org/\ndigests:\n"
    cfg = parse_config(base + "  - id: f\n    channel: feed\n", Path("s.yaml"), env={})
    assert cfg.digests[0].schedule.immediate
    cfg = parse_config(base + "  - id: f\n    channel: feed\n    schedule: every 6h\n",
                       Path("s.yaml"), env={})
    assert cfg.digests[0].schedule.interval_s == 6 * 3600
    assert problems(base + "  - id: m\n    channel: email\n    to: [a@b.org]\n") == [
        "sources.yaml:5: digest 'm': 'schedule' is required"]


def test_a_source_can_be_marked_as_publishing_originals():
    config = parse_config("sources:\n  - id: intl\n    url: https://intl.org/feed\n"
                          "    original: true\n  - id: section\n    url: https://s.org/feed\n",
                          Path("sources.yaml"), env={})
    assert [s.original for s in config.sources] == [True, False]
    msgs = problems("sources:\n  - id: a\n    url: https://a.org/feed\n    original: yes\n")
    assert msgs == ["sources.yaml:4: source 'a': original must be true or false"]
    # a mark for every source would mean nothing: it is not a default
    msgs = problems("defaults:\n  original: true\nsources:\n  - id: a\n    url: https://a.org/\n")
    assert len(msgs) == 1 and msgs[0].startswith("sources.yaml:2: defaults: unknown key "
                                                 "'original'")
