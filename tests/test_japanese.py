"""--lang ja beyond the labels: the facts derived about the threat, the network's clusters, both
MSELs (the guide's and the controller's `advisor msel`), the evaluation guides, the hot wash, the role
cards and the membership matrix in Japanese, with nothing the catalog or the code says left in English."""

import csv
import html
import io
import re
import shutil

import pytest

import advisor
from advisor.graph import LAYER_TITLES
from advisor.phrases import BRIEF_LABELS, EXERCISE_TEXT

from conftest import DATA, ROOT

EXERCISE = ROOT / "threats" / "korean_peninsula_exercise.json"
DECISIONS = DATA / "korean_peninsula_decisions.yaml"
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
    assert set(cat.text_ja.exercise) == set(EXERCISE_TEXT)
    phrases = [v for k, v in cat.text_ja.exercise.items() if _fixed_parts(EXERCISE_TEXT[k])]  # not ", ", "{a} ({b})"
    assert all(JAPANESE.search(t) for t in phrases)


@pytest.mark.slow
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


@pytest.mark.slow
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
    texts = [t for v in EXERCISE_TEXT.values() for t in _fixed_parts(v)]
    texts += [m.text for m in cat.measures.values()] + [c.text for c in cat.caveats.values()]
    japanese_names = " ".join(v for v in cat.names_ja["frameworks"].values())
    texts += [
        f.name for key, f in cat.frameworks.items() if cat.name_ja("frameworks", key) and f.name not in japanese_names
    ]  # ASEAN is ASEAN in both
    return texts


def _without_scenario(text: str) -> str:
    """The output less the scenario's own words (titles, inject texts, senders, players' roles), which
    stay as the scenario's author wrote them."""
    own = re.findall(r'"((?:[^"\\]|\\.)*)"', EXERCISE.read_text())
    for words in sorted((w for w in own if len(w) >= 4), key=len, reverse=True):
        text = text.replace(words, "")
    return text


@pytest.mark.slow
def test_msel_in_japanese_markdown(invoke, rulebase):
    md = invoke(["msel", EXERCISE, "--lang", "ja"]).stdout
    header = "| " + " | ".join(EXERCISE_TEXT[k] for k in EXERCISE_TEXT if k.startswith("col_")) + " |"
    assert (
        "| 事象番号 | シナリオ時刻 | モジュール | インジェクト | インジェクトの内容 | 伝達手段 | 発信者 | 受信者 |"
        in md
    )
    assert header not in md and "# 主要シナリオ事象一覧（MSEL）: Exercise Morning Calm" in md
    assert "日米同盟を発動する（提言 2, 4）" in md and "外務省が日本の対応を主導する（提言 2, 7, 14）" in md
    assert "| 開始 | 初期状況 |" in md and "| モジュール 2 |" in md and "開始、モジュール 1から継続中：枠組み23件" in md
    left = [t for t in _english_msel_texts(rulebase.catalog) if t in _without_scenario(md)]
    assert not left


@pytest.mark.slow
def test_msel_in_japanese_csv(invoke, rulebase):
    cat = rulebase.catalog
    text = invoke(["msel", EXERCISE, "--lang", "ja", "--format", "csv"]).stdout
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert rows[0] == [cat.text_ja.exercise[k] for k in EXERCISE_TEXT if k.startswith("col_")]
    assert rows[1][1:3] == ["D日・演習開始（STARTEX）", "開始"] and rows[1][5:8] == [
        "ブリーフィング",
        "演習統制部",
        "全プレーヤー",
    ]
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
    t.write_text(
        t.read_text()
        .replace('invoke: "{name}を発動する"', 'invoke: "{nam}を発動する"')
        .replace('  msel_lead: "', '  msel_leed: "')
    )
    with pytest.raises(CatalogError) as e:
        advisor.load_rulebase(rules)
    problems = [str(p) for p in e.value.problems]
    assert any("exercise.invoke: its fields must be those of the English ({name})" in p for p in problems)
    assert any("labels: unknown key 'msel_leed'" in p for p in problems)


@pytest.mark.slow
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


# --- the evaluation guides, the hot wash, the role cards and the membership matrix ------------------


def _docx_text(data: bytes) -> str:
    """Every paragraph, table cell, header and footer of a Word document, one a line."""
    from docx import Document

    doc = Document(io.BytesIO(data))
    lines = [p.text for p in doc.paragraphs]
    lines += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    lines += [p.text for s in doc.sections for p in (*s.header.paragraphs, *s.footer.paragraphs)]
    return "\n".join(lines)


def _notes(data) -> list[str]:
    """Every `note` of an assessment's data: why an answer goes beyond the document, as the engine says it."""
    if isinstance(data, dict):
        return [v for k, v in data.items() if k == "note" and isinstance(v, str)] + [
            n for v in data.values() for n in _notes(v)
        ]
    return [n for v in data for n in _notes(v)] if isinstance(data, list) else []


def _without_authors(text: str, rulebase, assessed) -> str:
    """The output less the scenario's words, the decisions file's notes, the rule files' own sentences
    (a rule's id, its `because`, its note and its agencies' notes) and the assessment's notes, which stay
    as their authors wrote them."""
    import yaml

    own = (
        [r.id for r in rulebase.rules]
        + [r.because for r in rulebase.rules]
        + [r.note for r in rulebase.rules if r.note]
    )
    own += [n for r in rulebase.rules for n in r.then.role_notes.values()] + _notes(assessed.to_data())
    own += [str(v["notes"]) for v in yaml.safe_load(DECISIONS.read_text()).values() if v and "notes" in v]
    for words in sorted(own, key=len, reverse=True):
        text = text.replace(words, "")
    return _without_scenario(text).replace("FOR EXERCISE USE ONLY", "")


def _english_exercise_texts(cat) -> list[str]:
    """Every English phrase of the exercise documents, and every catalog text they could show."""
    texts = _english_msel_texts(cat)
    texts += [r.title for r in cat.recommendations.values()]
    return texts


def _exercise_outputs(invoke, tmp_path) -> dict[str, str]:
    out = {}
    for cmd, extra in (("eeg", []), ("hotwash", [DECISIONS]), ("rolecards", [])):
        out[f"{cmd} markdown"] = invoke([cmd, EXERCISE, *extra, "--lang", "ja"]).stdout
        out[f"{cmd} html"] = html.unescape(invoke([cmd, EXERCISE, *extra, "--lang", "ja", "--format", "html"]).stdout)
        docx = tmp_path / f"{cmd}.docx"
        invoke([cmd, EXERCISE, *extra, "--lang", "ja", "--format", "docx", "-o", docx])
        out[f"{cmd} docx"] = _docx_text(docx.read_bytes())
    return out


def test_every_exercise_phrase_has_its_japanese(rulebase):
    ja = rulebase.catalog.text_ja.exercise
    assert set(ja) == set(EXERCISE_TEXT)
    untranslated = [k for k, v in EXERCISE_TEXT.items() if _fixed_parts(v) and ja[k] == v]
    assert not untranslated


@pytest.mark.slow
def test_exercise_documents_in_japanese_leave_no_english_phrase(invoke, rulebase, assessed, tmp_path):
    english = _english_exercise_texts(rulebase.catalog)
    assert "Performed without challenges" in english and "expected, missed" in english  # the ratings, the results
    for what, text in _exercise_outputs(invoke, tmp_path).items():
        left = sorted({t for t in english if t in _without_authors(text, rulebase, assessed)})
        assert not left, (what, left)
        assert JAPANESE.search(text), what


@pytest.mark.slow
def test_exercise_documents_in_japanese_read_as_japanese(invoke, rulebase, tmp_path):
    out = _exercise_outputs(invoke, tmp_path)
    eeg, hot, cards = out["eeg markdown"], out["hotwash markdown"], out["rolecards markdown"]
    assert (
        "_評価：P＝支障なく実施できた；S＝若干の支障はあったが実施できた；M＝大きな支障があったが実施できた；U＝実施できなかった_"
        in eeg
    )
    assert "| # | モジュール | 重要タスク（期待される行動） | 提言 | 規則 | 根拠 | 所見 | 評価 |" in eeg
    assert "| 1 | 開始 | 日米同盟を発動する | 2, 4 | r04-japan-us-alliance-deterrence | 提言本文 |  |  |" in eeg
    assert "| 開始 | 期待どおり実施 | 日米同盟を発動する | 2, 4 |" in hot
    assert "| 開始 | 遅れて実施（モジュール 1） | 四者会合を発動する | 7 |" in hot
    assert "| 開始 | 未実施 | 米韓同盟を発動する |" in hot and "| 期待外の実施 | 海上保安庁（支援） |" in hot
    assert "| 課題 | 提言 | 是正措置 | 担当機関 | 期限 |" in hot
    assert "米韓同盟を発動する時機を計画し、演練する（理由：" in hot
    assert (
        "### 提言が貴機関に求めること" in cards
        and "- 開始：主導（規則 r02-diplomacy-lead；提言 2；根拠：一般知識）：" in cards
    )
    assert '<html lang="ja">' in out["eeg html"] and "<th>期限</th>" in out["hotwash html"]
    assert "演習評価ガイド（EEG）：Exercise Morning Calm" in out["eeg docx"]
    assert "役割カード：Exercise Morning Calm" in out["rolecards docx"]


def test_hotwash_in_japanese_reads_english_module_names(invoke):
    # the decisions file says `module 1`; the Japanese report still finds it
    assert (
        "| モジュール 1 | 期待どおり実施 | 朝鮮半島エネルギー開発機構（KEDO）を発動する |"
        in invoke(["hotwash", EXERCISE, DECISIONS, "--lang", "ja"]).stdout
    )


@pytest.mark.slow
def test_graph_matrix_in_japanese(invoke):
    english = [t for k, v in BRIEF_LABELS.items() if k.startswith("graph_") for t in _fixed_parts(v)]
    english += list(LAYER_TITLES.values()) + ["(lead", "(coordinate", "(support"]
    assert "Framework" in english and "(proposed)" in english
    for args in ([], ["--stages"]):
        text = invoke(["graph", EXERCISE, "--format", "matrix", "--lang", "ja", *args]).stdout
        left = sorted({t for t in english if t in _without_scenario(text)})
        assert not left, (args, left)
    text = invoke(["graph", EXERCISE, "--format", "matrix", "--lang", "ja", "--stages"]).stdout
    assert "：段階 0：開始時" in text and "| 枠組み | 層 |" in text and "MOFA＝外務省（主導）" in text
    assert "| 日米同盟 | 同盟 |" in text and "（提案） | 日本自身の調整機関 |" in text


def test_guide_says_what_the_inject_changes_in_japanese(invoke):
    md = invoke(["brief", EXERCISE, "--facilitator", "--lang", "ja"]).stdout
    lines = [line for line in md.splitlines() if line.startswith("**インジェクトによる変化:**")]
    assert lines[1] == (
        "**インジェクトによる変化:** 種類：ミサイル発射；深刻度：重大；"
        "脅威を受けるもの：日本の領域（施政下にある尖閣諸島を含む）、米軍とその基地"
    )
    assert "関係国：中国、日本、韓国、北朝鮮、アメリカ合衆国" in lines[2] and "大量の難民・避難民" in lines[2]
    assert not [line for line in lines if re.search(r"\b(type|severity|targets|attributes|missile_launch)\b", line)]
    english = invoke(["brief", EXERCISE, "--facilitator"]).stdout
    assert (
        "**What the inject changes:** type missile_launch; severity critical; targets \\[japan_territory, us_forces\\]"
        in english
    )
