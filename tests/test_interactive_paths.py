"""`advisor new`'s questions one by one: each check's answer and message, and each part of the
dialogue (threat, exercise, injects) run on a script of answers through click's own prompt."""

from __future__ import annotations

import functools
import io
import sys

import click
import pytest
from click.testing import CliRunner

from advisor import interactive
from advisor.errors import InputError
from advisor.models import MAX_INJECTS, MAX_LIST


@pytest.fixture(scope="module")
def catalog(rulebase):
    return rulebase.catalog


def refused(check, text: str) -> str:
    with pytest.raises(click.BadParameter) as caught:
        check(text)
    return caught.value.message


def dialogue(part, catalog, answers: list[str], *args):
    """Run one part of the dialogue with click.prompt reading `answers`: (result, stderr, what was said)."""
    runner = CliRunner()
    said: list[str] = []
    with runner.isolation(input="".join(a + "\n" for a in answers)) as (_, err, _):
        result = part(catalog, functools.partial(click.prompt, err=True), said.append, *args)
        return result, err.getvalue().decode(), said


# --- the checks -------------------------------------------------------------------------------


def test_one_value_resolves_aliases_and_names_the_nearest(catalog):
    must = interactive._one(catalog, "type", optional=False)
    assert must(" Piracy ") == "piracy"
    assert refused(must, "") == "an answer is needed"
    assert refused(must, "pirazy") == "unknown type 'pirazy' (did you mean 'piracy'?)"
    assert interactive._one(catalog, "region", optional=True)("  ") is None


def test_many_values_are_deduplicated_and_sorted(catalog):
    states = interactive._many(catalog, "states")
    assert states("KOR, jpn; JPN") == ["JPN", "KOR"]
    assert states("") == []
    assert (
        refused(interactive._many(catalog, "targets"), "shpping")
        == "unknown target 'shpping' (did you mean 'shipping'?)"
    )


def test_attributes_hold_and_are_sorted(catalog):
    check = interactive._attributes(catalog)
    assert check("nuclear; ballistic missiles") == {"ballistic_missiles": True, "nuclear": True}
    assert refused(check, "nucular") == "unknown attribute 'nucular' (did you mean 'nuclear'?)"


def test_text_limits_and_required(catalog):
    assert interactive._text(5)("  ") is None
    assert interactive._text(5)(" abc ") == "abc"
    assert refused(interactive._text(5), "toolong") == "at most 5 characters, got 7"
    assert refused(interactive._text(5, optional=False), " ") == "an answer is needed"


@pytest.mark.parametrize(("text", "answer"), [("Y", True), ("yes", True), ("", False), (" N ", False), ("no", False)])
def test_yes_no(text, answer):
    assert interactive._yes_no(text) is answer


def test_yes_no_refuses_anything_else():
    assert refused(interactive._yes_no, "maybe") == "answer y or n"


def test_recommendation_numbers_are_the_documents(catalog):
    check = interactive._numbers(catalog)
    assert check("3 1,3") == [1, 3]
    assert refused(check, "0") == "no recommendation '0' in the document (1 to 15)"
    assert refused(check, "two") == "no recommendation 'two' in the document (1 to 15)"


def test_agency_by_id_name_or_short_name(catalog):
    check = interactive._agency(catalog)
    assert check("") is None
    assert check("MOFA") == "ministry_of_foreign_affairs"
    assert check("defense agency") == "defense_agency"
    assert check("maritime_safety_agency") == "maritime_safety_agency"
    assert refused(check, "Defence Agensy") == "unknown agency 'Defence Agensy' (did you mean 'defense_agency'?)"
    far = refused(check, "zzzzzzz")  # nothing close by name: the nearest ids are offered
    assert far.startswith("unknown agency 'zzzzzzz' (did you mean one of ") and "'defense_agency'" in far


def test_objective_ids_keep_their_order_once_each():
    check = interactive._ids(["O1", "O2"])
    assert check("O2 O1, O2") == ["O2", "O1"]
    assert refused(check, "O3").startswith("no objective 'O3' (did you mean ")


def test_stages_before_the_inject_or_all():
    check = interactive._stages(3)
    assert check(" ALL ") == "all"
    assert check("2,0 2") == [0, 2]
    assert check("") == []
    for bad in ("3", "x", "-1"):
        assert refused(check, bad) == "give stages 0 to 2 (0 is the start), or 'all'"


def test_fields_an_inject_can_change():
    assert interactive._fields("Type, type states") == ["type", "states"]
    assert interactive._fields("") == []
    assert refused(interactive._fields, "colour").startswith("an inject cannot change 'colour' (did you mean ")


def test_signed_attributes(catalog):
    check = interactive._signed_attributes(catalog)
    assert check("-nuclear, ballistic missiles") == {"ballistic_missiles": True, "nuclear": False}
    assert refused(check, " , ") == "name at least one attribute"
    assert refused(check, "-nucular") == "unknown attribute 'nucular' (did you mean 'nuclear'?)"


def test_menu_lists_keys_with_at_most_four_aliases(catalog):
    types = catalog.vocabulary.types
    menu = interactive._menu(types).splitlines()
    assert len(menu) == len(types)
    for line, (key, entry) in zip(menu, types.items()):
        aliases = entry.aliases[:4]
        assert line == f"  {key}" + (f"  ({', '.join(aliases)})" if aliases else "")
    assert interactive._menu(types, with_aliases=False).splitlines() == [f"  {key}" for key in types]


# --- the parts of the dialogue ------------------------------------------------------------------


def test_or_end_takes_the_end_of_input_as_the_default_but_not_an_interrupt():
    def ended(*args, **kwargs):
        raise click.Abort()

    assert interactive._or_end(ended, "Q", default="n") == "n"

    def interrupted(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise click.Abort() from None

    with pytest.raises(click.Abort):
        interactive._or_end(interrupted, "Q", default="n")


def test_no_exercise(catalog):
    assert dialogue(interactive.ask_exercise, catalog, ["n"])[0] is None
    assert dialogue(interactive.ask_exercise, catalog, [])[0] is None  # the answers ended: no exercise


def test_exercise_with_a_marking_of_its_own_and_an_invalid_answer_asked_again(catalog):
    answers = ["perhaps", "y", "", "Exercise Blue", "", "", "SECRET//EXERCISE", "", "Planner", "JDA", ""]
    exercise, err, said = dialogue(interactive.ask_exercise, catalog, answers)
    assert exercise == {
        "name": "Exercise Blue",
        "marking": "SECRET//EXERCISE",
        "players": [{"role": "Planner", "agency": "defense_agency"}],
    }
    assert "Error: answer y or n" in err
    assert err.count("Exercise name: ") == 2  # a name is needed: asked again
    assert said[0] == "Objectives: each tied to the recommendations it tests (1 to 15)."


def test_exercise_player_without_an_agency(catalog):
    answers = ["y", "Exercise Blue", "", "", "", "", "Observer", ""]
    exercise, _, _ = dialogue(interactive.ask_exercise, catalog, answers)
    assert exercise == {"name": "Exercise Blue", "players": [{"role": "Observer"}]}


def test_exercise_objectives_stop_at_the_limit(catalog):
    objectives = [a for n in range(MAX_LIST) for a in (f"Objective {n + 1}", "")]
    answers = ["y", "Exercise Long", "", "", "", *objectives, ""]
    exercise, err, _ = dialogue(interactive.ask_exercise, catalog, answers)
    assert len(exercise["objectives"]) == MAX_LIST
    assert exercise["objectives"][-1] == {"id": f"O{MAX_LIST}", "text": f"Objective {MAX_LIST}", "recommendations": []}
    assert f"Objective O{MAX_LIST + 1}" not in err  # not asked for more than a descriptor may hold
    assert "players" not in exercise


def test_exercise_players_stop_at_the_limit(catalog):
    players = [a for n in range(MAX_LIST) for a in (f"Player {n + 1}", "")]
    answers = ["y", "Exercise Crowded", "", "", "", "", *players, "One too many"]
    exercise, err, _ = dialogue(interactive.ask_exercise, catalog, answers)
    assert exercise["players"] == [{"role": f"Player {n + 1}"} for n in range(MAX_LIST)]
    assert f"Player {MAX_LIST + 1} role" not in err


def test_injects_changing_every_kind_of_field(catalog):
    answers = [
        "Escalation",  # title
        "",
        "",
        "",
        "",
        "",  # description, time, delivery, from, to skipped
        "O1",  # objectives
        "region, states, targets, actor, severity",
        "malacca strait",
        "IDN, MYS",
        "shipping",
        "state",
        "high",
        "",  # resolves nothing
        "",  # no more injects
    ]
    injects, err, _ = dialogue(interactive.ask_injects, catalog, answers, ["O1"])
    assert injects == [
        {
            "title": "Escalation",
            "objectives": ["O1"],
            "changes": {
                "region": "malacca_strait",
                "states": ["IDN", "MYS"],
                "targets": ["shipping"],
                "actor": "state",
                "severity": "high",
            },
        }
    ]
    assert "Objectives it tests: O1" in err


def test_injects_without_objectives_are_not_asked_about_them(catalog):
    injects, err, _ = dialogue(interactive.ask_injects, catalog, ["Calm", "", "", "", "", "", "", "", ""], [])
    assert injects == [{"title": "Calm", "changes": {}}]
    assert "Objectives it tests" not in err


def test_injects_stop_at_the_limit(catalog):
    one = ["Inject", "", "", "", "", "", "", ""]
    injects, err, _ = dialogue(interactive.ask_injects, catalog, one * (MAX_INJECTS + 1), [])
    assert len(injects) == MAX_INJECTS
    assert f"Inject {MAX_INJECTS + 1} title" not in err


def test_descriptor_with_every_threat_field(catalog):
    answers = ["", "piracy", "malacca strait", "IDN", "shipping", "", "", "", "", "n", ""]
    raw, err, said = dialogue(interactive.ask_descriptor, catalog, answers)
    assert raw == {
        "id": "piracy",  # from the type when there is no title
        "type": "piracy",
        "region": "malacca_strait",
        "states": ["IDN"],
        "targets": ["shipping"],
        "actor": "unknown",
        "severity": "moderate",
    }
    assert said[0] == "Threat types (aliases in brackets):" and said[2] == "Regions:"


def test_descriptor_id_from_a_title_of_symbols_only(catalog):
    raw, _, _ = dialogue(interactive.ask_descriptor, catalog, ["!!!", "piracy", "", "", "", "", "", "", ""])
    assert raw["id"] == "threat" and raw["title"] == "!!!"


# --- where the answers come from, and whether a file may be written ------------------------------


def test_stdin_is_terminal_follows_stdin(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    assert interactive.stdin_is_terminal() is True
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    assert interactive.stdin_is_terminal() is False
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdin", closed)  # isatty on a closed stream raises ValueError
    assert interactive.stdin_is_terminal() is False
    monkeypatch.setattr(sys, "stdin", None)  # no standard input at all (pythonw, a daemon)
    assert interactive.stdin_is_terminal() is False


def test_may_write_a_new_file_without_asking(tmp_path):
    def never(question):
        raise AssertionError(question)

    assert interactive.may_write(str(tmp_path / "new.json"), False, never) is True


def test_may_write_an_existing_file_asks_a_person(tmp_path, monkeypatch):
    existing = tmp_path / "old.json"
    existing.write_text("{}")
    monkeypatch.setattr(interactive, "stdin_is_terminal", lambda: True)
    asked = []
    assert interactive.may_write(str(existing), False, lambda q: asked.append(q) or False) is False
    assert asked == [f"overwrite {existing}?"]
    assert interactive.may_write(str(existing), True, lambda q: asked.append(q) or False) is True
    assert len(asked) == 1  # --force asks no one


def test_may_write_an_existing_file_from_a_pipe_is_refused(tmp_path, monkeypatch):
    existing = tmp_path / "old.json"
    existing.write_text("{}")
    monkeypatch.setattr(interactive, "stdin_is_terminal", lambda: False)
    with pytest.raises(InputError) as caught:
        interactive.may_write(str(existing), False, lambda q: True)
    assert caught.value.render() == (
        f"{existing}: -o: the file exists; advisor new overwrites a file only when asked to: give --force, or another -o"
    )
