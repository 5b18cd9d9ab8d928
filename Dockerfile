# One image for every process of the exchange: web (daphne), engine, worker, beat and migrate.
# docker-compose.yml picks the process with `command:`; the default is the web server.

# The browser packages (package-lock.json), installed in a stage of their own: the image keeps only
# the files the pages load, not Node.
FROM node:20-bookworm-slim AS browser-packages
WORKDIR /build
COPY package.json package-lock.json /build/
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm

ENV DJANGO_SETTINGS_MODULE=exchange.settings.base \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles

# A fixed uid/gid, so files on the volumes keep their owner across image rebuilds.
RUN groupadd --system --gid 10001 exchange \
    && useradd --system --uid 10001 --gid exchange --home-dir /app --shell /usr/sbin/nologin exchange

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Runtime packages only.
COPY requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir -r /app/requirements.txt

COPY . /app
COPY --from=browser-packages /build/node_modules/lightweight-charts/dist /app/node_modules/lightweight-charts/dist

# Static files are collected into the image. The values below exist only so that the strictly
# parsed settings import during the build; collectstatic connects to neither the database nor
# Redis, and none of them is set in the image's environment (real ones come at run time).
# Then the directories the app writes to at run time (/data/private is PRIVATE_MEDIA_ROOT in
# docker-compose.yml): an empty named volume mounted on one of them takes its content and
# ownership from the image the first time it is used.
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

# gunicorn with uvicorn workers, one per core unless WEB_CONCURRENCY says otherwise
# (exchange/gunicorn_config.py). The workers read no proxy headers: the application decides the
# client's address (exchange/core/client_address.py), believing only TRUSTED_PROXIES.
ENV WEB_HOST=0.0.0.0 WEB_PORT=8000
CMD ["gunicorn", "-c", "exchange/gunicorn_config.py", "exchange.asgi:application"]
