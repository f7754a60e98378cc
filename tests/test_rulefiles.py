"""Invalid rule files are refused at load time, with the file, the rule id and the line."""

import shutil
from pathlib import Path

import pytest

import advisor
from advisor.errors import RuleFileError

from conftest import ROOT

GOOD = """rules:
  - id: r10-test-rule
    cites: ["10"]
    because: "A test rule about terrorism only."
    when:
      type: terrorism
    then:
      frameworks: [east_asia_cyber_forum]
    quote: "should set up a standing organization in East Asia to augment monitoring of terrorist activities"
"""


def load(tmp_path: Path, text: str, name: str = "bad.yaml") -> list[str]:
    (tmp_path / name).write_text(text)
    with pytest.raises(RuleFileError) as e:
        advisor.load_rulebase(tmp_path)
    return e.value.render().splitlines()


def test_good_file_loads(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    rb = advisor.load_rulebase(tmp_path)
    assert [r.id for r in rb.rules] == ["r10-test-rule"]
    assert rb.catalog.source.endswith("catalog")  # the shipped catalog when the directory has none


def test_bad_yaml(tmp_path):
    lines = load(tmp_path, GOOD.replace("type: terrorism", "type: [terrorism"))
    assert lines[0].startswith(f"{tmp_path}/bad.yaml:7: not valid YAML")


def test_unknown_field_names_rule_and_line(tmp_path):
    lines = load(tmp_path, GOOD.replace("      type: terrorism", "      tpye: terrorism"))
    assert lines == [f"{tmp_path}/bad.yaml:6: r10-test-rule: when.tpye: unknown field 'tpye' (did you mean 'type'?)"]


def test_unknown_framework(tmp_path):
    lines = load(tmp_path, GOOD.replace("east_asia_cyber_forum", "east_asia_cyberforum"))
    assert lines == [
        f"{tmp_path}/bad.yaml:8: r10-test-rule: then.frameworks: unknown framework "
        "'east_asia_cyberforum' (did you mean 'east_asia_cyber_forum'?)"
    ]


def test_unknown_agency(tmp_path):
    lines = load(tmp_path, GOOD.replace("frameworks: [east_asia_cyber_forum]", "agencies: {national_police: lead}"))
    assert lines == [
        f"{tmp_path}/bad.yaml:8: r10-test-rule: then.agencies: unknown agency 'national_police' "
        "(did you mean 'national_police_agency'?)"
    ]


@pytest.mark.parametrize(
    "cite, message",
    [
        ('"16"', "there is no recommendation 16 (there are 1 to 15)"),
        ('"12(5)"', "recommendation 12 has no item (5) (its items: 12(1), 12(2), 12(3), 12(4))"),
        ('"twelve"', "'twelve' is not a citation like '12' or '12(2)'"),
    ],
)
@pytest.mark.slow
def test_unknown_recommendation(tmp_path, cite, message):
    lines = load(tmp_path, GOOD.replace('"10"', cite))
    assert lines == [f"{tmp_path}/bad.yaml:3: r10-test-rule: cites: {message}"]


def test_duplicate_rule_id_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    lines = load(tmp_path, GOOD, name="b.yaml")
    assert lines == [f"{tmp_path}/b.yaml:2: r10-test-rule: duplicate rule id (first defined at {tmp_path}/a.yaml:2)"]


@pytest.mark.slow
def test_duplicate_yaml_key(tmp_path):
    lines = load(tmp_path, GOOD.replace("      type: terrorism", "      type: terrorism\n      type: piracy"))
    assert lines == [f"{tmp_path}/bad.yaml:7: duplicate key 'type'"]


def test_python_tags_are_refused(tmp_path):
    lines = load(tmp_path, GOOD.replace("type: terrorism", "type: !!python/object/apply:os.system ['echo hi']"))
    assert "not valid YAML" in lines[0] and "bad.yaml:6" in lines[0]


def test_every_problem_of_every_file_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD.replace("terrorism", "terrorisme"))
    lines = load(tmp_path, GOOD.replace("r10-test-rule", "R10 bad id"), name="b.yaml")
    assert len(lines) == 2 and "a.yaml:6" in lines[0] and "b.yaml:2" in lines[1]


def test_rule_without_condition(tmp_path):
    lines = load(tmp_path, GOOD.replace("      type: terrorism", "      {}"))
    assert "a rule needs at least one condition" in lines[0]


@pytest.mark.slow
def test_rule_with_only_an_exception_loads(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD.replace("      type: terrorism", "      unless: {type: piracy}"))
    assert [r.id for r in advisor.load_rulebase(tmp_path).rules] == ["r10-test-rule"]


def test_document_rule_needs_a_quote(tmp_path):
    lines = load(
        tmp_path,
        GOOD.replace(
            '    quote: "should set up a standing organization in East Asia to augment '
            'monitoring of terrorist activities"\n',
            "",
        ),
    )
    assert "a rule with basis document needs a 'quote'" in lines[0]


def test_quote_is_short(tmp_path):
    long = " ".join(["words"] * 36)
    lines = load(tmp_path, GOOD.replace("should set up a standing organization", long))
    assert "quote: at most 35 words" in lines[0]


@pytest.mark.slow
def test_document_rule_may_not_assign_a_lead(tmp_path):
    lines = load(
        tmp_path,
        GOOD.replace("      frameworks: [east_asia_cyber_forum]", "      agencies: {national_police_agency: lead}"),
    )
    assert (
        "then.agencies.national_police_agency: the document does not give the National Police Agency the role 'lead'"
    ) in lines[0]
    ok = GOOD.replace(
        "      frameworks: [east_asia_cyber_forum]", "      agencies: {national_police_agency: participate}"
    )
    (tmp_path / "bad.yaml").write_text(ok)
    assert advisor.load_rulebase(tmp_path).rules[0].then.agencies == {"national_police_agency": "participate"}


def test_role_the_document_assigns(tmp_path):
    """The Defense Agency's support in operations other than war is the document's own (6)."""
    text = GOOD.replace('cites: ["10"]', 'cites: ["6"]').replace(
        "      frameworks: [east_asia_cyber_forum]", "      agencies: {defense_agency: support}"
    )
    (tmp_path / "good.yaml").write_text(text)
    assert advisor.load_rulebase(tmp_path).rules[0].then.agencies == {"defense_agency": "support"}
    lines = load(tmp_path, text.replace('cites: ["6"]', 'cites: ["12"]'), name="good.yaml")
    assert "does not give the Defense Agency the role 'support'" in lines[0]


def test_role_note_is_kept_apart(tmp_path):
    text = GOOD.replace("    because:", '    basis: general_knowledge\n    note: "a test"\n    because:').replace(
        "      frameworks: [east_asia_cyber_forum]",
        '      agencies: {national_police_agency: {role: lead, note: "police work is the police agency\'s"}}',
    )
    (tmp_path / "good.yaml").write_text(text)
    then = advisor.load_rulebase(tmp_path).rules[0].then
    assert then.agencies == {"national_police_agency": "lead"}
    assert then.role_notes == {"national_police_agency": "police work is the police agency's"}


@pytest.mark.slow
def test_distinction_rules_are_pure(tmp_path):
    lines = load(
        tmp_path,
        GOOD.replace(
            "      frameworks: [east_asia_cyber_forum]", "      derive: [in_east_asia]\n      frameworks: [wpns]"
        ),
    )
    assert "a rule that derives one of the document's distinctions derives only distinctions" in lines[0]
    lines = load(
        tmp_path,
        GOOD.replace("      type: terrorism", "      frameworks: [wpns]").replace(
            "      frameworks: [east_asia_cyber_forum]", "      derive: [in_east_asia]"
        ),
    )
    assert "a distinction is decided by the descriptor alone" in lines[0]


def test_only_distinctions_inside_blocks(tmp_path):
    lines = load(
        tmp_path,
        GOOD.replace("      type: terrorism", "      type: terrorism\n      unless: {derived: [maritime_security]}"),
    )
    assert "'maritime_security' is not one of the document's distinctions" in lines[0]


def test_distinctions_in_a_ring_are_refused(tmp_path):
    ring = """rules:
  - id: d-one
    cites: ["1"]
    basis: general_knowledge
    note: "a test"
    because: "One distinction that needs the other."
    when: {unless: {derived: [outside_east_asia]}}
    then: {derive: [in_east_asia]}
  - id: d-two
    cites: ["1"]
    basis: general_knowledge
    note: "a test"
    because: "And the other that needs the first."
    when: {unless: {derived: [in_east_asia]}}
    then: {derive: [outside_east_asia]}
"""
    lines = load(tmp_path, ring)
    assert "distinctions depend on each other in a ring" in lines[0]


def test_too_complex_for_the_engine(tmp_path):
    """durable-rules refuses a pattern with more than 15 $and/$or nodes (error 113): refused at load,
    below the engine's limit (see tests/test_engine_limits.py for every limit)."""
    severities = ["low", "moderate", "high", "critical"]
    many = (
        "      any:\n"
        + "".join(
            f"        - {{type: [piracy, terrorism], severity: [{severities[i % 4]}, "
            f"{severities[(i + 1) % 4]}], actor: [state, non_state]}}\n"
            for i in range(4)
        )
        + "".join(f"        - {{type: [piracy, cyber_attack], severity: [{s}]}}\n" for s in severities)
    )
    lines = load(tmp_path, GOOD.replace("      type: terrorism\n", many))
    assert "over the engine's limit of 12" in lines[0], lines


def test_general_knowledge_needs_a_note(tmp_path):
    lines = load(tmp_path, GOOD.replace("    because:", "    basis: general_knowledge\n    because:"))
    assert "needs a 'note'" in lines[0]


def test_no_rule_files(tmp_path):
    with pytest.raises(RuleFileError, match="no rule files"):
        advisor.load_rulebase(tmp_path)


def test_directory_catalog_overrides(tmp_path):
    """A rule base may bring its own catalog/; a broken one is refused with the file."""
    shutil.copytree(ROOT / "rules" / "catalog", tmp_path / "catalog")
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "catalog" / "frameworks.yaml").write_text(
        (tmp_path / "catalog" / "frameworks.yaml").read_text().replace("layer: alliances", "layer: aliances", 1)
    )
    from advisor.errors import CatalogError

    with pytest.raises(CatalogError, match="japan_us_alliance: unknown layer 'aliances'"):
        advisor.load_rulebase(tmp_path)


def test_shipped_rule_files_contain_no_code():
    for path in (ROOT / "rules").rglob("*.yaml"):
        text = path.read_text()
        for word in ("!!python", "eval(", "exec(", "import "):
            assert word not in text, (path, word)


@pytest.mark.slow
def test_rule_base_cache_is_used_and_invalidated(tmp_path, monkeypatch):
    """A loaded rule base is cached by the digest of its files; an edit is seen at once."""
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(GOOD)
    first = advisor.load_rulebase(rules)
    assert len(list((tmp_path / "cache").glob("rulebase-*.json"))) == 1
    assert advisor.load_rulebase(rules).digest == first.digest
    (rules / "r.yaml").write_text(GOOD.replace("east_asia_cyber_forum", "wpns"))
    second = advisor.load_rulebase(rules)
    assert second.digest != first.digest and second.rules[0].then.frameworks == ["wpns"]
    monkeypatch.setenv("ADVISOR_NO_CACHE", "1")
    (rules / "r.yaml").write_text(GOOD)
    assert advisor.load_rulebase(rules).digest == first.digest


def test_support_of_another_bodys_lead_rests_on_that_lead(rulebase):
    """A rule whose body supports another's lead tests a fact that only rules giving that lead derive,
    so the support is never given without the lead (the answer would contradict itself)."""
    from conftest import SUPPORTS_THE_LEAD_OF

    def role(value):
        return value if isinstance(value, str) else value.role

    for rule_id, agency in SUPPORTS_THE_LEAD_OF.items():
        rule = rulebase.by_id[rule_id]
        grounds = [
            fact
            for fact in rule.when.derived or []
            if (producers := [r for r in rulebase.rules if fact in r.then.derive])
            and all(role(r.then.agencies.get(agency, "")) == "lead" for r in producers)
        ]
        assert grounds, f"{rule_id} supports {agency}'s lead but tests no fact derived only where {agency} leads"
