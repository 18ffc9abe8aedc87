"""Configuration errors always name where they are (the file and line, or the environment
variable), never echo a huge value whole, and nothing wrong is ignored without a word: bind
addresses, the bytes of the file, deep nesting, SMTP port and log format from the
environment, a missing template directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector import limits
from collector.config import load_config, parse_config
from collector.errors import ConfigError

S = "sources:\n  - id: a\n    url: https://a.org/\n"


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text, Path("sources.yaml"), env=env or {})
    return err.value.problems


def file_problems(tmp_path: Path, data: bytes, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "sources.yaml"
    path.write_bytes(data)
    path.chmod(0o644)
    with pytest.raises(ConfigError) as err:
        load_config(path, env=env or {})
    return [m.replace(str(path), "sources.yaml") for m in err.value.problems]


def cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")} | env
    return subprocess.run([sys.executable, "-m", "collector.cli", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


# --- the bind address ------------------------------------------------------------------------

@pytest.mark.parametrize(("bind", "why"), [
    ("127.0.0.1:99999", "port '99999'"),
    ("127.0.0.1:-1", "port '-1'"),
    ("127.0.0.1:http", "port 'http'"),
    ("localhost", "must be host:port"),
    (":8080", "must be host:port"),
    ("::1:8080", "IPv6 address without brackets"),
    ("[::zz]:8080", "not an IPv6 address"),
    ("[127.0.0.1]:8080", "not an IPv6 address"),
    ("300.1.2.3:80", "not an IPv4 address"),
    ("bad_host:80", "not a host name"),
])
def test_a_bad_bind_address_is_refused_with_its_line(bind, why):
    msgs = problems(f"settings:\n  data_dir: d\n  bind: '{bind}'\n{S}")
    assert len(msgs) == 1, msgs
    assert msgs[0].startswith(f"sources.yaml:3: settings: bind '{bind}' ")
    assert why in msgs[0]


@pytest.mark.parametrize("bind", ["127.0.0.1:8080", "[::1]:8080", "[2001:db8::1]:1",
                                  "localhost:65535", "0.0.0.0:80", "collector.internal:8080",
                                  "127.0.0.1:0"])
def test_good_bind_addresses_are_taken(bind):
    assert parse_config(f"settings:\n  bind: '{bind}'\n{S}", Path("s.yaml"),
                        env={}).settings.bind == bind


def test_a_bad_bind_from_the_environment_names_the_variable():
    msgs = problems(S, env={"COLLECTOR_BIND": "127.0.0.1:99999"})
    assert msgs == ["environment variable COLLECTOR_BIND: '127.0.0.1:99999' has port '99999'; "
                    "a port is a number from 1 to 65535 (0: any free one)"]
    cfg = parse_config(S, Path("s.yaml"), env={"COLLECTOR_BIND": "[::1]:9000"})
    assert cfg.settings.bind == "[::1]:9000"


def test_check_refuses_an_out_of_range_port(tmp_path):
    (tmp_path / "sources.yaml").write_text(f"settings:\n  bind: 127.0.0.1:99999\n{S}")
    r = cli("check", cwd=tmp_path, env={})
    assert r.returncode == 2
    assert "sources.yaml:2: settings: bind '127.0.0.1:99999' has port '99999'" in r.stderr
    assert "Traceback" not in r.stderr


# --- the bytes of the file --------------------------------------------------------------------

def test_bytes_that_are_not_utf8_are_named_by_line_and_column(tmp_path):
    data = (S + "    name: Caf\xe9 Workers\n").encode("latin-1")
    assert file_problems(tmp_path, data) == [
        "sources.yaml:4: byte 0xe9 at column 14 is not UTF-8; configuration files must be "
        "UTF-8 (re-save the file in that encoding)"]


@pytest.mark.parametrize(("encoding", "name", "how"), [
    ("utf-16", "UTF-16LE", "byte-order mark"),
    ("utf-16-be", "UTF-16BE", "zero bytes"),
    ("utf-16-le", "UTF-16LE", "zero bytes"),
    ("utf-32", "UTF-32LE", "byte-order mark"),
    ("utf-32-be", "UTF-32BE", "zero bytes"),
])
def test_a_file_in_another_unicode_encoding_is_named_at_line_1(tmp_path, encoding, name, how):
    msgs = file_problems(tmp_path, S.encode(encoding))
    assert len(msgs) == 1 and msgs[0].startswith(f"sources.yaml:1: the file is {name} (")
    assert how in msgs[0] and "must be UTF-8" in msgs[0]


@pytest.mark.parametrize(("char", "code"), [("\x00", "U+0000"), ("\x1b", "U+001B"),
                                            ("\x7f", "U+007F"), ("\ufffe", "U+FFFE")])
def test_a_control_character_is_named_by_line_and_column(tmp_path, char, code):
    msgs = file_problems(tmp_path, (S + f"    name: x{char}y\n").encode("utf-8"))
    assert msgs == [f"sources.yaml:4: the character {code} at column 12 is not allowed in YAML "
                    "(a control character): remove it"]


@pytest.mark.parametrize("text", [
    S + "    name: " + "[" * 5_000 + "]" * 5_000 + "\n",                  # past libyaml's bound
    S + "    name: !!str x\n    tags: " + "[" * 1_500 + "]" * 1_500 + "\n",   # reference loader
    "sources:\n  - id: a\n    url: !!str https://a.org/\n    tags:\n"
    + "".join("  " * (i + 3) + "-\n" for i in range(400)),                     # block, reference
])
def test_deep_nesting_is_named_by_its_line(text):
    msgs = problems(text)
    assert len(msgs) == 1, msgs
    line = int(msgs[0].split(":")[1])
    assert 4 <= line <= 4 + limits.CONFIG_MAX_DEPTH
    assert msgs[0].endswith(f"collections are nested more than {limits.CONFIG_MAX_DEPTH} "
                            "levels deep")


# --- long values -----------------------------------------------------------------------------

def test_a_seven_megabyte_url_is_not_echoed_whole(tmp_path):
    url = "https://a.org/" + "a" * 7_000_000
    msgs = file_problems(tmp_path, f"sources:\n  - id: a\n    url: {url}\n".encode())
    assert len(msgs) == 1
    assert msgs[0].startswith("sources.yaml:3: source 'a': url 'https://a.org/aaa")
    assert "(7,000,014 characters)" in msgs[0]
    assert len(msgs[0]) < 300


@pytest.mark.parametrize("text", [
    S + "    ? " + "k" * 100_000 + "\n    : 1\n",                              # an unknown key
    "sources:\n  - id: " + "x" * 100_000 + "\n    url: https://a.org/\n",      # a bad id
    S + "    every: " + "5 minutes " * 10_000 + "\n",                         # a bad duration
    S + "    include:\n      - regex: '" + "(" * 50_000 + "'\n",              # a bad regex
    S + "    content_selector: '" + "[" * 50_000 + "'\n",                     # a bad selector
])
def test_no_message_echoes_a_huge_value(text):
    for msg in problems(text):
        assert len(msg) < 600, msg[:200]


def test_control_characters_in_an_echoed_value_are_escaped():
    msgs = problems('sources:\n  - id: a\n    url: "https://a.org/\\e[2J\\x07"\n')
    assert len(msgs) == 1 and "\x1b" not in msgs[0] and "\x07" not in msgs[0]
    assert "\\x1b[2J\\x07" in msgs[0]


# --- nothing ignored without a word ----------------------------------------------------------

@pytest.mark.parametrize("port", ["abc", "0", "70000", "587x", "-1"])
def test_a_bad_smtp_port_from_the_environment_is_an_error(port):
    assert problems(S, env={"COLLECTOR_SMTP_PORT": port}) == [
        f"environment variable COLLECTOR_SMTP_PORT: '{port}' must be a port number from 1 to "
        "65535"]


def test_a_good_smtp_port_from_the_environment_wins_and_the_file_is_checked_too():
    cfg = parse_config("settings:\n  smtp:\n    port: 25\n" + S, Path("s.yaml"),
                       env={"COLLECTOR_SMTP_PORT": "2525"})
    assert cfg.settings.smtp.port == 2525
    assert problems("settings:\n  smtp:\n    port: 70000\n" + S) == [
        "sources.yaml:3: settings: smtp: port must be a whole number from 1 to 65535"]


def test_a_bad_smtp_security_from_the_environment_names_the_variable():
    assert problems(S, env={"COLLECTOR_SMTP_SECURITY": "ssl"}) == [
        "environment variable COLLECTOR_SMTP_SECURITY: 'ssl' must be starttls, tls or none"]


def test_a_missing_template_dir_is_an_error_with_its_line(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(f"settings:\n  template_dir: templates\n{S}")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.problems == [
        f"{path}:2: settings: template_dir 'templates' is not a directory (missing: "
        f"{tmp_path / 'templates'})"]
    (tmp_path / "templates").write_text("a file, not a directory")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "is not a directory (a file: " in err.value.problems[0]
    (tmp_path / "templates").unlink()
    (tmp_path / "templates").mkdir()
    assert load_config(path, env={}).settings.template_dir == tmp_path / "templates"


def test_a_bad_log_format_from_the_environment_is_an_error(tmp_path):
    (tmp_path / "sources.yaml").write_text(S)
    r = cli("check", cwd=tmp_path, env={"COLLECTOR_LOG_FORMAT": "xml"})
    assert r.returncode == 2
    assert r.stderr.strip() == ("collector: environment variable COLLECTOR_LOG_FORMAT: 'xml' "
                                "must be one of text, json")
    ok = cli("check", cwd=tmp_path, env={"COLLECTOR_LOG_FORMAT": "json"})
    assert ok.returncode == 0, ok.stderr
