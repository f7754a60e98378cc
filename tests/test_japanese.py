"""--lang ja beyond the labels: the facts derived about the threat, the network's clusters, and both
MSELs (the guide's and the controller's `advisor msel`) in Japanese, with nothing the catalog or
the code says left in English."""
import csv
import io
import re
import shutil

import pytest

import advisor
from advisor.exercise import MSEL_TEXT
from advisor.render import BRIEF_LABELS
from conftest import ROOT

EXERCISE = ROOT / "threats" / "korean_peninsula_exercise.json"
JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")
# an English word: four letters or more with a lower-case one (acronyms such as ARF, TCOG, STARTEX pass)
ENGLISH_WORD = re.compile(r"\b(?=[A-Za-z]*[a-z])[A-Za-z]{4,}\b")


@pytest.fixture(scope="module")
def assessed(rulebase):
    return advisor.assess(advisor.load_threat(EXERCISE, rulebase), rulebase)


def _fixed_parts(template: str) -> list[str]:
    """The words of a phrase around its {fields}, e.g. 'Invoke ' of 'Invoke {name}'."""
    return [p.strip() for p in re.split(r"\{\w+\}", template) if len(p.strip()) >= 4]


def _section(md: str, heading: str) -> str:
    return md.split(heading, 1)[1].split("\n## ", 1)[0]


def test_every_derived_fact_and_msel_phrase_has_its_japanese(rulebase):
    cat = rulebase.catalog
    missing = [k for k, e in cat.vocabulary.derived.items() if not (e.text_ja and JAPANESE.search(e.text_ja))]
    assert not missing
    assert set(cat.text_ja.exercise) == set(MSEL_TEXT)
    phrases = [v for k, v in cat.text_ja.exercise.items() if k not in ("and", "comma", "responsible")]
    assert all(JAPANESE.search(t) for t in phrases)


def test_japanese_guide_states_the_derived_facts_in_japanese(invoke, rulebase, assessed):
    derived = rulebase.catalog.vocabulary.derived
    for fmt in ("markdown", "html"):
        out = invoke(["brief", EXERCISE, "--facilitator", "--lang", "ja", "--format", fmt]).stdout
        for name in assessed.nature.derived:
            assert derived[name].text_ja in out, name
        for name, entry in derived.items():
            assert entry.text not in out, name
    md = invoke(["brief", EXERCISE, "--facilitator", "--lang", "ja"]).stdout
    facts = _section(md, "**脅威の性格:**").split("\n\n**")[0]
    bullets = [line for line in facts.splitlines() if line.startswith("- ")]
    assert len(bullets) == len(assessed.nature.derived)
    assert not [b for b in bullets if ENGLISH_WORD.search(b)]


def test_japanese_guide_msel_has_japanese_headers_and_actions(invoke, rulebase):
    cat = rulebase.catalog
    md = invoke(["brief", EXERCISE, "--facilitator", "--lang", "ja"]).stdout
    msel = _section(md, "## 主要シナリオ事象一覧")
    assert "| 段階 | インジェクト | 期待される行動 | 行動主体 | 提言 |" in msel
    assert "| 0 | 初期状況 | 発動：日米同盟 | 日本 | 2, 4 |" in msel
    assert "| 外務省 | 2, 7, 14 |" in msel and "日本の対応を主導する" in msel
    assert "留意点：" + cat.caveats["collective_self_defense"].text_ja in msel
    english = [t for k, v in BRIEF_LABELS.items() if k.startswith("msel_") for t in _fixed_parts(v)]
    english += [c.text for c in cat.caveats.values()] + ["Starting situation", "| Japan |"]
    assert not [t for t in english if t in msel]
    rows = [line.split(" | ") for line in msel.splitlines() if line.startswith("| ") and "---" not in line]
    # the inject's title is the scenario's own text; the action and who are advisor's
    assert not [r for r in rows if ENGLISH_WORD.search(r[2] + " " + r[3])]
    html = invoke(["brief", EXERCISE, "--facilitator", "--lang", "ja", "--format", "html"]).stdout
    assert "<th>段階</th><th>インジェクト</th><th>期待される行動</th><th>行動主体</th><th>提言</th>" in html
    assert "<th>Stage</th>" not in html and "Invoke:" not in html


def test_japanese_guide_network_has_japanese_clusters(invoke):
    md = invoke(["brief", EXERCISE, "--facilitator", "--lang", "ja"]).stdout
    assert 'subgraph agencies["日本の関係機関"]' in md and 'subgraph alliances["同盟"]' in md
    assert '("外務省 (主導)")' in md
    assert "Japanese agencies" not in md and '["Alliances"]' not in md and "(lead)" not in md


def _english_msel_texts(cat) -> list[str]:
    """Every English phrase and catalog text an MSEL could show: what must not be left in Japanese."""
    texts = [t for v in MSEL_TEXT.values() for t in _fixed_parts(v)]
    texts += [m.text for m in cat.measures.values()] + [c.text for c in cat.caveats.values()]
    japanese_names = " ".join(v for v in cat.names_ja["frameworks"].values())
    texts += [f.name for key, f in cat.frameworks.items()
              if cat.name_ja("frameworks", key) and f.name not in japanese_names]  # ASEAN is ASEAN in both
    return texts


def _without_scenario(text: str) -> str:
    """The output less the scenario's own words (titles, inject texts, senders, players' roles), which
    stay as the scenario's author wrote them."""
    own = re.findall(r'"((?:[^"\\]|\\.)*)"', EXERCISE.read_text())
    for words in sorted((w for w in own if len(w) >= 4), key=len, reverse=True):
        text = text.replace(words, "")
    return text


def test_msel_in_japanese_markdown(invoke, rulebase):
    md = invoke(["msel", EXERCISE, "--lang", "ja"]).stdout
    header = "| " + " | ".join(MSEL_TEXT[k] for k in MSEL_TEXT if k.startswith("col_")) + " |"
    assert "| 事象番号 | シナリオ時刻 | モジュール | インジェクト | インジェクトの内容 | 伝達手段 | 発信者 | 受信者 |" in md
    assert header not in md and "# 主要シナリオ事象一覧（MSEL）: Exercise Morning Calm" in md
    assert "日米同盟を発動する（提言 2, 4）" in md and "外務省が日本の対応を主導する（提言 2, 7, 14）" in md
    assert "| 開始 | 初期状況 |" in md and "| モジュール 2 |" in md and "開始、モジュール 1から継続中：枠組み23件" in md
    left = [t for t in _english_msel_texts(rulebase.catalog) if t in _without_scenario(md)]
    assert not left


def test_msel_in_japanese_csv(invoke, rulebase):
    cat = rulebase.catalog
    text = invoke(["msel", EXERCISE, "--lang", "ja", "--format", "csv"]).stdout
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert rows[0] == [cat.text_ja.exercise[k] for k in MSEL_TEXT if k.startswith("col_")]
    assert rows[1][1:3] == ["D日・演習開始（STARTEX）", "開始"] and rows[1][5:8] == ["ブリーフィング", "演習統制部", "全プレーヤー"]
    assert not [t for t in _english_msel_texts(cat) if t in _without_scenario(text)]
    # what advisor writes (responsible, actions, notes), as against the scenario's own text, is Japanese
    for row in rows[1:]:
        actions = row[9].splitlines()
        assert actions and all(JAPANESE.search(a) for a in actions)
        for cell in (row[9], row[12]):
            assert not ENGLISH_WORD.search(cell), cell
        roles = [part.rsplit("（", 1)[-1] for part in row[8].split("; ")]
        assert set(roles) <= {"主導）", "調整）", "支援）"}, row[8]


def test_msel_in_english_is_unchanged(invoke):
    text = invoke(["msel", EXERCISE, "--format", "csv"]).stdout
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert rows[0][0] == "Event" and rows[1][1:3] == ["D-day, STARTEX", "Start"]
    assert "Invoke Japan-US alliance (rec. 2, 4)" in rows[1][9]
    md = invoke(["brief", EXERCISE, "--facilitator"]).stdout
    assert "| Stage | Inject | Expected action | Who | Recommendations |" in md
    assert "| 0 | Starting situation | Invoke: Japan-US alliance | Japan | 2, 4 |" in md


def test_japanese_phrases_keep_their_fields(tmp_path):
    from advisor.errors import CatalogError

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    t = rules / "catalog" / "text_ja.yaml"
    t.write_text(t.read_text().replace('invoke: "{name}を発動する"', 'invoke: "{nam}を発動する"')
                 .replace('  msel_lead: "', '  msel_leed: "'))
    with pytest.raises(CatalogError) as e:
        advisor.load_rulebase(rules)
    problems = [str(p) for p in e.value.problems]
    assert any("exercise.invoke: its fields must be those of the English ({name})" in p for p in problems)
    assert any("labels: unknown key 'msel_leed'" in p for p in problems)


def test_old_vocabulary_without_japanese_still_loads(tmp_path, invoke):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    v = rules / "catalog" / "vocabulary.yaml"
    v.write_text("\n".join(line for line in v.read_text().splitlines() if "text_ja:" not in line) + "\n")
    t = rules / "catalog" / "text_ja.yaml"
    t.write_text(t.read_text().split("\nexercise:")[0] + "\n")
    cat = advisor.load_rulebase(rules).catalog
    assert cat.vocabulary.derived["inter_state"].text_ja is None and not cat.text_ja.exercise
    md = invoke(["brief", EXERCISE, "--facilitator", "--lang", "ja", "--rules", rules]).stdout
    assert f"- {cat.vocabulary.derived['inter_state'].text}" in md  # English where Japanese is missing
    assert "| Event | Scenario time |" in invoke(["msel", EXERCISE, "--lang", "ja", "--rules", rules]).stdout
