"""The network picture of one assessment: states, frameworks and Japanese agencies, and who belongs to what.

The graph is built from the assessment alone (member lists, what one rule concluded together,
and which agency leads), then written as Graphviz DOT, as Mermaid, as SVG laid out by Graphviz's
`dot` program when it is installed, or as a membership matrix (Markdown) when a picture is too
dense to read. A scenario with injects has one picture per stage.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field, replace

from .models import Assessment
from .render.safe import printable

LAYER_TITLES = {
    "alliances": "Alliances",
    "cooperative_security": "Cooperative security",
    "other_arrangements": "Other security arrangements",
    "coalitions_of_the_willing": "Coalitions of the willing",
    "japanese_coordination": "Japan's coordination bodies",
    "long_term_goal": "Long-term goal",
}
# A picture with more edges per node than this is grouped (with --group unset), and the command
# suggests the matrix if it is still this dense once grouped. The Korean scenarios have about 2 when
# every edge is drawn; the Malacca scenario, whose picture needs no grouping, about 1.45.
DENSE = 1.5
# the stand-ins for a whole cluster at one end of an edge (a grouped edge)
STATES, AGENCIES, LAYER = "@states", "@agencies", "@layer:"
EDGE_KINDS = ("member", "takes part", "leads", "acts in", "part of")


@dataclass
class Graph:
    states: list[tuple[str, str]] = field(default_factory=list)  # (code, label)
    frameworks: list[tuple[str, str, str, str]] = field(default_factory=list)  # (id, label, layer, status)
    agencies: list[tuple[str, str, str]] = field(default_factory=list)  # (id, label, role)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, kind)
    new: set[str] = field(default_factory=set)  # bodies that arrived with this stage (ids and codes)
    grouped: bool = False
    per_node: float = 0.0  # edges per node with every edge drawn (before grouping)
    # the clusters' titles and the agencies' roles in the picture's language, by key ("agencies",
    # "states", a layer id, "role_lead", ...); what is missing is English
    titles: dict[str, str] = field(default_factory=dict)

    def title(self, key: str, english: str) -> str:
        return self.titles.get(key) or english

    def say(self, key: str, **fields: str) -> str:
        """One of the picture's phrases (render.names.BRIEF_LABELS' graph_...) in the picture's language."""
        from .phrases import BRIEF_LABELS

        return (self.titles.get(key) or BRIEF_LABELS[key]).format(**fields)


@dataclass
class Density:
    """How crowded a picture is: nodes, edges, edges per node and the largest number of edges at one node."""

    nodes: int
    edges: int
    per_node: float
    max_degree: int


@dataclass
class Picture:
    title: str
    graph: Graph
    stage: int | None = None


def _lead_frameworks(a: Assessment) -> dict[str, list[str]]:
    """The frameworks each lead agency leads Japan's part in.

    The rule that makes an agency lead cites recommendations; the agency leads in the frameworks
    of the answer that serve those recommendations, and in any framework that rule concluded itself.
    """
    rules = {e.rule: e for e in a.trace}
    out: dict[str, list[str]] = {}
    for agency in a.agencies:
        if agency.role != "lead":
            continue
        numbers: set[int] = set()
        concluded: set[str] = set()
        for role in agency.roles:
            if role.role == "lead" and role.rule in rules:
                numbers.update(rules[role.rule].recommendations)
                concluded.update(rules[role.rule].concluded.get("frameworks", []))
        out[agency.id] = [f.id for f in a.frameworks if f.id in concluded or numbers & set(f.recommendations)]
    return out


def _full(a: Assessment, names) -> Graph:
    g = Graph()
    g.states = [(s.code, names("states", s.code, s.name)) for s in a.states]
    g.frameworks = [(f.id, names("frameworks", f.id, f.name), f.layer, f.status) for f in a.frameworks]
    g.agencies = [(x.id, names("agencies", x.id, x.name), x.role) for x in a.agencies]
    codes = {c for c, _ in g.states}
    edges: dict[tuple[str, str], str] = {}
    for f in a.frameworks:
        for code in f.members:
            if code in codes:
                edges[(code, f.id)] = "member"
    for e in a.trace:
        for fw in e.concluded.get("frameworks", []):
            for code in e.concluded.get("states", []):
                edges.setdefault((code, fw), "takes part")
            for agency in e.concluded.get("agencies", {}):
                edges.setdefault((agency, fw), "acts in")
    for agency, frameworks in _lead_frameworks(a).items():
        for fw in frameworks:
            edges[(agency, fw)] = "leads"
    if "JPN" in codes:
        for agency, _, _ in g.agencies:
            edges[(agency, "JPN")] = "part of"
    g.edges = [(src, dst, kind) for (src, dst), kind in edges.items()]
    return g


def _filtered(g: Graph, states=(), layers=()) -> Graph:
    """Only the frameworks of the given layers that the given states take part in (each filter if given),
    the states asked for (or, without --state, those linked to the frameworks left), and the agencies
    linked to the frameworks left."""
    if not states and not layers:
        return g
    fws = [f for f in g.frameworks if not layers or f[2] in layers]
    if states:
        linked = {dst for src, dst, kind in g.edges if src in states and kind in ("member", "takes part")}
        fws = [f for f in fws if f[0] in linked]
    keep_fw = {f[0] for f in fws}
    if states:
        keep_states = {c for c, _ in g.states if c in states}
    else:
        keep_states = {src for src, dst, kind in g.edges if dst in keep_fw and kind in ("member", "takes part")}
    keep_agencies = {src for src, dst, kind in g.edges if dst in keep_fw and kind in ("leads", "acts in")}
    keep = keep_fw | keep_states | keep_agencies
    return replace(
        g,
        states=[s for s in g.states if s[0] in keep_states],
        frameworks=fws,
        agencies=[x for x in g.agencies if x[0] in keep_agencies],
        edges=[e for e in g.edges if e[0] in keep and e[1] in keep],
        new=g.new & keep,
    )


def grouped(g: Graph) -> Graph:
    """The same picture with fewer edges: a framework every state shown takes part in gets one edge
    from the states' cluster, the agencies one edge to Japan, and states linked to the very same
    frameworks in the same way become one node."""
    edges = list(g.edges)
    codes = [c for c, _ in g.states]
    if len(codes) >= 2:
        out: list[tuple[str, str, str]] = []
        by_fw: dict[str, dict[str, str]] = {}
        for src, dst, kind in edges:
            if kind in ("member", "takes part"):
                by_fw.setdefault(dst, {})[src] = kind
        whole = {fw for fw, links in by_fw.items() if set(links) == set(codes)}
        for fw in [f[0] for f in g.frameworks if f[0] in whole]:
            out.append((STATES, fw, "member" if set(by_fw[fw].values()) == {"member"} else "takes part"))
        edges = [e for e in edges if not (e[2] in ("member", "takes part") and e[1] in whole)] + out
    part_of = [e for e in edges if e[2] == "part of"]
    if len(part_of) >= 2 and len(part_of) == len(g.agencies):
        edges = [e for e in edges if e[2] != "part of"] + [(AGENCIES, part_of[0][1], "part of")]
    # states linked to the same frameworks in the same way, and to nothing else, become one node
    targets = {code for _, dst, _ in edges for code in [dst] if code in codes}
    signature: dict[str, frozenset] = {
        c: frozenset((dst, kind) for src, dst, kind in edges if src == c) for c in codes if c not in targets
    }
    together: dict[frozenset, list[str]] = {}
    for code, sig in signature.items():
        if sig:
            together.setdefault(sig, []).append(code)
    merged: dict[str, str] = {}
    labels = dict(g.states)
    states, done = [], set()
    for code, label in g.states:
        group = next((m for m in together.values() if code in m and len(m) > 1), None)
        if group is None:
            states.append((code, label))
            continue
        if code in done:
            continue
        ref = "+".join(group)
        for c in group:
            merged[c] = ref
            done.add(c)
        names = ", ".join(re.sub(r" \([A-Z]{3}\)$", "", labels[c]) for c in group)
        states.append((ref, f"{names} ({', '.join(group)})"))
    if merged:
        edges = list(dict.fromkeys((merged.get(s, s), merged.get(d, d), k) for s, d, k in edges))
    new = set(g.new) | {ref for c, ref in merged.items() if c in g.new}
    return replace(g, states=states, edges=edges, new=new, grouped=True)


def drawn_edges(g: Graph) -> list[tuple[str, str, str]]:
    """The edges as drawn: an agency that leads in every framework of a layer (two or more) gets one
    edge to the layer's box instead of one to each."""
    led: dict[str, set[str]] = {}
    for src, dst, kind in g.edges:
        if kind == "leads":
            led.setdefault(src, set()).add(dst)
    whole: dict[str, list[str]] = {}
    for agency, frameworks in led.items():
        for layer in LAYER_TITLES:
            ids = {f[0] for f in g.frameworks if f[2] == layer}
            if len(ids) >= 2 and ids <= frameworks:
                whole.setdefault(agency, []).append(layer)
    out, done = [], set()
    for src, dst, kind in g.edges:
        lead_layer = next((f[2] for f in g.frameworks if f[0] == dst), None) if kind == "leads" else None
        if lead_layer in whole.get(src, []):
            if (src, lead_layer) not in done:
                done.add((src, lead_layer))
                out.append((src, LAYER + str(lead_layer), kind))
            continue
        out.append((src, dst, kind))
    return out


def _nodes(g: Graph) -> set[str]:
    return {c for c, _ in g.states} | {f[0] for f in g.frameworks} | {x[0] for x in g.agencies}


def density(g: Graph) -> Density:
    """Nodes, edges, edges per node and the most edges at one node (a cluster's edge counts once)."""
    degree: Counter[str] = Counter()
    edges = drawn_edges(g)
    for src, dst, _ in edges:
        degree[src] += 1
        degree[dst] += 1
    nodes = len(_nodes(g))
    return Density(nodes, len(edges), round(len(edges) / nodes, 2) if nodes else 0.0, max(degree.values(), default=0))


def network(
    a: Assessment, names=None, *, states=(), layers=(), group: bool | None = None, before: Assessment | None = None
) -> Graph:
    """Nodes and edges of the network for one assessment, in a stable order.

    `states` and `layers` keep only those states' frameworks, or those layers'; `group` draws one
    edge for a whole cluster where it can (None: when the picture has more than DENSE edges per node);
    `before`, an earlier stage's assessment, marks the bodies that are new since it.
    """
    name = names or (lambda kind, ref, default: default)
    g = _filtered(_full(a, name), states, layers)
    g.titles = _titles(names)
    if before is not None:
        g.new = _nodes(g) - _nodes(_filtered(_full(before, name), states, layers))
    g.per_node = density(g).per_node
    if group or (group is None and g.per_node > DENSE):
        g = grouped(g)
    return g


def _titles(names) -> dict[str, str]:
    """The clusters' titles and the roles in Japanese when `names` asks for Japanese (--lang ja)."""
    catalog = getattr(names, "catalog", None)
    if catalog is None or getattr(names, "lang", "en") != "ja":
        return {}
    tj = catalog.text_ja
    titles = {"agencies": tj.labels.get("graph_agencies", ""), "states": tj.labels.get("graph_states", "")}
    titles.update(tj.vocabulary.get("layers", {}))
    titles.update({k: v for k, v in tj.labels.items() if k.startswith(("role_", "graph_"))})
    return {k: v for k, v in titles.items() if v}


def stage_assessment(a: Assessment, n: int) -> Assessment:
    """The answer at stage n (0: the start, before any inject)."""
    if n == 0:
        return a.model_copy(update={"stages": None})
    assert a.stages is not None and n <= len(a.stages)
    return Assessment.model_validate(a.stages[n - 1].assessment)


def pictures(
    a: Assessment,
    names=None,
    *,
    stage: int | None = None,
    every: bool = False,
    states=(),
    layers=(),
    group: bool | None = None,
    title: str = "",
) -> list[Picture]:
    """The pictures to draw: the whole assessment, one stage, or every stage in order (new bodies marked)."""
    from .errors import InputError

    count = len(a.stages or [])
    if stage is not None and stage > count:
        raise InputError(
            f"there is no stage {stage}: this scenario has stages 0 to {count} (0 is the start, then one per inject)",
            loc="--stage",
        )
    if stage is None and not every:
        return [Picture(title, network(a, names, states=states, layers=layers, group=group))]
    numbers = range(count + 1) if every or stage is None else [stage]
    say = Graph(titles=_titles(names)).say
    out = []
    for n in numbers:
        here = stage_assessment(a, n)
        before = stage_assessment(a, n - 1) if n else None
        head = say("graph_start") if n == 0 or not a.stages else a.stages[n - 1].title
        out.append(
            Picture(
                say("graph_stage_titled", title=title, number=str(n), head=head)
                if title
                else say("graph_stage", number=str(n), head=head),
                network(here, names, states=states, layers=layers, group=group, before=before),
                n,
            )
        )
    return out


def _id(prefix: str, ref: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", ref)


def _node(ref: str, g: Graph) -> str:
    if ref == STATES:
        return "states"
    if ref == AGENCIES:
        return "agencies"
    if ref.startswith(LAYER):
        return ref[len(LAYER) :]
    if any(ref == c for c, _ in g.states):
        return _id("s_", ref)
    if any(ref == a for a, _, _ in g.agencies):
        return _id("a_", ref)
    return _id("f_", ref)


def _one_line(text: str) -> str:
    """Text for a label: one line, no control or bidi characters (the output may go to a terminal)."""
    return printable(re.sub("\r\n|[\r\n\u2028\u2029]", " ", str(text)))


def _dot_quote(text: str, wrap: int = 0) -> str:
    import textwrap

    text = _one_line(text).replace("\\", "\\\\").replace('"', '\\"')
    if wrap:
        text = "\\n".join(textwrap.wrap(text, wrap)) or text
    return '"' + text + '"'


def _new(ref: str, g: Graph, label: str) -> str:
    return f"new: {label}" if ref in g.new else label


_NEW_DOT = ', penwidth=3, color="#c0392b"'
_EDGE_DOT = {
    "member": "style=solid",
    "takes part": "style=dashed",
    "acts in": "style=dotted",
    "part of": "style=solid",
    "leads": 'style=bold, color="#b35900", penwidth=2',
}


def _clusters_linked(g: Graph) -> bool:
    return any(src in (STATES, AGENCIES) or dst.startswith(LAYER) for src, dst, _ in drawn_edges(g))


def to_dot(g: Graph, title: str = "", name: str = "network") -> str:
    """Graphviz DOT: frameworks clustered by layer, states and agencies apart; new bodies in a thick red frame."""
    lines = [
        f"digraph {name} {{",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=1.2'
        + (", compound=true" if _clusters_linked(g) else "")
        + (f", label={_dot_quote(title)}, labelloc=t" if title else "")
        + "];",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [color="#888888", arrowsize=0.6];',
    ]
    lines.append(
        f'  subgraph cluster_agencies {{ label={_dot_quote(g.title("agencies", "Japanese agencies"))}; color="#b0b0b0";'
    )
    for ref, label, role in g.agencies:
        shown = f"{label} ({g.title('role_' + role, role)})"
        lines.append(
            f"    {_id('a_', ref)} [label={_dot_quote(_new(ref, g, shown), 34)}, shape=box, "
            f'style="rounded,filled", fillcolor="{"#f6d38a" if role == "lead" else "#fbeccb"}"'
            f"{_NEW_DOT if ref in g.new else ''}];"
        )
    lines.append("  }")
    lines.append(f'  subgraph cluster_states {{ label={_dot_quote(g.title("states", "States"))}; color="#b0b0b0";')
    for ref, label in g.states:
        shown = label if "+" in ref else f"{label} ({ref})"
        lines.append(
            f"    {_id('s_', ref)} [label={_dot_quote(_new(ref, g, shown), 34)}, shape=ellipse, style=filled, "
            f'fillcolor="#d7e8f7"{_NEW_DOT if ref in g.new else ""}];'
        )
    lines.append("  }")
    for layer in LAYER_TITLES:
        members = [f for f in g.frameworks if f[2] == layer]
        if not members:
            continue
        lines.append(
            f'  subgraph cluster_{layer} {{ label={_dot_quote(g.title(layer, LAYER_TITLES[layer]))}; color="#b0b0b0";'
        )
        for ref, label, _, status in members:
            style = '"filled,dashed"' if status == "proposed" else "filled"
            lines.append(
                f"    {_id('f_', ref)} [label={_dot_quote(_new(ref, g, label), 34)}, shape=box, style={style}, "
                f'fillcolor="{"#ffffff" if status == "proposed" else "#e3f1df"}"'
                f"{_NEW_DOT if ref in g.new else ''}];"
            )
        lines.append("  }")
    for src, dst, kind in drawn_edges(g):
        extra = ""
        if src == STATES:  # an edge from the whole cluster: drawn from one of its nodes, cut at its border
            src, extra = g.states[0][0], ", ltail=cluster_states"
        elif src == AGENCIES:
            src, extra = g.agencies[0][0], ", ltail=cluster_agencies"
        if dst.startswith(LAYER):
            layer = dst[len(LAYER) :]
            dst, extra = next(f[0] for f in g.frameworks if f[2] == layer), extra + f", lhead=cluster_{layer}"
        lines.append(f"  {_node(src, g)} -> {_node(dst, g)} [{_EDGE_DOT[kind]}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# Mermaid's entity codes: a label can neither close its quotes, nor hold HTML, nor (with no backtick)
# close the ```mermaid fence of a Markdown brief, nor be read as a Markdown string
_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;"}


def _mermaid_label(text: str) -> str:
    return '"' + re.sub('[#"<>&`]', lambda m: _MERMAID_ENTITIES[m.group()], _one_line(text)) + '"'


def to_mermaid(g: Graph) -> str:
    """A Mermaid flowchart: renders on code-hosting sites inside a ```mermaid block."""
    lines = ["flowchart LR"]
    lines.append(f"  subgraph agencies[{_mermaid_label(g.title('agencies', 'Japanese agencies'))}]")
    for ref, label, role in g.agencies:
        shown = f"{label} ({g.title('role_' + role, role)})"
        lines.append(f"    {_id('a_', ref)}({_mermaid_label(_new(ref, g, shown))})")
    lines.append("  end")
    lines.append(f"  subgraph states[{_mermaid_label(g.title('states', 'States'))}]")
    for ref, label in g.states:
        shown = label if "+" in ref else f"{label} ({ref})"
        lines.append(f"    {_id('s_', ref)}([{_mermaid_label(_new(ref, g, shown))}])")
    lines.append("  end")
    for layer, title in LAYER_TITLES.items():
        members = [f for f in g.frameworks if f[2] == layer]
        if members:
            lines.append(f"  subgraph {layer}[{_mermaid_label(g.title(layer, title))}]")
            for ref, label, _, _status in members:
                lines.append(f"    {_id('f_', ref)}[{_mermaid_label(_new(ref, g, label))}]")
            lines.append("  end")
    arrows = {"member": "-->", "takes part": "-.->", "acts in": "-.->", "part of": "-->", "leads": "==>"}
    for src, dst, kind in drawn_edges(g):
        lines.append(f"  {_node(src, g)} {arrows[kind]} {_node(dst, g)}")
    proposed = [_id("f_", ref) for ref, _, _, status in g.frameworks if status == "proposed"]
    if proposed:
        lines.append("  classDef proposed stroke-dasharray: 5 5")
        lines.append(f"  class {','.join(proposed)} proposed")
    new = [_node(ref, g) for ref in sorted(g.new)]
    if new:
        lines.append("  classDef new stroke:#c0392b,stroke-width:3px")
        lines.append(f"  class {','.join(new)} new")
    return "\n".join(lines) + "\n"


def graphviz_available() -> bool:
    return shutil.which("dot") is not None


def to_svg(g: Graph, title: str = "") -> str | None:
    """SVG laid out by Graphviz, or None when its `dot` program is not installed."""
    if not graphviz_available():
        return None
    out = subprocess.run(["dot", "-Tsvg"], input=to_dot(g, title), capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return None
    svg = out.stdout
    return svg[svg.index("<svg") :]  # drop the XML prolog and doctype, so it can sit inside HTML


# --- a sequence of pictures, the matrix ------------------------------------------------------


def _svg_size(svg: str) -> tuple[float, float]:
    head = svg[: svg.index(">")]
    width = re.search(r'\swidth="([\d.]+)pt"', head)
    height = re.search(r'\sheight="([\d.]+)pt"', head)
    return (float(width.group(1)) if width else 0.0), (float(height.group(1)) if height else 0.0)


def stack_svg(svgs: list[str], gap: float = 24.0) -> str:
    """One SVG document holding the given (Graphviz) SVG pictures one below the other, in points."""
    parts, y, width = [], 0.0, 0.0
    for svg in svgs:
        w, h = _svg_size(svg)
        head, rest = svg[: svg.index(">")], svg[svg.index(">") :]
        head = re.sub(r'\s(width|height)="([\d.]+)pt"', r' \1="\2"', head)
        parts.append(head.replace("<svg", f'<svg x="0" y="{y:g}"', 1) + rest.rstrip() + "\n")
        y += h + gap
        width = max(width, w)
    height = max(y - gap, 0.0)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}pt" height="{height:g}pt" '
        f'viewBox="0 0 {width:g} {height:g}">\n' + "".join(parts) + "</svg>\n"
    )


def _initials(label: str) -> str:
    return "".join(w[0] for w in re.findall(r"[A-Za-z]+", label) if w[0].isupper()) or label[:6]


def to_matrix(g: Graph, title: str = "", short: dict[str, str] | None = None) -> str:
    """Who belongs to what as a Markdown table: frameworks (by layer) against states and agencies."""
    from .render.markdown import md_table
    from .render.safe import md_escape

    short = short or {}
    links = {(src, dst): kind for src, dst, kind in g.edges}
    states = [c for c, _ in g.states]
    agencies = [x[0] for x in g.agencies]
    mark = {"member": "M", "takes part": "p", "leads": "L", "acts in": "a"}
    say = g.say
    headers = (
        [say("graph_framework"), say("graph_layer")]
        + [say("graph_new", name=c) if c in g.new else c for c in states]
        + [short.get(x) or _initials(label) for x, label, _ in g.agencies]
    )
    rows = []
    for layer in LAYER_TITLES:
        for ref, label, _layer, status in [f for f in g.frameworks if f[2] == layer]:
            name = say("graph_proposed", name=label) if status == "proposed" else label
            name = say("graph_new", name=name) if ref in g.new else name
            rows.append(
                [name, g.title(layer, LAYER_TITLES[layer])]
                + [mark.get(links.get((c, ref), ""), "") for c in states]
                + [mark.get(links.get((x, ref), ""), "") for x in agencies]
            )
    out = [f"## {md_escape(title)}", ""] if title else []
    out.append(md_table(headers, rows) if rows else say("graph_no_frameworks"))
    key = [
        say(
            "graph_agency_key",
            short=short.get(x) or _initials(label),
            name=label,
            role=say("graph_role_new", role=g.title("role_" + role, role))
            if x in g.new
            else g.title("role_" + role, role),
        )
        for x, label, role in g.agencies
    ]
    marks = say("graph_marks")
    out += [
        "",
        md_escape(
            say("graph_marks_agencies", marks=marks, agencies=say("graph_sep").join(key)) if key else marks, False
        ),
    ]
    return "\n".join(out) + "\n"


def filters(catalog, states=(), layers=()) -> tuple[list[str], list[str]]:
    """The state codes and layer ids asked for, canonical; an unknown one is an error naming its option."""
    from .errors import InputError, nearest

    codes, ids = [], []
    for value in states:
        found = catalog.resolve("states", value)
        if found is None:
            raise InputError(f"unknown state '{value}' (did you mean {catalog.hint('states', value)}?)", loc="--state")
        codes.append(found)
    for value in layers:
        found = value.strip().lower().replace("-", "_").replace(" ", "_")
        if found not in catalog.vocabulary.layers:
            raise InputError(
                f"unknown layer '{value}' (did you mean {nearest(found, catalog.vocabulary.layers)}?)", loc="--layer"
            )
        ids.append(found)
    return list(dict.fromkeys(codes)), list(dict.fromkeys(ids))


def draw(
    a: Assessment, catalog, names, fmt: str, *, stage=None, every=False, states=(), layers=(), group=None
) -> tuple[str | None, list[Picture]]:
    """The network of an assessment in `fmt` (`advisor graph`, POST /v1/graph), with the pictures drawn;
    the text is None when SVG is asked for and Graphviz is not installed."""
    pics = pictures(
        a,
        names,
        stage=stage,
        every=every,
        states=states,
        layers=layers,
        group=False if fmt == "matrix" else group,
        title=a.threat.get("title") or a.threat["id"],
    )
    text = render(pics, fmt, {ref: x.short for ref, x in catalog.agencies.items() if x.short})
    if text is not None and fmt == "svg":
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + text
    return text, pics


def render(pics: list[Picture], fmt: str, short: dict[str, str] | None = None) -> str | None:
    """The pictures in one output: DOT graphs one after another, Mermaid diagrams each in its own
    ```mermaid block under a heading (when more than one), SVG pictures stacked in one document,
    matrices one after another. None when SVG is asked for and Graphviz is not installed."""
    from .render.safe import md_escape

    if fmt == "svg":
        svgs = [to_svg(p.graph, p.title) for p in pics]
        drawn = [s for s in svgs if s is not None]
        if len(drawn) < len(svgs):
            return None
        return drawn[0] if len(drawn) == 1 else stack_svg(drawn)
    if fmt == "dot":
        return "\n".join(to_dot(p.graph, p.title, "network" if p.stage is None else f"stage_{p.stage}") for p in pics)
    if fmt == "matrix":
        return "\n".join(to_matrix(p.graph, p.title, short) for p in pics)
    if len(pics) == 1:
        return to_mermaid(pics[0].graph)
    return "\n".join(f"## {md_escape(p.title)}\n\n```mermaid\n{to_mermaid(p.graph)}```\n" for p in pics)


# --- measuring a layout ---------------------------------------------------------------------------


def _tokens(line: str) -> list[str]:
    return re.findall(r'"(?:[^"\\]|\\.)*"|\S+', line)


def _cross(p, q, r, s) -> bool:
    """Whether segments pq and rs cross (touching at an end does not count)."""

    def turn(a, b, c):
        v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return (v > 1e-9) - (v < -1e-9)

    return turn(p, q, r) * turn(p, q, s) < 0 and turn(r, s, p) * turn(r, s, q) < 0


def crossings(g: Graph) -> int | None:
    """Pairs of edges whose drawn lines cross in Graphviz's layout, or None without Graphviz.

    Each edge is taken as the polyline through its spline's control points (from `dot -Tplain`);
    edges that share a node are not counted, since they meet there anyway.
    """
    if not graphviz_available():
        return None
    out = subprocess.run(["dot", "-Tplain"], input=to_dot(g), capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return None
    lines = []
    for line in out.stdout.splitlines():
        t = _tokens(line)
        if t and t[0] == "edge":
            n = int(t[3])
            pts = [(float(t[4 + 2 * i]), float(t[5 + 2 * i])) for i in range(n)]
            lines.append((t[1], t[2], pts))
    count = 0
    for i, (a1, b1, p1) in enumerate(lines):
        for a2, b2, p2 in lines[i + 1 :]:
            if {a1, b1} & {a2, b2}:
                continue
            if any(_cross(p1[j], p1[j + 1], p2[k], p2[k + 1]) for j in range(len(p1) - 1) for k in range(len(p2) - 1)):
                count += 1
    return count
