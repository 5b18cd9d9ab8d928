"""API-key usage: counted in Redis on each request (no database write on the hot path), flushed to
`ApiKeyUsage` and the key's last use by a periodic task (and before the usage endpoint answers)."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import F
from django.utils import timezone

from apikeys.models import ApiKey, ApiKeyUsage
from exchange.core import redis

USAGE_KEYS = "apikeys:usage:dirty"  # the set of "key id:day" with counts waiting to be flushed


def _usage_key(key_id: int, day: date) -> str:
    return f"apikeys:usage:{key_id}:{day.isoformat()}"


def record_use(*, api_key: ApiKey, endpoint: str, ip: str | None) -> None:
    """Count one request in Redis (no database write here); `flush_usage` moves counts to the database."""
    client = redis.client()
    day = timezone.now().date()
    pipe = client.pipeline()
    pipe.hincrby(_usage_key(api_key.pk, day), endpoint, 1)
    pipe.expire(_usage_key(api_key.pk, day), 3 * 86400)
    pipe.hset(f"apikeys:last:{api_key.pk}", mapping={"at": timezone.now().isoformat(), "ip": ip or ""})
    pipe.sadd(USAGE_KEYS, f"{api_key.pk}:{day.isoformat()}")
    pipe.execute()


def flush_usage() -> int:
    """Move counted requests from Redis to ApiKeyUsage; return how many rows changed."""
    client = redis.client()
    changed = 0
    for member in client.smembers(USAGE_KEYS):
        key_id_text, day_text = str(member).split(":")
        key_id, day = int(key_id_text), date.fromisoformat(day_text)
        pipe = client.pipeline()
        pipe.hgetall(_usage_key(key_id, day))
        pipe.delete(_usage_key(key_id, day))
        pipe.srem(USAGE_KEYS, member)
        counts, _, _ = pipe.execute()
        if not ApiKey.objects.filter(pk=key_id).exists():
            continue
        for endpoint, count_text in counts.items():
            count = int(count_text)
            updated = ApiKeyUsage.objects.filter(key_id=key_id, day=day, endpoint=endpoint).update(
                requests=F("requests") + count
            )
            if not updated:
                ApiKeyUsage.objects.create(key_id=key_id, day=day, endpoint=endpoint, requests=count)
            changed += 1
        last = client.hgetall(f"apikeys:last:{key_id}")
        if last:
            ApiKey.objects.filter(pk=key_id).update(
                last_used_at=datetime.fromisoformat(str(last["at"])), last_used_ip=str(last["ip"]) or None
            )
    return changed
