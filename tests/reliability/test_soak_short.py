"""A seconds-long soak: churn plus traffic, then everything back to baseline."""

from __future__ import annotations

from bench.soak import soak


async def test_churn_leaves_no_connections_channels_fds_or_tasks_behind() -> None:
    result = await soak(seconds=6, concurrency=30, trigger_rate=40, quiet=True)
    assert result.connections_opened > 300, result
    assert result.messages_received > 0
    assert result.connections_left == 0 and result.channels_left == 0
    assert result.fd_growth <= 3, result
    assert result.task_growth <= 3, result
    assert result.rss_growth_bytes < 15 * 1024 * 1024, result
