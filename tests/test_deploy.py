"""The container, compose and systemd files say what the README says: the build context leaves
the virtual environment out, the image installs pinned versions of every dependency, compose
sets the public URL and hands the SMTP password over as a secret file, which collector reads,
and the unit's documentation path and reload command exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from collector.errors import ConfigError
from tests.helpers import load

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_image_installs_every_dependency_at_a_pinned_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"][
        "postgres"]}
    pinned = {}
    for line in (ROOT / "deploy" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pinned[name.lower().replace("_", "-").replace(".", "-")] = version
    missing = {w for w in wanted if w.replace(".", "-") not in pinned}
    assert missing == set()
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "COPY deploy/constraints.txt ./constraints.txt" in dockerfile
    assert "pip install -c constraints.txt '.[postgres]'" in dockerfile


def test_the_build_context_leaves_out_the_venv_data_and_secrets():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".venv", "data", ".git", "deploy/*.txt"):
        assert entry in ignored
    assert "!deploy/constraints.txt" in ignored


def test_compose_sets_the_public_url_and_passes_the_smtp_password_as_a_secret():
    compose = YAML(typ="safe").load((ROOT / "deploy" / "compose.yaml").read_text())
    service = compose["services"]["collector"]
    env = service["environment"]
    assert env["COLLECTOR_PUBLIC_URL"].startswith("${COLLECTOR_PUBLIC_URL:-http")
    assert "COLLECTOR_SMTP_PASSWORD" not in env
    assert env["COLLECTOR_SMTP_PASSWORD_FILE"] == "/run/secrets/smtp_password"
    assert "smtp_password" in service["secrets"] and "smtp_password" in compose["secrets"]


def test_the_smtp_password_is_read_from_its_secret_file(tmp_path):
    secret = tmp_path / "smtp_password"
    secret.write_text("s3cret value\n")
    config = load(tmp_path, "sources: []\n",
                  env={"COLLECTOR_SMTP_PASSWORD_FILE": str(secret)})
    assert config.settings.smtp.password == "s3cret value"
    # the variable wins over the file; an empty file is no login
    config = load(tmp_path, "sources: []\n", env={"COLLECTOR_SMTP_PASSWORD_FILE": str(secret),
                                                  "COLLECTOR_SMTP_PASSWORD": "direct"})
    assert config.settings.smtp.password == "direct"
    secret.write_text("")
    config = load(tmp_path, "sources: []\n", env={"COLLECTOR_SMTP_PASSWORD_FILE": str(secret)})
    assert config.settings.smtp.password is None
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, "sources: []\n",
             env={"COLLECTOR_SMTP_PASSWORD_FILE": str(tmp_path / "missing")})
    assert any("COLLECTOR_SMTP_PASSWORD_FILE: cannot read" in p and "missing" in p
               for p in refused.value.problems)


def test_the_unit_documents_an_installed_path_and_reloads_with_sighup():
    unit = (ROOT / "deploy" / "collector.service").read_text()
    doc = re.search(r"^Documentation=file://(\S+)$", unit, re.MULTILINE)
    assert doc is not None
    assert f"install -D -m 0644 README.md {doc.group(1)}" in unit   # the install step puts it
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
