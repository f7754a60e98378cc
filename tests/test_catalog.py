"""The knowledge base: faithful to the document where it quotes it, in our own words elsewhere."""

import os
import re
import shutil
from pathlib import Path

import pytest

import advisor
from advisor.document import DOCUMENT_ENV
from advisor.errors import CatalogError

from conftest import ROOT

SOURCE = Path(os.environ[DOCUMENT_ENV]) if os.environ.get(DOCUMENT_ENV) else None


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@pytest.fixture(scope="module")
def source_text():
    if SOURCE is None or not SOURCE.is_file():
        pytest.skip(f"set {DOCUMENT_ENV} to the document's text file to check titles and quotes against it")
    return " ".join(words(SOURCE.read_text(encoding="utf-8")))


def test_fifteen_recommendations_in_four_groups(rulebase):
    cat = rulebase.catalog
    assert sorted(cat.recommendations) == list(range(1, 16))
    assert [g.recommendations for g in cat.groups] == [[1, 2, 3], [4, 5, 6, 7, 8], [9, 10, 11, 12, 13], [14, 15]]
    assert {n: sorted(r.items) for n, r in cat.recommendations.items() if r.items} == {
        2: [1, 2, 3],
        4: [1, 2],
        5: list(range(1, 9)),
        12: [1, 2, 3, 4],
        13: [1, 2, 3, 4],
    }


def test_titles_are_quoted_verbatim(rulebase, source_text):
    for rec in rulebase.catalog.recommendations.values():
        assert " ".join(words(rec.title)) in source_text, rec.number


def test_framework_names_as_the_document_spells_them(rulebase, source_text):
    for key in (
        "wpns",
        "imb_kuala_lumpur",
        "anti_piracy_conference",
        "tcog",
        "east_asia_cyber_forum",
        "east_asia_security_contact_group",
        "arf_risk_reduction_center",
        "four_party_talks",
        "japan_us_alliance",
        "mtcr",
    ):
        name = rulebase.catalog.frameworks[key].name
        core = " ".join(words(re.sub(r"\(.*?\)", "", name.split(",")[0])))
        assert core in source_text, key


def test_summaries_are_in_our_own_words(rulebase, source_text):
    """No summary, caveat or measure repeats eight words in a row from the document."""
    cat = rulebase.catalog
    texts = [r.summary for r in cat.recommendations.values()]
    texts += [r.text for r in cat.caveats.values()] + [r.text for r in cat.measures.values()]
    for text in texts:
        w = words(text)
        for i in range(len(w) - 7):
            assert " ".join(w[i : i + 8]) not in source_text, text


def test_agencies_named_as_in_the_document(rulebase, source_text):
    for agency in rulebase.catalog.agencies.values():
        if agency.basis == "general_knowledge":  # one of the "other relevant ministries/agencies" (14)
            assert " ".join(words(agency.name)) not in source_text, agency.name
            continue
        assert " ".join(words(agency.name.split(",")[0])) in source_text, agency.name


def test_named_in_quotes_the_documents_words(rulebase, source_text):
    """Each phrase an agency's named_in gives (shown in 'participate' notes as the document's words) is verbatim."""
    for key, agency in rulebase.catalog.agencies.items():
        for number, phrases in agency.named_in.items():
            for phrase in phrases.split(";"):
                assert " ".join(words(phrase)) in source_text, f"{key}: named_in {number}: {phrase.strip()!r}"


def test_member_lists_say_their_basis(rulebase):
    for key, fw in rulebase.catalog.frameworks.items():
        if fw.members and fw.members != ["JPN"]:
            assert fw.basis in ("document", "general_knowledge"), key


def test_every_catalog_reference_is_used_or_listed(rulebase):
    """Every framework is cited in a recommendation; every measure and caveat is used by some rule."""
    used_measures = {m for r in rulebase.rules for m in r.then.measures}
    used_caveats = {c for r in rulebase.rules for c in r.then.caveats}
    assert used_measures == set(rulebase.catalog.measures)
    assert used_caveats == set(rulebase.catalog.caveats)


def test_ambiguous_alias_is_refused(tmp_path):
    shutil.copytree(ROOT / "rules" / "catalog", tmp_path / "catalog")
    (tmp_path / "r.yaml").write_text((ROOT / "rules" / "10-design.yaml").read_text())
    vocab = tmp_path / "catalog" / "vocabulary.yaml"
    vocab.write_text(vocab.read_text().replace("aliases: [pirates,", "aliases: [terror, pirates,"))
    with pytest.raises(CatalogError, match="alias 'terror' of type means both 'terrorism' and 'piracy'"):
        advisor.load_rulebase(tmp_path)


@pytest.mark.parametrize(
    "what",
    ["recommendations", "frameworks", "agencies", "states", "types", "regions", "targets", "attributes", "derived"],
)
def test_catalog_tables_fit_100_columns(invoke, what):
    out = invoke(["catalog", what]).stdout
    assert max(len(line) for line in out.splitlines()) <= 100


# --- quotes: every document-basis rule rests on a verbatim span of the document ---------------------


def test_every_document_rule_quotes_the_document_verbatim(rulebase, source_text):
    from advisor.document import words as doc_words

    text = " ".join(doc_words(SOURCE.read_text(encoding="utf-8")))
    for rule in rulebase.rules:
        assert rule.basis != "document" or rule.quote, rule.id
        if rule.quote:
            assert " ".join(doc_words(rule.quote)) in text, rule.id
            assert len(rule.quote.split()) <= 35, rule.id


def test_fingerprint_is_the_document_s(source_text):
    """rules/catalog/document.yaml is what scripts/fingerprint-document.py makes of the document."""
    from advisor.document import fingerprint, load_fingerprint

    stored = load_fingerprint(str(ROOT / "rules" / "catalog" / "document.yaml"))
    assert stored == frozenset(fingerprint(SOURCE.read_text(encoding="utf-8")))


def test_fingerprint_catches_a_quote_that_is_not_verbatim(rulebase):
    """Without the document at hand, the fingerprint still tells a verbatim quote from a paraphrase."""
    from advisor.document import is_verbatim, load_fingerprint

    shingles = load_fingerprint(str(ROOT / "rules" / "catalog" / "document.yaml"))
    quote = rulebase.by_id["r12-wpns"].quote
    assert is_verbatim(quote, shingles)
    assert not is_verbatim(quote.replace("Western Pacific", "Eastern Pacific"), shingles)
    assert not is_verbatim("Japan should lead", shingles)  # too short to check: refused


def test_rules_check_reports_a_quote_not_in_the_document(invoke, tmp_path):
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: r12-made-up\n    cites: ['12']\n    because: 'A rule whose quote is a paraphrase.'\n"
        "    quote: 'Japan should lead naval cooperation in the whole of the Pacific'\n"
        "    when: {type: piracy}\n    then: {frameworks: [wpns]}\n"
    )
    out = invoke(["rules", "check", tmp_path], exit_code=1).stdout
    assert "error E110: r12-made-up: quote not found verbatim in the document" in out


def test_roles_the_document_assigns(rulebase):
    """Only the MOOTW roles of the Defense Agency and the SDF (6) and the committee of the Foreign
    Policy Bureau (14) are the document's own."""
    assigned = {a: dict(x.assigned) for a, x in rulebase.catalog.agencies.items() if x.assigned}
    assert assigned == {
        "foreign_policy_bureau": {"coordinate": [14]},
        "defense_agency": {"support": [6]},
        "self_defense_forces": {"support": [6]},
    }
    for rule in rulebase.rules:
        if rule.basis == "document":
            assert "lead" not in rule.then.agencies.values(), rule.id


def test_every_vocabulary_attribute_is_tested_by_a_rule(rulebase):
    assert set(rulebase.catalog.vocabulary.attributes) <= rulebase.used_attributes
