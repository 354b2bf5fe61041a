"""One deployment secret keys every hash of a platform ID: QABOT_SECRET, or a key file made on
first use. No key is fixed in the code, so two deployments hash one user differently, and
replicas that do not share a secret refuse to start rather than split the rate limit."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.app import deployment_secret, running, stores_for
from bot.errors import SettingsError, SetupError
from bot.service.privacy import secret_fingerprint, user_key
from bot.settings import Secret, Settings
from tests.support.readiness import until_the_articles_are_read
from tests.support.redis_server import RedisServer

SECRET_A = "a" * 24 + "-deployment-secret-of-replica-a"
SECRET_B = "b" * 24 + "-deployment-secret-of-replica-b"


def settings_in(folder: Path, **environ: str) -> Settings:
    return Settings.load(
        environ={"QABOT_SECRET_FILE": str(folder / "state" / "secret.key"), "QABOT_RELOAD_SECONDS": "0", **environ},
        dotenv_path=None,
        cache_dir=folder / "cache",
        question_log_path=folder / "state" / "questions.sqlite3",
    )


def test_without_QABOT_SECRET_a_private_key_file_is_made_once_and_kept(tmp_path: Path):
    settings = settings_in(tmp_path)
    first = deployment_secret(settings)
    key_file = settings.secret_key_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert deployment_secret(settings) == first  # the next start uses the same key
    assert len(first) >= 32


def test_no_key_is_fixed_in_the_code_two_deployments_hash_one_user_differently(tmp_path: Path):
    one = deployment_secret(settings_in(tmp_path / "one"))
    other = deployment_secret(settings_in(tmp_path / "other"))
    assert one != other
    assert user_key("slack", "U0ALICE", one) != user_key("slack", "U0ALICE", other)
    assert secret_fingerprint(one) != secret_fingerprint(other)


def test_QABOT_SECRET_wins_over_the_key_file_and_makes_none(tmp_path: Path):
    settings = settings_in(tmp_path, QABOT_SECRET=SECRET_A)
    assert deployment_secret(settings) == SECRET_A.encode()
    assert not settings.secret_key_file().exists()


def test_a_short_QABOT_SECRET_is_refused_in_one_line_that_does_not_show_it(tmp_path: Path):
    with pytest.raises(SetupError) as refused:
        deployment_secret(settings_in(tmp_path, QABOT_SECRET="hunter2-short"))
    assert "QABOT_SECRET is too short" in str(refused.value) and "hunter2" not in str(refused.value)


def test_the_old_question_log_secret_setting_names_its_replacement(tmp_path: Path):
    with pytest.raises(SettingsError) as refused:
        settings_in(tmp_path, QABOT_QUESTION_LOG_SECRET=SECRET_A)
    assert "QABOT_QUESTION_LOG_SECRET is replaced by QABOT_SECRET" in str(refused.value)
    assert SECRET_A not in str(refused.value)


def test_the_fingerprint_tells_keys_apart_without_showing_them():
    fingerprint = secret_fingerprint(SECRET_A.encode())
    assert fingerprint == secret_fingerprint(SECRET_A.encode())
    assert fingerprint != secret_fingerprint(SECRET_B.encode())
    assert SECRET_A not in fingerprint and len(fingerprint) == 32


def test_redis_holds_hashed_event_keys_and_the_fingerprint_never_the_key(tmp_path: Path, redis_server: RedisServer, redis_url: str):
    settings = settings_in(tmp_path, QABOT_SECRET=SECRET_A, QABOT_REDIS_URL=redis_url)
    with running(settings) as bot:
        until_the_articles_are_read(bot)
        assert bot.stores.seen_events.first_time("slack:message:C0RAWCHANNEL:1700000000.000100")
        assert bot.service.ask("Why did Ring drop Flock?", "U0RAWALICE", "slack", "C0RAWCHANNEL").answered
    client = redis_server.client()
    stored = b" ".join(key + b"=" + (client.dump(key) or b"") for key in client.keys("*"))
    assert b"qabot:secret-fingerprint" in stored and secret_fingerprint(SECRET_A.encode()).encode() in stored
    for raw in (b"C0RAWCHANNEL", b"U0RAWALICE", b"1700000000", SECRET_A.encode()):
        assert raw not in stored


def test_a_replica_with_another_secret_refuses_to_start_instead_of_splitting_the_rate_limit(
    tmp_path: Path, redis_url: str
):
    with running(settings_in(tmp_path / "a", QABOT_SECRET=SECRET_A, QABOT_REDIS_URL=redis_url)):
        pass
    with pytest.raises(SetupError) as refused:
        with running(settings_in(tmp_path / "b", QABOT_SECRET=SECRET_B, QABOT_REDIS_URL=redis_url)):
            pass
    line = str(refused.value)
    assert "QABOT_SECRET differs from the secret the other replicas use" in line and "\n" not in line
    assert SECRET_A not in line and SECRET_B not in line
    # A replica with the same secret (here from its own key file, copied) starts.
    key_file = tmp_path / "c" / "state" / "secret.key"
    key_file.parent.mkdir(parents=True, mode=0o700)
    key_file.write_text(SECRET_A + "\n")
    key_file.chmod(0o600)
    with running(settings_in(tmp_path / "c", QABOT_REDIS_URL=redis_url)):
        pass


def test_with_redis_down_at_start_the_replica_starts_and_says_it_could_not_compare(
    tmp_path: Path, private_redis: RedisServer, caplog: pytest.LogCaptureFixture
):
    url = private_redis.url
    private_redis.stop()
    with running(settings_in(tmp_path, QABOT_SECRET=SECRET_A, QABOT_REDIS_URL=url)):
        pass
    assert "could not compare this replica's secret" in caplog.text


def test_stores_without_redis_compare_nothing(tmp_path: Path):
    stores = stores_for(settings_in(tmp_path))
    assert stores.compare_secret(secret_fingerprint(SECRET_A.encode())) is None
    assert repr(Secret(SECRET_A)) == "Secret('********')"
