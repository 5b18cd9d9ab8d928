"""The engine's adaptive batch limit (trading.matching.BatchSizer), on the figures a worker feeds it."""

from __future__ import annotations

from trading.matching import BatchSizer

FIXED_MS, PER_COMMAND_MS = 12.0, 0.06  # about what a durable batch costs on the development machine


def batch_ms(commands: int) -> float:
    return FIXED_MS + PER_COMMAND_MS * commands


def test_under_a_backlog_the_limit_grows_until_a_batch_takes_about_the_target() -> None:
    sizer = BatchSizer(target_ms=100, minimum=50, maximum=5000)
    for _ in range(40):  # a backlog: every batch is cut short by the limit
        sizer.record(sizer.limit, batch_ms(sizer.limit))
    # (100 - 12) / 0.06 = 1,466 commands fit in 100 ms: the limit closes in on that from below
    assert 1400 <= sizer.limit <= 1467
    limits = []
    for _ in range(20):
        sizer.record(sizer.limit, batch_ms(sizer.limit))
        limits.append(sizer.limit)
    assert all(batch_ms(limit) <= 100.1 for limit in limits)  # and stays there: no batch overshoots


def test_a_slow_batch_shrinks_the_limit_to_what_would_have_fit() -> None:
    sizer = BatchSizer(target_ms=100, minimum=50, maximum=5000)
    sizer.limit = 2000
    sizer.record(2000, 400.0)  # a batch four times too slow (a slow disk, a big sweep of the book)
    assert sizer.limit == 500
    sizer.record(10, 1000.0)  # never below the minimum
    assert sizer.limit == 50


def test_light_load_leaves_the_limit_alone_and_it_never_passes_the_maximum() -> None:
    sizer = BatchSizer(target_ms=100, minimum=50, maximum=300)
    for _ in range(10):
        sizer.record(3, batch_ms(3))  # a few commands at a time: the limit did not cut anything short
    assert sizer.limit == 50
    for _ in range(20):
        sizer.record(sizer.limit, 1.0)
    assert sizer.limit == 300
