"""Settings for the test suite: base settings with a few values made fast and isolated."""

from __future__ import annotations

import os

# Tests run with DEBUG off, as production does, whatever `make run` recorded for this checkout (no
# env file, for the processes the tests start too); these two are then required, so give test values.
os.environ.setdefault("ENV_FILE", "")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdefghij")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")

from exchange.env import celery_broker_url, with_redis_db
from exchange.settings.base import *  # noqa: F403
from exchange.settings.base import PASSWORD_HASHERS, REDIS_URL, VAR_DIR

# A Redis database of its own, so tests may flush it without touching a running development system
# (TEST_REDIS_DB picks another, so that two suites can run side by side on one Redis).
REDIS_URL = with_redis_db(REDIS_URL, int(os.environ.get("TEST_REDIS_DB", "15")))
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)

# Argon2 is deliberately slow; tests that check hashing override this back.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "test-private"), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run in the calling thread (after the commit that schedules them), so tests see their effects.
CELERY_TASK_ALWAYS_EAGER = True
SIMULATED_DEPOSITS = True
TICKER_CACHE_MS = 0  # tests read the ticker right after a trade (test_marketdata.py tests the cache)
SIMULATED_MINING = True
CACHES = {
    "default": {
        "BACKEND": "exchange.core.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "exchange-test",
    }
}
# Pub/sub channels are shared by every database of a Redis server: each test run gets a prefix of
# its own, which the engine processes it starts inherit through the environment.
os.environ.setdefault("CHANNEL_LAYER_PREFIX", f"exchange-test-{os.getpid()}")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ["CHANNEL_LAYER_PREFIX"]},
    }
}
