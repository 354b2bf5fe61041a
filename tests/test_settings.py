"""Admins configure the bot through the environment or a .env file; mistakes are named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import SettingsError
from bot.settings import Secret, Settings
from bot.stores.ratelimit import RateLimit


def test_defaults_need_no_configuration():
    settings = Settings.load(environ={}, dotenv_path=None)
    assert settings.top_k == 3
    assert settings.corpus_dir.name == "articles" and settings.corpus_dir.is_dir()
    assert settings.rate_limit == RateLimit(5, 30.0)


def test_the_environment_wins_over_the_dotenv_file(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("QABOT_TOP_K=5\nQABOT_CORPUS_DIR=/from/dotenv\n")
    settings = Settings.load(environ={"QABOT_TOP_K": "2"}, dotenv_path=dotenv)
    assert settings.top_k == 2
    assert settings.corpus_dir == Path("/from/dotenv")


@pytest.mark.parametrize(
    "name, value, fragment",
    [
        ("QABOT_TOP_K", "zero", "QABOT_TOP_K='zero' is not valid"),
        ("QABOT_TOP_K", "0", "above 0"),
        ("QABOT_MIN_CONFIDENCE", "2", "from 0 to 1"),
        ("QABOT_RATE_LIMIT", "5 per minute", "COUNT/SECONDS"),
        ("QABOT_LOG_LEVEL", "loud", "one of"),
    ],
)
def test_a_bad_setting_is_named_in_the_error(name, value, fragment):
    with pytest.raises(SettingsError) as caught:
        Settings.load(environ={name: value}, dotenv_path=None)
    assert name in str(caught.value) and fragment in str(caught.value)


def test_secrets_never_show_in_repr_str_or_errors():
    settings = Settings.load(environ={"DISCORD_TOKEN": "very-secret-token"}, dotenv_path=None)
    assert settings.discord_token.reveal() == "very-secret-token"
    assert "very-secret-token" not in repr(settings)
    assert "very-secret-token" not in str(settings.discord_token)
    assert repr(Secret("")) == "Secret('')"


def test_every_setting_is_documented_in_env_example():
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    for name, _default, doc in Settings.documented():
        assert name in example, name
        assert doc
