"""The pre-chat form's rules (chatapp.prechat), without a server: labels, answers, stored forms."""

from __future__ import annotations

import pytest

from chatapp.errors import BadRequest
from chatapp.prechat import check_answers, parse_form, pick_label

LOCALES = ("en", "fr", "uk")


def test_a_label_is_the_reader_language_then_english_then_the_first() -> None:
    label = {"fr": "Sujet", "en": "Topic"}
    assert pick_label(label, "fr") == "Sujet"
    assert pick_label(label, "fr-CA") == "Sujet"
    assert pick_label(label, "uk") == "Topic"
    assert pick_label({"uk": "Тема", "fr": "Sujet"}, "de") == "Тема"
    assert pick_label("Topic", "uk") == "Topic"


def test_answers_are_stored_as_text() -> None:
    form = parse_form(True, [
        {"type": "number", "key": "order", "label": "Order"},
        {"type": "checkbox", "key": "news", "label": "News"},
        {"type": "email"},
        {"type": "text", "key": "note", "label": "Note"},
    ], LOCALES)
    stored = check_answers(form.fields, {"order": "1042,50", "news": False,
                                         "email": " Ada@Example.COM ", "note": "  "})
    assert stored == {"order": "1042.5", "news": "false", "email": "ada@example.com"}
    assert check_answers(form.fields, {"order": 7.0})["order"] == "7"
    for bad in (float("inf"), True, "1e400", "12abc"):
        with pytest.raises(BadRequest) as refused:
            check_answers(form.fields, {"order": bad})
        assert refused.value.extra["problems"] == {"order": "number"}


def test_a_required_checkbox_must_be_ticked_and_only_true_or_false_is_a_tick() -> None:
    form = parse_form(True, [{"type": "checkbox", "key": "terms", "label": "Terms", "required": True}], LOCALES)
    assert check_answers(form.fields, {"terms": True}) == {"terms": "true"}
    for value, problem in ((False, "required"), (None, "required"), ("yes", "checkbox")):
        with pytest.raises(BadRequest) as refused:
            check_answers(form.fields, {"terms": value})
        assert refused.value.extra["problems"] == {"terms": problem}


def test_a_stored_form_reads_even_when_a_language_has_gone() -> None:
    fields = [{"type": "text", "key": "plan", "label": {"de": "Tarif", "en": "Plan"}}]
    with pytest.raises(BadRequest) as refused:
        parse_form(True, fields, LOCALES)  # set through the API: German is not on offer
    assert refused.value.extra["field"] == "fields[0].label"
    assert parse_form(True, fields, None).fields[0].label_in("de") == "Tarif"  # read from the database


def test_a_form_that_is_on_needs_a_field_and_one_that_is_off_may_be_empty() -> None:
    assert parse_form(False, [], LOCALES).fields == ()
    with pytest.raises(BadRequest):
        parse_form(True, [], LOCALES)
