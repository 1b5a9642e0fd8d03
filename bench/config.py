"""How big each scenario is: the full manual run, and the seconds-long smoke."""

from __future__ import annotations

from dataclasses import dataclass

from bench.pinning import LOAD_CPUS

__all__ = ["BenchConfig", "FULL", "SMOKE", "LATENCY_BUDGET_MS"]

LATENCY_BUDGET_MS = 20.0  # the knee: where p99 trigger->delivery leaves this


@dataclass(frozen=True)
class BenchConfig:
    name: str
    agents: int  # client agent processes (plus one trigger agent)
    step_seconds: float
    # fan-out: (channels, subscribers per channel) and offered deliveries/s per step
    fanout_shapes: tuple[tuple[int, int], ...]
    fanout_rates: tuple[int, ...]
    trigger_concurrency: int
    # connections
    connections: int
    connection_batch: int
    idle_seconds: float
    # client events: pairs and total whispers/s per step
    pairs: int
    whisper_rates: tuple[int, ...]
    # HTTP API
    api_seconds: float
    api_concurrency: int
    repeat: int = 1
    quiet_wait: float = 90.0  # seconds to wait for other work on the machine to settle
    # connections: the channels' kind, by prefix ("", "private-", "presence-")
    channel_prefix: str = ""
    # reconnect storm: clients that reconnect at once, steady subscribers measured meanwhile
    # (one publish every 1000 / storm_steady_rate ms), and the publish window
    storm_clients: int = 9_000
    storm_steady: int = 20
    storm_steady_rate: int = 200
    storm_channel_rate: int = 100  # round the audience's channels: 1/s each at 100 channels
    storm_seconds: float = 25.0  # long enough to cover the slowest storms seen here (23 s)


FULL = BenchConfig(
    name="full",
    # One client agent per load core: more processes than cores only add context
    # switches (four on one core cut the 1000x1 ceiling by 13-27 %).
    agents=max(1, len(LOAD_CPUS)),
    step_seconds=2.0,
    fanout_shapes=((1, 1000), (100, 10), (1000, 1)),
    fanout_rates=(2_000, 5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000,
                  130_000, 160_000, 200_000, 250_000),
    trigger_concurrency=16,
    connections=10_000,
    connection_batch=1_000,
    idle_seconds=10.0,
    pairs=100,
    whisper_rates=(500, 1_000, 2_000, 4_000, 8_000, 16_000, 24_000, 32_000, 48_000, 64_000, 80_000, 100_000),
    api_seconds=5.0,
    api_concurrency=16,
)

SMOKE = BenchConfig(
    name="smoke",
    agents=2,
    step_seconds=0.6,
    fanout_shapes=((1, 40), (8, 5)),
    fanout_rates=(400, 1_000),
    trigger_concurrency=4,
    connections=200,
    connection_batch=100,
    idle_seconds=1.0,
    pairs=8,
    whisper_rates=(100, 300),
    api_seconds=1.0,
    api_concurrency=4,
    quiet_wait=0.0,
    storm_clients=300,
    storm_steady=5,
    storm_channel_rate=100,
    storm_seconds=1.5,
)
