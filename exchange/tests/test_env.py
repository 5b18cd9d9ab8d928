"""Configuration is parsed strictly: a malformed variable stops start-up, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.env import (
    ConfigError,
    celery_broker_url,
    check_redis_url,
    env_bool,
    env_int,
    env_list,
    parse_database_url,
    with_redis_db,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False)])
def test_env_bool_reads_common_spellings(raw, expected):
    assert env_bool("FLAG", not expected, environ={"FLAG": raw}) is expected


def test_env_bool_refuses_anything_else():
    with pytest.raises(ConfigError, match="FLAG must be a boolean"):
        env_bool("FLAG", False, environ={"FLAG": "maybe"})


def test_env_int_checks_type_and_bounds():
    assert env_int("N", 3, environ={}) == 3
    assert env_int("N", 3, environ={"N": " 7 "}) == 7
    with pytest.raises(ConfigError, match="N must be an integer"):
        env_int("N", 3, environ={"N": "seven"})
    with pytest.raises(ConfigError, match="N must be at least 1"):
        env_int("N", 3, minimum=1, environ={"N": "0"})


def test_env_list_drops_blanks():
    assert env_list("HOSTS", [], environ={"HOSTS": "a.example, ,b.example,"}) == ["a.example", "b.example"]


def test_parse_database_url_tcp():
    config = parse_database_url("postgresql://user:p%40ss@db.internal:5433/exchange?sslmode=require")
    assert config.as_django()["NAME"] == "exchange"
    assert (config.user, config.password, config.host, config.port) == ("user", "p@ss", "db.internal", "5433")
    assert config.options == {"sslmode": "require"}


def test_parse_database_url_unix_socket():
    config = parse_database_url("postgresql://postgres@/exchange?host=/srv/var/postgres")
    assert (config.host, config.port, config.name) == ("/srv/var/postgres", "", "exchange")


@pytest.mark.parametrize(
    "url", ["sqlite:///db.sqlite3", "mysql://u@h/db", "postgresql://u@h:5432/", "postgres://h:x/db"]
)
def test_parse_database_url_refuses_what_it_cannot_use(url):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        parse_database_url(url)


def test_redis_urls():
    assert check_redis_url("redis://127.0.0.1:6379/0")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        check_redis_url("http://127.0.0.1:6379")
    assert celery_broker_url("redis://h:6379/2") == "redis://h:6379/2"
    assert celery_broker_url("unix:///v/redis.sock?db=3") == "redis+socket:///v/redis.sock?virtual_host=3"
    assert with_redis_db("redis://h:6379/0", 15) == "redis://h:6379/15"
    assert with_redis_db("unix:///v/redis.sock?db=0", 15) == "unix:///v/redis.sock?db=15"


def _settings_import(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    return subprocess.run(
        [sys.executable, "-c", "import exchange.settings.base"],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "perhaps"}, "DEBUG must be a boolean"),
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({"DEBUG": "0", "SECRET_KEY": "short"}, "SECRET_KEY must be at least 50 characters"),
        ({"DEBUG": "0", "SECRET_KEY": "x" * 60}, "ALLOWED_HOSTS must be set"),
        ({"DEBUG": "1", "DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL must be a postgres"),
        ({"DEBUG": "1", "EMAIL_PORT": "smtp"}, "EMAIL_PORT must be an integer"),
        ({"DEBUG": "1", "TRUSTED_PROXIES": "nginx"}, "TRUSTED_PROXIES must list IP addresses or CIDR ranges"),
        ({"DEBUG": "1", "RATE_LIMIT_USER": "fast"}, "RATE_LIMIT_USER must be a rate such as 120/m"),
        ({"DEBUG": "1", "RATE_LIMIT_API_KEY": "20/s"}, "RATE_LIMIT_API_KEY (20/s) may not exceed RATE_LIMIT_USER"),
    ],
)
def test_bad_configuration_stops_start_up_with_a_clear_message(env, message):
    result = _settings_import(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_good_production_configuration_imports():
    result = _settings_import({"DEBUG": "0", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "exchange.example.com"})
    assert result.returncode == 0, result.stderr


def _site_url(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"SITE_URL", "WEB_HOST", "WEB_PORT"}}
    result = subprocess.run(
        [sys.executable, "-c", "from exchange.settings import base; print(base.SITE_URL)"],
        cwd=BASE_DIR,
        env={**clean, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_email_links_follow_the_port_make_run_serves_on():
    assert _site_url({"WEB_HOST": "127.0.0.1", "WEB_PORT": "9123"}) == "http://127.0.0.1:9123"
    assert _site_url({"WEB_HOST": "0.0.0.0", "WEB_PORT": "80"}) == "http://127.0.0.1:80"  # noqa: S104
    assert _site_url({"WEB_PORT": "9123", "SITE_URL": "https://ex.example.com/"}) == "https://ex.example.com"


def test_an_env_file_fills_in_what_the_environment_does_not_set(tmp_path, monkeypatch):
    from exchange.env import ConfigError, apply_env_file

    path = tmp_path / "make-run.env"
    path.write_text("# written by make run\n\nEXCHANGE_TEST_A=1\nEXCHANGE_TEST_B = two\n")
    monkeypatch.setenv("EXCHANGE_TEST_B", "set")
    monkeypatch.delenv("EXCHANGE_TEST_A", raising=False)
    assert apply_env_file(path) == {"EXCHANGE_TEST_A": "1"}
    assert (os.environ["EXCHANGE_TEST_A"], os.environ["EXCHANGE_TEST_B"]) == ("1", "set")
    monkeypatch.delenv("EXCHANGE_TEST_A")
    assert apply_env_file(tmp_path / "missing.env") == {}
    path.write_text("DEBUG\n")
    with pytest.raises(ConfigError, match="line 1: expected KEY=VALUE"):
        apply_env_file(path)


def _operator_env(env_file: str, **env: str) -> dict[str, str]:
    """The environment of an operator's shell in a checkout: no DEBUG, SECRET_KEY or settings module set."""
    unset = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "ENV_FILE"}
    return {**{k: v for k, v in os.environ.items() if k not in unset}, "ENV_FILE": env_file, **env}


def _command(argv: list[str], env_file: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=BASE_DIR, env=_operator_env(env_file, **env), capture_output=True, text=True, timeout=60, check=False
    )


def test_manage_py_in_a_make_run_checkout_takes_the_settings_make_run_chose(tmp_path):
    # Given what `make run` records for its checkout
    recorded = tmp_path / "make-run.env"
    recorded.write_text("DEBUG=1\n")
    # Then manage.py run by hand works as the README gives it
    result = _command([sys.executable, "manage.py", "check"], str(recorded))
    assert result.returncode == 0, result.stderr
    # And without it (a deployment), or against an explicit DEBUG=0, SECRET_KEY stays required
    for env_file, env in ((str(tmp_path / "none.env"), {}), (str(recorded), {"DEBUG": "0"})):
        result = _command([sys.executable, "manage.py", "check"], env_file, **env)
        assert result.returncode != 0
        assert "SECRET_KEY must be set" in result.stderr


def test_the_readme_worker_command_starts_as_written(tmp_path, settings):
    # `celery -A exchange.core.celery worker`, with nothing but what make run recorded, on the suite's own Redis
    # database (TEST_REDIS_DB): another database could be a parallel suite's, whose jobs it would take.
    recorded = tmp_path / "make-run.env"
    recorded.write_text("DEBUG=1\n")
    celery = str(Path(sys.executable).parent / "celery")
    env = _operator_env(str(recorded), REDIS_URL=settings.REDIS_URL)
    process = subprocess.Popen(
        [celery, "-A", "exchange.core.celery", "worker", "--pool=solo", "--loglevel=INFO"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "ready." in line or "Error" in line or len(output) > 400:
                break
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert any("ready." in line for line in output), "".join(output)
