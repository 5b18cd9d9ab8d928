"""The exchange project: settings, URLs, ASGI application and the Celery app.

The Celery app (exchange/core/celery.py) is loaded when Django is set up (exchange/apps.py), not
on importing this package: importing it defaults DJANGO_SETTINGS_MODULE, which must not leak from a
plain `python -m exchange.embedded exec -- pytest` into the command it runs.
"""
