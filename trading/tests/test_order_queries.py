"""Placing an order by the API does the fewest queries it can: counted, so that a new one is a decision.

A limit order by JWT, once the user's ledger accounts exist, is 16 statements here (the test's own
transaction turns the service's outer one into a savepoint; in production it is BEGIN and COMMIT):
the user (the token's), the level's limits twice (the view's permission, then the service, which
pages and other callers use too), the market with its assets; then the order's insert and the
hold: the two accounts, both locked at once (the balance is checked on the locked row), the entry,
its postings and the balances, inside a savepoint of their own; and the engine's wake-up. No
session is read: a token or API-key request never touches the session store.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.tests.factories import client_for, markets, trader

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "60000", "quantity": "0.01"}


def test_placing_an_order_by_token_takes_sixteen_statements_and_no_session(db: Any) -> None:
    markets()
    client = client_for(trader("alice", USDT="100000"))
    assert client.post("/api/trading/orders", ORDER, format="json").status_code == 201  # accounts exist now
    with CaptureQueriesContext(connection) as queries:
        answer = client.post("/api/trading/orders", ORDER, format="json")
    assert answer.status_code == 201
    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if "django_session" in sql]
    locks = [sql for sql in statements if "wallets_ledgeraccount" in sql and sql.endswith("FOR UPDATE")]
    assert len(locks) == 2, locks  # the hold's lock, and the ledger's own before it posts
    assert len(statements) == 16, "\n".join(sql[:120] for sql in statements)
