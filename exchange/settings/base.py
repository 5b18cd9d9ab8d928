"""Settings for every environment; production differs only by environment variables.

Each variable is parsed strictly by exchange.env: a malformed value stops start-up naming the
variable. With DATABASE_URL / REDIS_URL unset, the embedded PostgreSQL and Redis under var/ are used
(see exchange.embedded). There is no SQLite mode.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
from celery.schedules import crontab

from exchange import embedded
from exchange.env import (
    ConfigError,
    apply_env_file,
    celery_broker_url,
    check_redis_url,
    env_bool,
    env_choice,
    env_decimal,
    env_int,
    env_list,
    env_networks,
    env_rate,
    env_str,
    parse_database_url,
    rate_per_second,
)

# Lets classes such as ModelAdmin take type parameters at run time, as django-stubs declares them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

# What `make run` chose for this checkout (DEBUG=1), for `manage.py` and `celery` run here by hand:
# applied where the environment says nothing. ENV_FILE names another file; empty, none. A deployment
# has no such file, so there a missing SECRET_KEY stays an error.
_ENV_FILE = env_str("ENV_FILE", str(VAR_DIR / "make-run.env"))
apply_env_file(Path(_ENV_FILE) if _ENV_FILE else None)

# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)
SITE_NAME = env_str("SITE_NAME", "OpenExchange")
# Where users reach the site, for links in emails. Unset, it is where `make run` serves the site
# (its HOST and PORT reach every process as WEB_HOST and WEB_PORT).
_WEB_HOST = env_str("WEB_HOST", "127.0.0.1")


def _link_host(host: str) -> str:
    """A server bound to every interface (0.0.0.0, ::) is reached, from this machine, at the loopback address."""
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        unspecified = not host
    return "127.0.0.1" if unspecified else host


_LINK_HOST = _link_host(_WEB_HOST)
SITE_URL = env_str("SITE_URL", f"http://{_LINK_HOST}:{env_int('WEB_PORT', 8000)}").rstrip("/")


def _development_secret_key() -> str:
    """Return a random key kept under var/, so sessions survive restarts of a development checkout."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "") or _development_secret_key()
else:
    SECRET_KEY = env_str("SECRET_KEY")  # required: no working default outside development
    if len(SECRET_KEY) < 50:
        raise ConfigError("SECRET_KEY must be at least 50 characters long.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "exchange.apps.ExchangeAdminConfig",  # django.contrib.admin, with the exchange's admin site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_ratelimit",
    "django_countries",
    "accounts",
    "trading",
    "wallets",
    "kyc",
    "apikeys",
    "exchange",  # the roof: bootstrap, the home pages, the admin site (last: it sees every app)
]

MIDDLEWARE = [
    "exchange.core.client_address.ClientAddressMiddleware",  # before anything that reads the address
    "exchange.ddos.DdosGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "exchange.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.audit.AuditOriginMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The DDoS guard (exchange/ddos.py): more than DDOS_BURST_REQUESTS from one address within
# DDOS_WINDOW_SECONDS and it is refused for DDOS_BAN_SECONDS. The allowlist (addresses or CIDR
# ranges: health checks, internal networks) is never counted.
DDOS_GUARD = env_bool("DDOS_GUARD", True)
DDOS_WINDOW_SECONDS = env_int("DDOS_WINDOW_SECONDS", 10, minimum=1)
DDOS_BURST_REQUESTS = env_int("DDOS_BURST_REQUESTS", 300, minimum=1)
DDOS_BAN_SECONDS = env_int("DDOS_BAN_SECONDS", 60, minimum=1)
DDOS_ALLOWLIST = env_networks("DDOS_ALLOWLIST", ["127.0.0.1/32", "::1/128"])

# The client's address (exchange/client_address.py) is the TCP peer, unless the peer is in one of
# these ranges (the reverse proxy's: nginx's network in docker-compose.yml); then it is the
# right-most X-Forwarded-For address that is not one of them. Empty: no proxy is believed.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES", [])

ROOT_URLCONF = "exchange.urls"
ASGI_APPLICATION = "exchange.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "exchange.context_processors.site",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# django-ratelimit lists only django-redis as "official"; Django's own RedisCache has the atomic
# add/incr it needs, so the warning does not apply.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Data stores ----------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", "") or embedded.database_url()
DATABASES = {"default": parse_database_url(DATABASE_URL).as_django()}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A psycopg connection pool per process (Django's `pool` option): requests borrow a connection and
# give it back, which suits ASGI, where a request's thread does not outlive it. 0: no pool. With a
# pool, connections are not also kept per thread (CONN_MAX_AGE must be 0).
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 0, minimum=0)
if DB_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    options = DATABASES["default"]["OPTIONS"]
    assert isinstance(options, dict)  # noqa: S101  # nosec B101  # as_django() makes it a dict
    DATABASES["default"]["OPTIONS"] = {
        **options,
        "pool": {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env_int("DB_POOL_TIMEOUT_SECONDS", 10, minimum=1),
        },
    }

REDIS_URL = check_redis_url(env_str("REDIS_URL", "") or embedded.redis_url())

CACHES = {
    "default": {
        "BACKEND": "exchange.core.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "exchange"),
    }
}
# Sessions live in Redis in front of the database: fast reads, nothing lost on a Redis restart.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Redis pub/sub: a group message is one PUBLISH, received once per web process and handed to its
# consumers there (not one Redis list per subscriber). At most once, which the streams allow for.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNEL_LAYER_PREFIX", "exchange")},
    }
}

# The stream server (manage.py run_stream_server, exchange/stream_server.py): /ws/stream on a process
# of its own. STREAM_URL is where the pages connect: empty, the page's own host (nginx routes /ws/ to
# the stream server; without it the web process serves /ws/stream too); `{host}` in it is the host the
# page was served from (`make run`: ws://{host}:8001/ws/stream), and its origin joins the pages'
# Content-Security-Policy connect-src (exchange.csp). A subscriber with more than STREAM_SEND_BUFFER
# bytes unread is closed (1008).
STREAM_URL = env_str("STREAM_URL", "")
if STREAM_URL and urlsplit(STREAM_URL).scheme not in ("ws", "wss"):
    raise ConfigError(f"STREAM_URL is a ws:// or wss:// URL (or empty), not {STREAM_URL!r}.")
STREAM_SEND_BUFFER = env_int("STREAM_SEND_BUFFER", 1024 * 1024, minimum=16 * 1024)
STREAM_DEFLATE = env_bool("STREAM_DEFLATE", False)  # permessage-deflate: off, frames are written as made

# --- Celery ---------------------------------------------------------------------------------------

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = env_str("CELERY_BEAT_SCHEDULE_FILENAME", str(VAR_DIR / "celerybeat-schedule"))
# How often deposits are looked for and credited.
DEPOSIT_SCAN_SECONDS = env_int("DEPOSIT_SCAN_SECONDS", 5, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "scan-deposits": {"task": "wallets.tasks.scan_deposits", "schedule": float(DEPOSIT_SCAN_SECONDS)},
    "retry-waiting-withdrawals": {"task": "wallets.tasks.retry_waiting_withdrawals", "schedule": 60.0},
    "rebalance-hot-wallets": {"task": "wallets.tasks.rebalance_hot_wallets", "schedule": 60.0},
    "flush-api-key-usage": {"task": "apikeys.tasks.flush_api_key_usage", "schedule": 60.0},
    "audit-ledger": {"task": "wallets.tasks.audit_ledger", "schedule": crontab(minute=7)},
    "flush-expired-tokens": {
        "task": "accounts.tasks.flush_expired_tokens",
        "schedule": crontab(minute=17, hour=3),
    },
}

# --- Authentication -------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

OTP_TOTP_ISSUER = SITE_NAME

# API keys' signing secrets are encrypted with these (Fernet keys, or any text to derive one from):
# the first encrypts, all decrypt; rotate by putting a new one first, then run
# `manage.py rotate_api_key_secrets`, then drop the old one. Default: derived from SECRET_KEY.
API_KEY_ENCRYPTION_KEYS = env_list("API_KEY_ENCRYPTION_KEYS", [SECRET_KEY])
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# How long the second login step (the code) may follow the first (the password).
LOGIN_OTP_STEP_SECONDS = 300
BACKUP_CODE_COUNT = 10

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "apikeys.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "exchange.core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_PAGINATION_CLASS": "exchange.core.pagination.Pagination",
    "DEFAULT_THROTTLE_CLASSES": ["exchange.core.throttling.RateLimit"],
}

# The admin's amount columns: code -> (decimals, USDT price) for every asset (exchange/core/admin.py).
ADMIN_ASSET_PRICES = "trading.portfolio.asset_prices"

# API rate limits (exchange/throttling.py), "count/period" with period s, m, h or d: everyone is held
# to the limit of their kind (anonymous per address, users, API keys); sensitive operations have
# their own, tighter one on top. Counters live in the Redis cache; if it is away, requests pass.
# A user's API keys draw on the user's own budget (`user`): 20 keys get no more than one. `api_key`
# holds each key to at most that rate, never more.
_RATE_LIMIT_USER = env_rate("RATE_LIMIT_USER", "600/m")
RATE_LIMITS = {
    "anon": env_rate("RATE_LIMIT_ANON", "120/m"),
    "user": _RATE_LIMIT_USER,
    "api_key": env_rate("RATE_LIMIT_API_KEY", _RATE_LIMIT_USER),
    "login": env_rate("RATE_LIMIT_LOGIN", "20/m"),
    "register": env_rate("RATE_LIMIT_REGISTER", "5/m"),
    "otp": env_rate("RATE_LIMIT_OTP", "10/m"),
    "withdraw": env_rate("RATE_LIMIT_WITHDRAW", "10/m"),
    "order": env_rate("RATE_LIMIT_ORDER", "300/m"),
}
if rate_per_second(RATE_LIMITS["api_key"]) > rate_per_second(RATE_LIMITS["user"]):
    raise ConfigError(
        f"RATE_LIMIT_API_KEY ({RATE_LIMITS['api_key']}) may not exceed RATE_LIMIT_USER ({RATE_LIMITS['user']}): "
        "a user's keys share the user's budget."
    )
RATELIMIT_FAIL_OPEN = True
# Failed logins (page and API alike), counted for an hour (accounts/login_guard.py): past the limit
# per (account, address) or per address, that address is refused; past the threshold per account,
# the account is under attack: its owner is alerted, a right password counts only with a valid second
# factor (when 2FA is on), and addresses that never signed in to it get one try per LOGIN_SLOW_SECONDS.
LOGIN_FAILURES_PER_ACCOUNT_IP = env_int("LOGIN_FAILURES_PER_ACCOUNT_IP", 10, minimum=1)
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 20, minimum=1)
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 100, minimum=1)
LOGIN_SLOW_SECONDS = env_int("LOGIN_SLOW_SECONDS", 10, minimum=1)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7, minimum=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": f"{SITE_NAME} API",
    "DESCRIPTION": "REST API of the exchange. Amounts and prices are strings. Errors are "
    '`{"error": {"code", "message", "details"}}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderSideEnum": "trading.models.Side",
        "MarketStatusEnum": "trading.models.MarketStatus",
        "VerificationStatusEnum": "kyc.models.VerificationStatus",
    },
}

# --- Files ----------------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [BASE_DIR / "static"]
# Browser packages come from npm (`make install` runs `npm ci`; the Dockerfile copies them in) and are
# served from node_modules as they are: no bundler. Without Node the pages work, without the chart.
CHARTS_DIST = BASE_DIR / "node_modules" / "lightweight-charts" / "dist"
if CHARTS_DIST.is_dir():
    STATICFILES_DIRS.append(("vendor/lightweight-charts", CHARTS_DIST))
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
# Served by daphne itself only when asked (development); production puts nginx in front.
SERVE_STATIC = env_bool("SERVE_STATIC", DEBUG)

STORAGE_BACKEND = env_choice("STORAGE_BACKEND", "filesystem", ("filesystem", "s3"))
if STORAGE_BACKEND == "s3":
    if find_spec("boto3") is None:
        raise ConfigError("STORAGE_BACKEND=s3 needs boto3: pip install 'django-storages[s3]'.")
    _private_storage: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("S3_BUCKET"),
            "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("S3_REGION", "") or None,
            "access_key": env_str("S3_ACCESS_KEY", "") or None,
            "secret_key": env_str("S3_SECRET_KEY", "") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    # Private: nothing serves this directory; files go out only through permission-checked views.
    _private_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")),
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
STORAGES = {
    "default": _private_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}

# --- Email ----------------------------------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
# With the file backend (django.core.mail.backends.filebased.EmailBackend), mail is written here.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ConfigError("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "no-reply@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -------------------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # the pages' scripts read it to call the API with the session
if not DEBUG:
    # Behind the proxy (nginx) that terminates TLS and sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- KYC and AML ----------------------------------------------------------------------------------

KYC_MAX_UPLOAD_BYTES = env_int("KYC_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)
KYC_MAX_IMAGE_SIDE = env_int("KYC_MAX_IMAGE_SIDE", 8000, minimum=500)
KYC_MINIMUM_AGE = env_int("KYC_MINIMUM_AGE", 18, minimum=16)
# AML rules: a withdrawal of at least this share of the deposits made within this many hours...
AML_RAPID_WITHDRAWAL_HOURS = env_int("AML_RAPID_WITHDRAWAL_HOURS", 24, minimum=1)
AML_RAPID_WITHDRAWAL_SHARE = env_decimal("AML_RAPID_WITHDRAWAL_SHARE", "0.8", minimum="0", maximum="1")
# ... and this many amounts in 24 h between (share x threshold) and the threshold, in USDT.
AML_REPORTING_THRESHOLD_USDT = env_int("AML_REPORTING_THRESHOLD_USDT", 10_000, minimum=1)
AML_JUST_UNDER_SHARE = env_decimal("AML_JUST_UNDER_SHARE", "0.9", minimum="0", maximum="1")
AML_JUST_UNDER_COUNT = env_int("AML_JUST_UNDER_COUNT", 3, minimum=2)

# --- Wallets --------------------------------------------------------------------------------------

# Network adapter per asset code ("*" for any other); the simulated network ships for development.
WALLET_NETWORKS = {"*": "wallets.networks.SimulatedNetwork"}
# POST /api/wallet/deposit creates a simulated incoming transfer: development and demo only.
SIMULATED_DEPOSITS = env_bool("SIMULATED_DEPOSITS", DEBUG)
# Each deposit scan mines a block on the simulated chains, so deposits gather confirmations.
SIMULATED_MINING = env_bool("SIMULATED_MINING", DEBUG)
# Withdrawals: confirmed by a link in an email; locked this long after a password or 2FA change;
# in whitelist mode, a new address-book entry is usable only after this long.
# Refills from cold above this value (USDT) in 24 h, all assets together, need a second treasury approval.
COLD_TRANSFER_SECOND_APPROVAL_USDT = env_int("COLD_TRANSFER_SECOND_APPROVAL_USDT", 100_000, minimum=0)
WITHDRAWAL_EMAIL_CONFIRMATION = env_bool("WITHDRAWAL_EMAIL_CONFIRMATION", True)
# A new confirmation email may be asked for once this often.
WITHDRAWAL_RESEND_SECONDS = env_int("WITHDRAWAL_RESEND_SECONDS", 60, minimum=1)
WITHDRAWAL_LOCK_HOURS = env_int("WITHDRAWAL_LOCK_HOURS", 24, minimum=0)
WITHDRAWAL_NEW_ADDRESS_HOURS = env_int("WITHDRAWAL_NEW_ADDRESS_HOURS", 24, minimum=0)

# --- Engine ---------------------------------------------------------------------------------------

# The engine writes a heartbeat to Redis this often; /healthz calls it down when the key expires.
ENGINE_HEARTBEAT_SECONDS = env_int("ENGINE_HEARTBEAT_SECONDS", 5, minimum=1)
ENGINE_POLL_SECONDS = env_int("ENGINE_POLL_SECONDS", 1, minimum=1)
# A batch takes every pending command up to a limit that adapts (trading.matching.BatchSizer): under a
# backlog it grows while batches take less than ENGINE_BATCH_TARGET_MS and shrinks when they take more,
# between ENGINE_BATCH_MIN and ENGINE_BATCH_SIZE commands. Under light load batches are small anyway.
ENGINE_BATCH_SIZE = env_int("ENGINE_BATCH_SIZE", 2000, minimum=1)  # the most commands per batch transaction
ENGINE_BATCH_MIN = env_int("ENGINE_BATCH_MIN", 50, minimum=1)
ENGINE_BATCH_TARGET_MS = env_int("ENGINE_BATCH_TARGET_MS", 100, minimum=1)
# How long a web worker answers GET /api/market/ticker/<symbol> from the ticker it computed last: the
# engine's stream sends a ticker at most once a second too. 0 computes it on every request.
TICKER_CACHE_MS = env_int("TICKER_CACHE_MS", 1000, minimum=0)

# --- Logging --------------------------------------------------------------------------------------

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
    },
}
