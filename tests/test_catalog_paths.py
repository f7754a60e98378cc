"""A catalog that does not hang together is refused at load time, every problem at once: each
cross-reference the catalog's files make (layers, families, members, recommendations, sections,
ids, roles, sectors, notes) checked, with the nearest valid name where there is one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import advisor
from advisor.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]


def edit(catalog: Path, name: str, change) -> None:
    path = catalog / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def damage_frameworks(d):
    alliance = d["frameworks"]["japan_us_alliance"]
    alliance.update(layer="aliances", family="nope", members=["JPN", "XXX"], cited_in=[2, 99])
    del d["frameworks"]["us_rok_alliance"]["basis"]


def damage_vocabulary(d):
    d["types"]["armed_attack"]["category"] = "nocat"
    d["regions"]["east_asia"]["within"] = ["atlantis"]
    d["derived"]["inter_state"]["note"] = "  "


def damage_agencies(d):
    office = d["agencies"]["prime_ministers_office"]
    office.update(part_of="nobody", sector="diplomcy", assigned={"leed": [99]}, basis="general_knowledge")
    office["named_in"][99] = "the ministries"
    office.pop("note", None)


def damage_questions(d):
    d["questions"][99] = ["Why?"]
    d["questions_ja"][1] = [*d["questions_ja"][1], "なぜ？"]


def damage_text_ja(d):
    d.setdefault("caveats", {})["no_such_caveat"] = "x"
    d.setdefault("recommendations", {})[99] = "x"
    d["vocabulary"]["nosection"] = {"a": "b"}
    d["vocabulary"]["types"]["notype"] = "x"


def damage_since_2002(d):
    entry = next(iter(d["frameworks"].values()))
    d["nosection"] = {"a": entry}
    d["frameworks"]["no_such_fw"] = entry


@pytest.mark.slow
def test_every_problem_of_a_damaged_catalog_is_reported_together(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISOR_NO_CACHE", "1")
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    catalog = rules / "catalog"
    for name, change in (
        ("frameworks.yaml", damage_frameworks),
        ("vocabulary.yaml", damage_vocabulary),
        ("states.yaml", lambda d: d["groups"]["asean"].append("XXX")),
        ("agencies.yaml", damage_agencies),
        ("questions.yaml", damage_questions),
        ("text_ja.yaml", damage_text_ja),
        ("since_2002.yaml", damage_since_2002),
    ):
        edit(catalog, name, change)
    with pytest.raises(CatalogError) as caught:
        advisor.load_rulebase(rules)
    where = f"{catalog}: "
    lines = caught.value.render().splitlines()
    assert all(line.startswith(where) for line in lines)
    found = [line.removeprefix(where) for line in lines]
    expected = [
        "frameworks.yaml: japan_us_alliance: unknown layer 'aliances' (did you mean 'alliances'?)",
        "frameworks.yaml: japan_us_alliance: unknown family 'nope' (did you mean one of 'cooperation', 'deterrence'?)",
        "frameworks.yaml: japan_us_alliance: unknown member state 'XXX'",
        "frameworks.yaml: japan_us_alliance: cited_in names no recommendation 99",
        "frameworks.yaml: us_rok_alliance: a member list needs a basis (document or general_knowledge)",
        "vocabulary.yaml: types.armed_attack: unknown category 'nocat'",
        "vocabulary.yaml: regions.east_asia: within unknown region 'atlantis'",
        "states.yaml: groups.asean: unknown state 'XXX'",
        "since_2002.yaml: frameworks: unknown id 'no_such_fw' (did you mean one of ",
        "since_2002.yaml: unknown section 'nosection'",
        "questions.yaml: there is no recommendation 99",
        "questions.yaml: questions_ja.1: 4 questions, but 3 in English",
        "text_ja.yaml: caveats: unknown id 'no_such_caveat' (did you mean one of ",
        "text_ja.yaml: recommendations: there is no recommendation 99",
        "text_ja.yaml: vocabulary.types: unknown id 'notype' (did you mean one of ",
        "text_ja.yaml: vocabulary: unknown section 'nosection'",
        "agencies.yaml: prime_ministers_office: part_of unknown agency 'nobody'",
        "agencies.yaml: prime_ministers_office: unknown sector 'diplomcy' (did you mean 'diplomacy'?)",
        "agencies.yaml: prime_ministers_office: named_in: there is no recommendation 99",
        "agencies.yaml: prime_ministers_office: assigned: unknown role 'leed' (did you mean 'lead'?)",
        "agencies.yaml: prime_ministers_office: assigned: there is no recommendation 99",
        "agencies.yaml: prime_ministers_office: a body the document does not name needs a note saying why it is here",
        "vocabulary.yaml: derived.inter_state: an empty note",
    ]
    assert len(found) == len(expected), found
    for line in expected:  # each once, in no promised order; a long "did you mean one of" by its start
        matches = [f for f in found if f == line or (line.endswith("one of ") and f.startswith(line))]
        assert len(matches) == 1, (line, found)


@pytest.mark.slow
def test_an_intact_copy_of_the_catalog_loads(tmp_path, monkeypatch):
    """(The damage above is all there is: a copy as shipped is a rule base that loads.)"""
    monkeypatch.setenv("ADVISOR_NO_CACHE", "1")
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    for name in ("frameworks.yaml", "agencies.yaml"):
        edit(rules / "catalog", name, lambda d: None)  # rewritten as the test rewrites them, comments lost
    assert advisor.load_rulebase(rules).digest == advisor.load_rulebase().digest
