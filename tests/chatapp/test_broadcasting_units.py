"""Socket-free pieces of the Broadcaster: the short-lived answer about who is on a presence channel."""

from __future__ import annotations

import asyncio

from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings


class Counting(Broadcaster):
    """Answers presence questions from a list instead of pyreverb, counting the questions."""

    def __init__(self, answers: list[set[str] | None], delay: float = 0.0) -> None:
        super().__init__(Settings.from_env({}))
        self.answers = answers
        self.delay = delay
        self.asked = 0

    async def _ask_presence(self, channel: str) -> set[str] | None:
        self.asked += 1
        answer = self.answers.pop(0)
        await asyncio.sleep(self.delay)
        return answer


def test_concurrent_callers_share_one_question_and_its_answer_is_reused_briefly() -> None:
    async def run() -> None:
        b = Counting([{"1", "2"}, {"2"}], delay=0.05)
        answers = await asyncio.gather(*(b.presence_user_ids("presence-admins", max_age=0.3) for _ in range(20)))
        assert b.asked == 1 and all(a == {"1", "2"} for a in answers)
        answers[0].discard("1")  # a caller's copy is its own
        assert await b.presence_user_ids("presence-admins", max_age=0.3) == {"1", "2"}
        assert b.asked == 1, "reused within max_age"
        await asyncio.sleep(0.4)
        assert await b.presence_user_ids("presence-admins", max_age=0.3) == {"2"}
        assert b.asked == 2, "asked again once max_age has passed"

    asyncio.run(run())


def test_without_max_age_every_call_asks_and_unknown_is_not_kept() -> None:
    async def run() -> None:
        b = Counting([{"1"}, {"3"}, None, {"4"}])
        assert await b.presence_user_ids("presence-admins") == {"1"}
        assert await b.presence_user_ids("presence-admins") == {"3"}
        assert await b.presence_user_ids("presence-admins", max_age=5) is None
        assert await b.presence_user_ids("presence-admins", max_age=5) == {"4"}, "an unknown answer is not kept"
        assert b.asked == 4

    asyncio.run(run())


def test_a_cancelled_question_leaves_the_others_with_unknown() -> None:
    async def run() -> None:
        b = Counting([{"1"}, {"2"}], delay=0.2)
        first = asyncio.create_task(b.presence_user_ids("presence-admins", max_age=1))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(b.presence_user_ids("presence-admins", max_age=1))
        await asyncio.sleep(0.01)
        first.cancel()
        assert await second is None, "the shared question was cancelled: nobody is known to be online"
        assert await b.presence_user_ids("presence-admins", max_age=1) == {"2"}

    asyncio.run(run())
