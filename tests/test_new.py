"""`advisor new`: an exercise with objectives and players, injects, every answer checked at once,
and no file overwritten without asking."""

import json

import pytest

THREAT = [
    "Missiles over the Sea of Japan",
    "missile launch",
    "korean_peninsula",
    "PRK, Japan",
    "japan_territory",
    "state",
    "moderate",
    "ballistic missiles",
    "",
]
EXERCISE = [
    "y",
    "Exercise Morning Calm",
    "Policy planning staff",
    "Day 1",
    "",
    "Invoke the alliance frameworks",
    "4, 99",
    "4, 7",  # 99 is no recommendation: asked again
    "Coordinate the ministries",
    "14",
    "",
    "MOFA Asia desk",
    "Ministry of Foriegn Affairs",
    "Ministry of Foreign Affairs",
    "Defense desk",
    "defense_agency",
    "",
]
INJECTS = [
    "North Korea announces a nuclear test",
    "Seismic stations confirm it.",
    "D+1 07:00",
    "news report",
    "Simulated news agency",
    "All players",
    "O1, O9",
    "O1",  # O9 is no objective
    "type, severity, colour",
    "type, severity, attributes",  # an inject cannot change 'colour'
    "wmd proliferation",
    "high",
    "nuclear, -ballistic_missiles",
    "",
    "The crisis ends",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "5",
    "all",  # stage 5 is not before it
    "",
]


def answers(*parts):
    return "\n".join(a for part in parts for a in part) + "\n"


@pytest.mark.slow
def test_new_exercise_with_injects(invoke, tmp_path):
    target = tmp_path / "exercise.json"
    result = invoke(["new", "-o", target], input=answers(THREAT, EXERCISE, INJECTS))
    err = result.stderr
    assert "Error: no recommendation '99' in the document (1 to 15)" in err
    assert "Error: unknown agency 'Ministry of Foriegn Affairs' (did you mean 'ministry_of_foreign_affairs'?)" in err
    assert "Error: no objective 'O9' (did you mean one of 'O1', 'O2'?)" in err
    assert "Error: an inject cannot change 'colour'" in err
    assert "Error: give stages 0 to 1 (0 is the start), or 'all'" in err
    data = json.loads(target.read_text())
    assert data["exercise"] == {
        "name": "Exercise Morning Calm",
        "sponsor": "Policy planning staff",
        "dates": "Day 1",
        "marking": "FOR EXERCISE USE ONLY",
        "objectives": [
            {"id": "O1", "text": "Invoke the alliance frameworks", "recommendations": [4, 7]},
            {"id": "O2", "text": "Coordinate the ministries", "recommendations": [14]},
        ],
        "players": [
            {"role": "MOFA Asia desk", "agency": "ministry_of_foreign_affairs"},
            {"role": "Defense desk", "agency": "defense_agency"},
        ],
    }
    first, second = data["injects"]
    assert first == {
        "title": "North Korea announces a nuclear test",
        "description": "Seismic stations confirm it.",
        "changes": {
            "type": "wmd_proliferation",
            "severity": "high",
            "attributes": {"ballistic_missiles": False, "nuclear": True},
        },
        "time": "D+1 07:00",
        "delivery": "news report",
        "from": "Simulated news agency",
        "to": "All players",
        "objectives": ["O1"],
    }
    assert second == {"title": "The crisis ends", "description": None, "changes": {}, "resolves": "all"}
    assert invoke(["validate", target]).stdout.endswith("ok (missile_launch)\n")
    assess = json.loads(invoke(["assess", target]).stdout)
    assert [s["title"] for s in assess["stages"]] == ["North Korea announces a nuclear test", "The crisis ends"]


def test_new_without_exercise_or_injects(invoke):
    out = invoke(["new"], input=answers(THREAT, ["n", ""])).stdout
    data = json.loads(out)
    assert "exercise" not in data and "injects" not in data and data["id"] == "missiles_over_the_sea_of_japan"


def test_answers_that_stop_before_the_optional_parts(invoke):
    """A script of answers may end after the threat: no exercise, no injects."""
    data = json.loads(invoke(["new"], input=answers(THREAT)).stdout)
    assert data["type"] == "missile_launch" and "exercise" not in data


def test_text_too_long_is_asked_again(invoke):
    long = "x" * 61
    result = invoke(["new"], input=answers(THREAT, ["n", "An inject", "", long, "D+1", "", "", "", "", "", ""]))
    assert "Error: at most 60 characters, got 61" in result.stderr
    assert json.loads(result.stdout)["injects"][0]["time"] == "D+1"


# --- never overwrite without asking -----------------------------------------------------------------


@pytest.fixture()
def existing(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text("keep me\n")
    return path


def test_existing_file_with_answers_from_a_pipe_is_refused(invoke, existing):
    result = invoke(["new", "-o", existing], exit_code=2, input=answers(THREAT))
    assert result.stderr == (
        f"error: {existing}: -o: the file exists; advisor new overwrites a file only when "
        "asked to: give --force, or another -o\n"
    )
    assert existing.read_text() == "keep me\n"


def test_existing_file_with_force(invoke, existing):
    invoke(["new", "-o", existing, "--force"], input=answers(THREAT))
    assert json.loads(existing.read_text())["type"] == "missile_launch"


@pytest.fixture()
def at_a_terminal(monkeypatch):
    monkeypatch.setattr("advisor.interactive.stdin_is_terminal", lambda: True)


def test_existing_file_asks_first_and_no_keeps_it(invoke, existing, at_a_terminal):
    result = invoke(["new", "-o", existing], exit_code=1, input="\n" + answers(THREAT))
    assert f"overwrite {existing}? [y/N]" in result.stderr
    assert f"advisor: {existing} left as it was; nothing written" in result.stderr
    assert "Title" not in result.stderr  # asked before the questions: no answers wasted
    assert existing.read_text() == "keep me\n"


def test_existing_file_asks_first_and_yes_overwrites(invoke, existing, at_a_terminal):
    invoke(["new", "-o", existing], input="y\n" + answers(THREAT))
    assert json.loads(existing.read_text())["type"] == "missile_launch"


def test_a_file_that_appears_meanwhile_is_asked_about(invoke, tmp_path, at_a_terminal, monkeypatch):
    target = tmp_path / "late.json"
    import advisor.interactive as interactive

    real = interactive.ask_descriptor

    def and_meanwhile(*args):
        out = real(*args)
        target.write_text("someone else's\n")
        return out

    monkeypatch.setattr(interactive, "ask_descriptor", and_meanwhile)
    result = invoke(["new", "-o", target], exit_code=1, input=answers(THREAT) + "n\n")
    assert f"overwrite {target}? [y/N]" in result.stderr and target.read_text() == "someone else's\n"


def test_a_link_is_refused_before_the_questions(invoke, tmp_path):
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = invoke(["new", "-o", link, "--force"], exit_code=2, input=answers(THREAT))
    assert "is a symbolic link" in result.stderr and "Title" not in result.stderr and not real.exists()
