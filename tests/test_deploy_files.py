"""The files in deploy/ say what an operator needs: a container image that runs as its own user with
its state on volumes and a health check, a compose file with Redis and PostgreSQL, and systemd
units that reload on SIGHUP and restart on failure. No container runtime runs here, so the image
is checked for its shape (and for the README's own install commands), not built."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli.main import build_parser
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
SETTING_NAMES = {name for name, _default, _doc in Settings.documented()}


def unit_entries(path: Path) -> dict[str, list[str]]:
    """'Section.Key' -> every value given (systemd allows a key more than once)."""
    entries: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return entries


def test_there_is_a_unit_for_each_bot():
    assert [unit.name for unit in UNITS] == ["qabot-discord.service", "qabot-slack.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_each_unit_runs_as_its_own_user_keeps_state_and_cache_reloads_and_restarts(unit: Path):
    entries = unit_entries(unit)
    one = {key: values[-1] for key, values in entries.items()}
    assert one["Service.User"] == "qabot" and one["Service.User"] != "root"
    assert one["Service.StateDirectory"] == "qabot" and one["Service.CacheDirectory"] == "qabot"
    assert one["Service.ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert one["Service.Restart"] == "on-failure"
    assert one["Service.RestartPreventExitStatus"] == "2"  # a setup problem is not fixed by restarting
    assert one["Install.WantedBy"] == "multi-user.target"
    # The log and the cache live in the directories systemd makes for the unit.
    environment = " ".join(entries["Service.Environment"])
    assert "QABOT_QUESTION_LOG_PATH=%S/qabot/" in environment and "QABOT_CACHE_DIR=%C/qabot" in environment
    for name in re.findall(r"\b(QABOT_[A-Z_]+)=", environment):
        assert name in SETTING_NAMES, name
    # The command is one qabot really has.
    program, *args = one["Service.ExecStart"].split()
    assert program.endswith("/bin/qabot") and args[0] == unit.stem.removeprefix("qabot-")
    build_parser().parse_args(args)


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_itself_finds_nothing_wrong_with_the_units(unit: Path, tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # Pointed at this checkout's qabot, since /srv/qabot does not exist on a test machine.
    text = unit.read_text().replace("/srv/qabot/.venv/bin/qabot", str(Path(sys.executable).parent / "qabot"))
    text = text.replace("WorkingDirectory=/srv/qabot", f"WorkingDirectory={tmp_path}")
    copy = tmp_path / unit.name
    copy.write_text(text)
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]
    assert result.returncode == 0 and problems == [], result.stdout + result.stderr


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), " ".join(rest.split())))
    return instructions


def test_the_image_is_slim_runs_as_a_user_keeps_its_state_on_volumes_and_checks_healthz():
    instructions = dockerfile_instructions()
    [base] = [rest for word, rest in instructions if word == "FROM"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base), base
    [user] = [rest for word, rest in instructions if word == "USER"]
    assert user not in ("root", "0")
    environment = " ".join(rest for word, rest in instructions if word == "ENV")
    [volumes] = [rest for word, rest in instructions if word == "VOLUME"]
    cache = re.search(r"QABOT_CACHE_DIR=(\S+)", environment).group(1)  # type: ignore[union-attr]
    log_file = re.search(r"QABOT_QUESTION_LOG_PATH=(\S+)", environment).group(1)  # type: ignore[union-attr]
    assert f'"{cache}"' in volumes and f'"{str(Path(log_file).parent)}"' in volumes
    for name in re.findall(r"\b(QABOT_[A-Z_]+)=", environment):
        assert name in SETTING_NAMES, name
    [check] = [rest for word, rest in instructions if word == "HEALTHCHECK"]
    assert "HEALTHCHECK_URL" in check and "HEALTHCHECK_URL=http://127.0.0.1:8081/healthz" in environment
    assert "QABOT_HEALTH_PORT=8081" in environment


def test_the_image_installs_qabot_the_way_the_readme_does():
    readme = (REPO / "README.md").read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[test]'" in readme
    runs = [rest for word, rest in dockerfile_instructions() if word == "RUN"]
    assert any(re.search(r"python3 -m venv (\S+) && \1/bin/pip install --no-cache-dir \.$", run) for run in runs), runs
    copied = {rest.split()[0] for word, rest in dockerfile_instructions() if word == "COPY"}
    # Everything pyproject.toml packages is copied in.
    assert {"pyproject.toml", "bot", "corpus", "index"} <= copied


def test_the_compose_file_runs_the_bot_with_redis_and_postgresql():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"redis", "postgres"} <= set(services)
    bots = {name: service for name, service in services.items() if service.get("image") == "qabot"}
    assert set(bots) == {"discord", "slack", "slack-http"}
    for service in bots.values():
        environment = service["environment"]
        assert environment["QABOT_REDIS_URL"].startswith("redis://") and "@redis:6379" in environment["QABOT_REDIS_URL"]
        assert environment["QABOT_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in environment["QABOT_DATABASE_URL"]
        assert set(service["depends_on"]) == {"redis", "postgres"}
        assert {volume.split(":")[1] for volume in service["volumes"]} == {"/var/cache/qabot", "/var/lib/qabot"}
        build_parser().parse_args(service["command"])
    assert bots["slack-http"]["environment"]["HEALTHCHECK_URL"].endswith(":3000/healthz")
    assert "--port" in bots["slack-http"]["command"] and "3000" in bots["slack-http"]["command"]
    # No password is written in the file: each comes from the operator's .env.
    text = (DEPLOY / "compose.yaml").read_text()
    assert not re.search(r"://[^:\s/]*:(?!\$\{)[^@\s]+@", text)
