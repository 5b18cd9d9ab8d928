"""Where TimescaleDB is loaded (the docker-compose database), minute candles become a hypertable.

Elsewhere (plain PostgreSQL, the embedded server) this does nothing: the table and the API are the
same either way, and `trading.marketdata` buckets with `time_bucket` or `date_bin` accordingly.
"""

from django.db import migrations

FORWARD = """
DO $$
BEGIN
    IF current_setting('shared_preload_libraries', true) LIKE '%timescaledb%'
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        PERFORM create_hypertable('trading_candle', 'start', chunk_time_interval => INTERVAL '7 days',
                                  migrate_data => true, if_not_exists => true);
    END IF;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("trading", "0002_candles")]

    operations = [migrations.RunSQL(FORWARD, migrations.RunSQL.noop)]
