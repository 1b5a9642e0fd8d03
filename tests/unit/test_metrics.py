"""The node's metrics as prometheus_client writes them: escaping, both formats, the process."""

from __future__ import annotations

from collections import Counter

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from pyreverb.config import AppConfig, Settings
from pyreverb.metrics import node_registry, render
from pyreverb.server import PusherServer

AWKWARD_ID = 'support "eu"\\west\nsecond line'


def _node() -> PusherServer:
    apps = (
        AppConfig(app_id=AWKWARD_ID, key="key-1", secret="secret-1"),
        AppConfig(app_id="plain", key="key-2", secret="secret-2"),
    )
    return PusherServer(Settings(apps=apps))


def _samples(families: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}  # type: ignore[attr-defined]


def test_a_label_value_with_quotes_backslashes_and_newlines_round_trips() -> None:
    node = _node()
    node.stats.api_messages = 7
    body, media_type = render(node_registry(node, Counter({200: 3, 401: 1})))
    assert media_type.startswith("text/plain; version=0.0.4")
    samples = _samples(parse_prometheus(body.decode()))
    assert samples[("pyreverb_connections", (("app_id", AWKWARD_ID),))] == 0
    assert samples[("pyreverb_connections", (("app_id", "plain"),))] == 0
    assert samples[("pyreverb_api_messages_total", ())] == 7
    assert samples[("pyreverb_http_requests_total", (("status", "401"),))] == 1
    assert samples[("pyreverb_webhook_failures_total", (("reason", "queue_full"),))] == 0


def test_openmetrics_is_served_when_the_scraper_asks_for_it() -> None:
    node = _node()
    node.stats.connections_total = 4
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    body, media_type = render(node_registry(node, Counter()), accept)
    assert media_type.startswith("application/openmetrics-text; version=1.0.0")
    assert body.endswith(b"# EOF\n")
    samples = _samples(parse_openmetrics(body.decode()))
    assert samples[("pyreverb_connections_opened_total", ())] == 4
    assert samples[("pyreverb_channels", (("app_id", AWKWARD_ID),))] == 0
    # no status counted yet: the family still shows, at zero, so dashboards find it
    assert samples[("pyreverb_http_requests_total", (("status", "200"),))] == 0


def test_the_process_metrics_come_with_the_node() -> None:
    body, _ = render(node_registry(_node(), Counter()))
    samples = _samples(parse_prometheus(body.decode()))
    assert samples[("process_resident_memory_bytes", ())] > 0
    assert samples[("process_open_fds", ())] > 0
