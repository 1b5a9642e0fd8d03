"""Labels and bulk actions through the API, on SQLite and PostgreSQL: the owner and admins
manage labels, any agent puts them on chats; the inbox filters and searches by label; bulk
actions change each selected chat on its own and say what happened to each."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.chatapp.procs import Api, ChatappProcess
from tests.chatapp.test_team import error_of, staff

# Staff accounts made by the CLI (a second each) on both databases: in `make test`, not `make test-fast`.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def team(chat: ChatappProcess) -> tuple[Api, Api, Api]:
    """An admin and two agents, made once per database (the CLI takes a second each)."""
    return staff(chat, "admin"), staff(chat, "agent"), staff(chat, "agent", "Helper")


def rooms(agent: Api, **params: Any) -> dict[str, Any]:
    return agent.ok("GET", "/api/admin/chat/rooms", params={"filter": "all", "per_page": 100, **params})  # type: ignore[no-any-return]


def ids(page: dict[str, Any]) -> list[int]:
    return [r["id"] for r in page["data"]]


def test_managers_define_labels_and_agents_put_them_on_chats(
    team: tuple[Api, Api, Api], new_guest: Callable[..., Api]
) -> None:
    manager, agent, _ = team
    name = f"Billing {time.time_ns() % 10**9}"
    assert error_of(agent.post("/api/admin/labels", {"name": name, "color": "#2f80ed"}), 403) == "manager_only"
    label = manager.ok("POST", "/api/admin/labels", {"name": f"  {name} ", "color": "#2F80ED"}, status=201)["label"]
    assert (label["name"], label["color"]) == (name, "#2f80ed")
    taken = manager.post("/api/admin/labels", {"name": name.upper(), "color": "#000000"})
    assert error_of(taken, 409) == "label_exists"
    assert manager.post("/api/admin/labels", {"name": name + "x", "color": "red"}).status_code == 422
    assert manager.post("/api/admin/labels", {"name": "x" * 41, "color": "#000000"}).status_code == 422
    assert label["id"] in [x["id"] for x in agent.ok("GET", "/api/admin/labels")["data"]]

    visitor = new_guest("Lara Labelled")
    labelled = visitor.send("my invoice is wrong")["room"]["id"]
    other = new_guest("Otto Other").send("my invoice is fine")["room"]["id"]
    path = f"/api/admin/chat/rooms/{labelled}/labels"
    assert agent.ok("POST", path, {"label_id": label["id"]}) == {"room_id": labelled, "labels": [label["id"]]}
    assert agent.ok("POST", path, {"label_id": label["id"]})["labels"] == [label["id"]]  # once only
    assert error_of(agent.post(path, {"label_id": 999_999_999}), 404) == "label_not_found"
    assert error_of(agent.post("/api/admin/chat/rooms/999999999/labels", {"label_id": label["id"]}), 404)

    # The inbox filters by label, and searches among a label's chats.
    page = rooms(agent, label=label["id"])
    assert ids(page) == [labelled] and page["meta"]["total"] == 1 and page["data"][0]["labels"] == [label["id"]]
    found = rooms(agent, label=label["id"], q="invoice")
    assert ids(found) == [labelled] and {labelled, other} <= set(ids(rooms(agent, q="invoice")))
    assert rooms(agent, label=label["id"], filter="resolved")["meta"]["total"] == 0
    # ...and the search box names a label too, alone or with words.
    assert ids(rooms(agent, q=f'label:"{name.lower()}"')) == [labelled]
    assert ids(rooms(agent, q=f'invoice label:"{name}"')) == [labelled]
    assert ids(rooms(agent, q=f'label:"{name}" fine')) == []
    assert rooms(agent, q="label:no-such-label")["meta"]["total"] == 0
    assert error_of(agent.get("/api/admin/chat/rooms", params={"label": 999_999_999}), 404) == "label_not_found"
    assert agent.get("/api/admin/chat/rooms", params={"label": "billing"}).status_code == 422
    assert agent.ok("GET", f"/api/admin/chat/rooms/{labelled}")["room"]["labels"] == [label["id"]]
    assert "labels" not in visitor.ok("GET", f"/api/chat/rooms/{labelled}")["room"]  # support's own

    renamed = manager.ok("PATCH", f"/api/admin/labels/{label['id']}", {"name": name + " (old)"})["label"]
    assert (renamed["name"], renamed["color"]) == (name + " (old)", "#2f80ed")
    assert error_of(agent.request("PATCH", f"/api/admin/labels/{label['id']}", {"color": "#000000"}), 403)
    assert error_of(manager.request("PATCH", "/api/admin/labels/999999999", {"color": "#000000"}), 404)

    assert agent.ok("DELETE", f"{path}/{label['id']}") == {"room_id": labelled, "labels": []}
    agent.ok("POST", path, {"label_id": label["id"]})
    assert manager.ok("DELETE", f"/api/admin/labels/{label['id']}") == {"removed": 1}
    entry = manager.ok("GET", "/api/admin/audit", params={"limit": 1})["data"][0]
    assert (entry["action"], entry["target"], entry["details"]) == (
        "label.delete", {"type": "label", "id": label["id"]}, {"rooms": 1})
    assert error_of(manager.request("DELETE", f"/api/admin/labels/{label['id']}"), 404) == "label_not_found"
    assert agent.ok("GET", f"/api/admin/chat/rooms/{labelled}")["room"]["labels"] == []


def test_bulk_actions_change_each_selected_chat(
    chat: ChatappProcess, team: tuple[Api, Api, Api], new_guest: Callable[..., Api]
) -> None:
    manager, agent, helper = team
    label = manager.ok("POST", "/api/admin/labels", {"name": f"Bulk {time.time_ns() % 10**9}", "color": "#27ae60"},
                       status=201)["label"]
    first, second, third = (new_guest(f"Bulk {i}").send(f"bulk {i}")["room"]["id"] for i in range(3))
    bulk = "/api/admin/chat/rooms/bulk"

    done = agent.ok("POST", bulk, {"room_ids": [first, second], "action": "label", "label_id": label["id"]})
    assert done["results"] == [{"room_id": first, "ok": True}, {"room_id": second, "ok": True}]
    assert sorted(ids(rooms(agent, label=label["id"]))) == sorted([first, second])

    assigned = agent.ok("POST", bulk, {"room_ids": [first, second, 999_999_999], "action": "assign",
                                       "admin_id": helper.id})["results"]
    assert [(r["room_id"], r["ok"]) for r in assigned] == [(first, True), (second, True), (999_999_999, False)]
    assert assigned[2]["error"] and assigned[2]["message"]
    for room_id in (first, second):
        assert agent.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["assigned_admin"]["id"] == helper.id

    resolved = agent.ok("POST", bulk, {"room_ids": [first, third], "action": "resolve"})["results"]
    assert all(r["ok"] for r in resolved)
    again = agent.ok("POST", bulk, {"room_ids": [first], "action": "resolve"})["results"]
    assert again[0]["ok"] is False and again[0]["error"] == "invalid_state"
    assert agent.ok("GET", f"/api/admin/chat/rooms/{second}")["room"]["status"] == "assigned"

    # What is wrong with the request itself refuses it whole, before any chat changes.
    visitor_id = new_guest("Not staff").user["id"]
    refused = agent.post(bulk, {"room_ids": [second], "action": "assign", "admin_id": visitor_id})
    assert error_of(refused, 422) == "not_an_admin"
    assert error_of(agent.post(bulk, {"room_ids": [second], "action": "label"}), 422)
    assert error_of(agent.post(bulk, {"room_ids": [second], "action": "label", "label_id": 999_999_999}), 404) \
        == "label_not_found"
    assert agent.post(bulk, {"room_ids": [], "action": "resolve"}).status_code == 422
    assert agent.post(bulk, {"room_ids": [second], "action": "delete"}).status_code == 422
    assert agent.post(bulk, {"room_ids": list(range(1, 102)), "action": "resolve"}).status_code == 422
    assert agent.ok("GET", f"/api/admin/chat/rooms/{second}")["room"]["status"] == "assigned"
    assert error_of(Api(chat.base_url).post(bulk, {"room_ids": [second], "action": "resolve"}), 401)
