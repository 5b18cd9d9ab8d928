"""Read configuration from environment variables, strictly.

A variable that is set but malformed stops start-up with a message naming it, instead of silently
falling back to a default (the healthchecks.io way). Nothing here touches Django.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(Exception):
    """An environment variable holds a value the exchange cannot use."""


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    return (os.environ if environ is None else environ).get(name)


def env_str(name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None) -> str:
    """Return a string variable; without a default, the variable is required."""
    value = _raw(name, environ)
    if value is None or value == "":
        if default is None:
            raise ConfigError(f"{name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    """Return a boolean variable written as 1/0, true/false, yes/no or on/off."""
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), not {value!r}.")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Return an integer variable within optional bounds."""
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {number}.")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, not {number}.")
    return number


def env_decimal(
    name: str,
    default: str,
    *,
    minimum: str | None = None,
    maximum: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Decimal:
    """Return a decimal variable (money, shares) within optional bounds; never a float."""
    value = _raw(name, environ)
    raw = default if value is None or value.strip() == "" else value.strip()
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"{name} must be a decimal number, not {value!r}.") from None
    if not number.is_finite():
        raise ConfigError(f"{name} must be a finite number, not {value!r}.")
    if minimum is not None and number < Decimal(minimum):
        raise ConfigError(f"{name} must be at least {minimum}, not {number}.")
    if maximum is not None and number > Decimal(maximum):
        raise ConfigError(f"{name} must be at most {maximum}, not {number}.")
    return number


def env_list(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    """Return a comma-separated list variable, without empty items."""
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    """Return a comma-separated list of IP addresses and CIDR ranges, each written in its normal form.

    A range with host bits set (10.0.0.1/8) is refused: it is more likely a typo than a wish.
    """
    networks = []
    for entry in env_list(name, default, environ=environ):
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=True)))
        except ValueError:
            raise ConfigError(f"{name} must list IP addresses or CIDR ranges (as 10.0.0.0/8), not {entry!r}.") from None
    return networks


_RATE = re.compile(r"(?P<count>[0-9]+)/(?P<multiplier>[0-9]*)(?P<unit>[smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_per_second(rate: str) -> float:
    """Return the average requests per second a django-ratelimit rate ("count/period") allows."""
    match = _RATE.fullmatch(rate)
    if match is None:
        raise ValueError(rate)
    seconds = int(match["multiplier"] or 1) * _UNIT_SECONDS[match["unit"]]
    if seconds == 0:
        raise ValueError(rate)
    return int(match["count"]) / seconds


def env_rate(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    """Return a rate limit written "count/period", the period s, m, h or d with an optional multiplier (5m)."""
    value = env_str(name, default, environ=environ).strip()
    try:
        rate_per_second(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as 120/m (count/s, m, h or d), not {value!r}.") from None
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None) -> str:
    """Return a variable that must be one of a fixed set of words."""
    value = env_str(name, default, environ=environ)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


@dataclass(frozen=True)
class DatabaseConfig:
    name: str
    user: str
    password: str
    host: str
    port: str
    options: dict[str, str]

    def as_django(self) -> dict[str, object]:
        """Return the settings.DATABASES entry for this database."""
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.name,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": self.host,
            "PORT": self.port,
            "OPTIONS": dict(self.options),
        }


def parse_database_url(url: str, *, name: str = "DATABASE_URL") -> DatabaseConfig:
    """Parse a PostgreSQL URL, including a unix socket directory given as `?host=/path`."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ConfigError(f"{name} must be a postgres:// or postgresql:// URL (no SQLite), not {url!r}.")
    query = dict(parse_qsl(parts.query, keep_blank_values=False))
    host = query.pop("host", None) or unquote(parts.hostname or "")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ConfigError(f"{name} must name a database, as in postgresql://user@host:5432/exchange.")
    try:
        port = str(parts.port or "")
    except ValueError:
        raise ConfigError(f"{name} has an invalid port: {url!r}.") from None
    return DatabaseConfig(
        name=database,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=host,
        port=port,
        options=query,
    )


def check_redis_url(url: str, *, name: str = "REDIS_URL") -> str:
    """Return the URL if it is a redis://, rediss:// or unix:// URL."""
    scheme = urlsplit(url).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"{name} must be a redis://, rediss:// or unix:// URL, not {url!r}.")
    return url


def celery_broker_url(redis_url: str) -> str:
    """Translate a Redis URL into the spelling kombu expects (it names unix sockets redis+socket)."""
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    query = dict(parse_qsl(parts.query))
    db = query.get("db", "0")
    return f"redis+socket://{parts.path}?virtual_host={db}"


def with_redis_db(redis_url: str, db: int) -> str:
    """Return the same Redis URL pointing at another logical database."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(db)
        return f"unix://{parts.path}?" + "&".join(f"{k}={v}" for k, v in query.items())
    return parts._replace(path=f"/{db}").geturl()


def apply_env_file(path: Path | None) -> dict[str, str]:
    """Take `KEY=VALUE` lines from a file for the variables the environment does not set; return those taken.

    `make run` records the settings it chose for a checkout this way (var/make-run.env), so that
    `manage.py` and `celery` run by hand in that checkout use them too. Blank lines and `#` comments
    are skipped; a malformed line stops start-up, naming the file.
    """
    if path is None or not path.is_file():
        return {}
    taken = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()  # noqa: PLW2901
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key.strip()):
            raise ConfigError(f"{path}, line {number}: expected KEY=VALUE, not {line!r}.")
        if key.strip() not in os.environ:
            os.environ[key.strip()] = taken[key.strip()] = value.strip()
    return taken
