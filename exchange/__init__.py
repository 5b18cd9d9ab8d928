"""The exchange project: settings, URLs, ASGI application and the Celery app.

The Celery app (exchange/celery.py) is loaded when Django is set up (accounts' AppConfig.ready), not
on importing this package: importing it defaults DJANGO_SETTINGS_MODULE, which must not leak from a
plain `python -m exchange.embedded exec -- pytest` into the command it runs.
"""
