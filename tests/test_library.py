"""The library API a notebook uses: `advisor.assess` on a dict, a path or a descriptor, the models
and the exceptions importable from `advisor`, and the package docstring's example."""

from __future__ import annotations

import doctest
import json

import pytest

import advisor

from conftest import THREATS

PIRACY = THREATS / "malacca_piracy.json"


def test_assess_takes_a_dict_a_path_or_a_descriptor_and_answers_the_same(rulebase):
    raw = json.loads(PIRACY.read_text())
    by_path = advisor.assess(PIRACY)
    by_str = advisor.assess(str(PIRACY))
    by_dict = advisor.assess({**raw, "id": "malacca_piracy"})
    by_descriptor = advisor.assess(advisor.load_threat(PIRACY, rulebase), rulebase)
    assert by_path.to_data() == by_str.to_data() == by_dict.to_data() == by_descriptor.to_data()


def test_names_and_aliases_work_in_a_dict_as_in_a_file():
    a = advisor.assess({"type": "Cyber attack", "states": ["North Korea", "Japan"]})
    assert a.threat["type"] == "cyber_attack" and a.threat["states"] == ["JPN", "PRK"]


def test_bad_input_raises_the_exported_error_naming_field_and_nearest_value():
    with pytest.raises(advisor.InputError) as caught:
        advisor.assess({"type": "piracyy"})
    assert "type" in caught.value.render() and "did you mean 'piracy'" in caught.value.render()
    with pytest.raises(advisor.InputError, match="not int"):
        advisor.assess(42)
    assert issubclass(advisor.InputError, advisor.AdvisorError)


def test_every_exported_name_is_importable():
    for name in advisor.__all__:
        assert getattr(advisor, name) is not None, name
    assert "Assessment" in dir(advisor) and isinstance(advisor.assess(PIRACY), advisor.Assessment)
    with pytest.raises(AttributeError):
        advisor.no_such_name  # noqa: B018


def test_the_package_docstring_example_runs():
    failures, tried = doctest.testmod(advisor, verbose=False)
    assert tried >= 3 and failures == 0
