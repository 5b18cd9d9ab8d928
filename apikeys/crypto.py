"""The signing secrets, encrypted at rest with Fernet keys from settings (`API_KEY_ENCRYPTION_KEYS`).

The first key encrypts; every key listed decrypts, so a new key is rotated in by putting it first
and running `manage.py rotate_api_key_encryption`, then dropping the old one.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def _fernet(key: str) -> Fernet:
    raw = key.encode()
    try:
        return Fernet(raw)
    except ValueError:  # not a Fernet key: derive one from the text (e.g. the SECRET_KEY fallback)
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest()))


def cipher() -> MultiFernet:
    return MultiFernet([_fernet(key) for key in settings.API_KEY_ENCRYPTION_KEYS])


def encrypt(secret: str) -> str:
    return cipher().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    return cipher().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """Re-encrypt with the first key."""
    return cipher().rotate(token.encode()).decode()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
