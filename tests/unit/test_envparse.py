"""The one strict environment parser behind Settings.from_env."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pyreverb.envparse import ConfigError, env_bool, env_float, env_int, env_list, env_str


@pytest.mark.parametrize("raw, expected", [("1", True), ("TRUE", True), (" on ", True), ("no", False), ("0", False)])
def test_bool_words(raw: str, expected: bool) -> None:
    assert env_bool({"FLAG": raw}, "FLAG", not expected) is expected


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_unset_or_blank_means_the_default(raw: str | None) -> None:
    env = {} if raw is None else {"X": raw}
    assert (env_bool(env, "X", True), env_int(env, "X", 7), env_float(env, "X", 1.5)) == (True, 7, 1.5)
    assert (env_str(env, "X", "d"), env_str(env, "X"), env_list(env, "X", ("*",))) == ("d", None, ("*",))


@pytest.mark.parametrize(
    "parse, raw, message",
    [
        (lambda env: env_bool(env, "X", False), "ture", "X must be true or false, got 'ture'"),
        (lambda env: env_int(env, "X", 0), "1.5", "X must be an integer, got '1.5'"),
        (lambda env: env_float(env, "X", 0.0), "soon", "X must be a number, got 'soon'"),
        (lambda env: env_float(env, "X", 0.0, non_negative=True), "-1", "X must not be negative, got '-1'"),
        (lambda env: env_float(env, "X", 1.0, positive=True), "0", "X must be positive, got '0'"),
    ],
)
def test_malformed_values_name_the_variable(parse: Callable[[dict[str, str]], object], raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"X": raw})
    assert str(caught.value) == message


def test_strings_and_lists_keep_what_was_given() -> None:
    assert env_str({"S": " secret with spaces "}, "S") == " secret with spaces "
    assert env_list({"L": "a.example, ,*.b.example,"}, "L") == ("a.example", "*.b.example")
    assert env_float({"F": "-2.5"}, "F", 0.0) == -2.5


def test_both_packages_read_the_environment_with_this_parser() -> None:
    import chatapp.config
    import pyreverb.config

    assert chatapp.config.ConfigError is pyreverb.config.ConfigError is ConfigError
    with pytest.raises(ConfigError, match="CHATAPP_PUSH_ENABLED must be true or false, got 'ture'"):
        chatapp.config.Settings.from_env({"CHATAPP_PUSH_ENABLED": "ture"})
