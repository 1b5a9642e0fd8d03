"""Coverage-guided fuzzing (atheris, libFuzzer) of the frame decoder and the protocol session.

The hypothesis tests draw inputs blindly; atheris watches which branches of
``pyreverb.protocol`` each input reaches and mutates towards new ones. It runs in a
child process (libFuzzer owns the process and exits on the first crash), from a
seed corpus of real client frames, with a fixed seed and a bounded number of runs.
A crash is any exception other than the decoder's documented ``InvalidMessage``
escaping, or a reply that is not a Pusher event.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers.procs import ROOT, TIME_FACTOR

RUNS = 100_000
SEEDS = [
    {"event": "pusher:ping", "data": {}},
    {"event": "pusher:subscribe", "data": {"channel": "news"}},
    {"event": "pusher:subscribe", "data": {"channel": "private-a", "auth": "k:00"}},
    {"event": "pusher:subscribe", "data": {"channel": "presence-b", "auth": "k:00", "channel_data": '{"user_id":"1"}'}},
    {"event": "pusher:unsubscribe", "data": {"channel": "news"}},
    {"event": "pusher:signin", "data": {"auth": "k:00", "user_data": '{"id":"1"}'}},
    {"event": "client-typing", "channel": "private-a", "data": {"x": 1}},
    {"event": "pusher:pong", "data": "{}"},
]


EVENTS = ["pusher:subscribe", "pusher:unsubscribe", "pusher:ping", "pusher:pong", "pusher:signin",
          "client-typing", "pusher_internal:member_added"]
PREFIXES = ["", "private-", "presence-", "private-encrypted-", "cache-", "private-cache-", "presence-cache-",
            "#server-to-user-"]


def frame_from(fdp: Any, secret: str, socket_id: str) -> bytes:
    """A frame shaped like a client's, from fuzzer bytes; often correctly signed, to get past the auth checks."""
    pick = fdp.ConsumeIntInRange
    doc: dict[str, Any] = {"event": EVENTS[pick(0, len(EVENTS) - 1)] if fdp.ConsumeBool() else fdp.ConsumeUnicode(12)}
    channel = PREFIXES[pick(0, len(PREFIXES) - 1)] + fdp.ConsumeUnicode(pick(0, 12))
    user_data = json.dumps({"id": fdp.ConsumeUnicode(4), "info": {"n": fdp.ConsumeInt(2)}})
    channel_data = json.dumps({"user_id": fdp.ConsumeUnicode(4)}) if fdp.ConsumeBool() else fdp.ConsumeUnicode(16)
    data: Any = {"channel": channel}
    if fdp.ConsumeBool():
        data["channel_data"] = channel_data
    if fdp.ConsumeBool():
        data["user_data"] = user_data
    data["auth"] = fdp.ConsumeUnicode(20)
    if fdp.ConsumeBool():  # a valid signature for what the frame claims
        try:
            signature = (user_auth_signature(secret, socket_id, user_data) if doc["event"] == "pusher:signin"
                         else channel_auth_signature(secret, socket_id, channel, data.get("channel_data")))
            data["auth"] = f"k:{signature}"
        except UnicodeEncodeError:  # a lone surrogate: the server's JSON decoder refuses those anyway
            pass
    shape = pick(0, 3)
    doc["data"] = data if shape == 0 else json.dumps(data) if shape == 1 else fdp.ConsumeUnicode(8) if shape == 2 else None
    if doc["event"].startswith("client-") or fdp.ConsumeBool():
        doc["channel"] = channel
    return json.dumps(doc).encode()


def fuzz_main() -> None:
    """The child process: ``python -c 'from ... import fuzz_main; fuzz_main()' <libFuzzer flags>``."""
    import atheris

    global user_auth_signature, channel_auth_signature
    with atheris.instrument_imports(include=["pyreverb.protocol"]):
        from pyreverb.config import AppConfig
        from pyreverb.protocol.auth import channel_auth_signature, user_auth_signature
        from pyreverb.protocol.errors import InvalidMessage
        from pyreverb.protocol.messages import decode
        from pyreverb.protocol.session import PusherSession, Reply

    app = AppConfig("1", "k", "s")
    session = PusherSession(app, socket_id="1.1")  # one session: state builds up across inputs

    def one_input(raw: bytes) -> None:
        nonlocal session
        fdp = atheris.FuzzedDataProvider(raw)
        payload = frame_from(fdp, app.secret, "1.1") if fdp.ConsumeBool() else fdp.ConsumeBytes(fdp.remaining_bytes())
        try:
            decode(payload)
        except InvalidMessage:
            pass
        for action in session.receive(payload):
            if isinstance(action, Reply):
                assert isinstance(json.loads(action.frame)["event"], str)
        if len(session.channels) > 50:
            session = PusherSession(app, socket_id="1.1")

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


def test_atheris_finds_no_crash_in_the_protocol_core(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, frame in enumerate(SEEDS):
        (corpus / f"seed{i}").write_text(json.dumps(frame))
    flags = [f"-runs={RUNS}", "-seed=20240601", "-max_len=600", "-timeout=10", f"-artifact_prefix={tmp_path}/"]
    result = subprocess.run(
        [sys.executable, "-c", "from tests.reliability.test_pyreverb_atheris import fuzz_main; fuzz_main()",
         *flags, str(corpus)],
        cwd=ROOT, capture_output=True, text=True, timeout=300 * TIME_FACTOR,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    done = re.search(r"Done (\d+) runs", log)
    assert done and int(done.group(1)) >= RUNS, log[-2000:]
    coverage = re.findall(r"cov: (\d+)", log)
    assert coverage and int(coverage[-1]) > 100, "the fuzzer reached the protocol code"
