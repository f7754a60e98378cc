"""The network picture of one assessment: states, frameworks and Japanese agencies, and who belongs to what.

The graph is built from the assessment alone (member lists, and what one rule concluded
together), then written as Graphviz DOT, as Mermaid, or as SVG laid out by Graphviz's
`dot` program when it is installed.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field

from .models import Assessment
from .render import printable

LAYER_TITLES = {
    "alliances": "Alliances", "cooperative_security": "Cooperative security",
    "other_arrangements": "Other security arrangements", "coalitions_of_the_willing": "Coalitions of the willing",
    "japanese_coordination": "Japan's coordination bodies", "long_term_goal": "Long-term goal",
}


@dataclass
class Graph:
    states: list[tuple[str, str]] = field(default_factory=list)               # (code, label)
    frameworks: list[tuple[str, str, str, str]] = field(default_factory=list)  # (id, label, layer, status)
    agencies: list[tuple[str, str, str]] = field(default_factory=list)        # (id, label, role)
    edges: list[tuple[str, str, str]] = field(default_factory=list)           # (from, to, kind)


def build(a: Assessment, names=None) -> Graph:
    """Nodes and edges of the network for one assessment, in a stable order."""
    name = names or (lambda kind, ref, default: default)
    g = Graph()
    g.states = [(s.code, name("states", s.code, s.name)) for s in a.states]
    g.frameworks = [(f.id, name("frameworks", f.id, f.name), f.layer, f.status) for f in a.frameworks]
    g.agencies = [(x.id, name("agencies", x.id, x.name), x.role) for x in a.agencies]
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
    if "JPN" in codes:
        for agency, _, _ in g.agencies:
            edges[(agency, "JPN")] = "part of"
    g.edges = [(src, dst, kind) for (src, dst), kind in edges.items()]
    return g


def _id(prefix: str, ref: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", ref)


def _node(ref: str, g: Graph) -> str:
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


def to_dot(g: Graph, title: str = "") -> str:
    """Graphviz DOT: frameworks clustered by layer, states and agencies apart."""
    lines = ["digraph network {", "  rankdir=LR;", '  graph [fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=1.2'
             + (f", label={_dot_quote(title)}, labelloc=t" if title else "") + "];",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [color="#888888", arrowsize=0.6];']
    lines.append('  subgraph cluster_agencies { label="Japanese agencies"; color="#b0b0b0";')
    for ref, label, role in g.agencies:
        lines.append(f'    {_id("a_", ref)} [label={_dot_quote(f"{label} ({role})", 34)}, shape=box, style="rounded,filled", '
                     f'fillcolor="{"#f6d38a" if role == "lead" else "#fbeccb"}"];')
    lines.append("  }")
    lines.append('  subgraph cluster_states { label="States"; color="#b0b0b0";')
    for ref, label in g.states:
        lines.append(f'    {_id("s_", ref)} [label={_dot_quote(f"{label} ({ref})")}, shape=ellipse, style=filled, '
                     'fillcolor="#d7e8f7"];')
    lines.append("  }")
    for layer in LAYER_TITLES:
        members = [f for f in g.frameworks if f[2] == layer]
        if not members:
            continue
        lines.append(f'  subgraph cluster_{layer} {{ label={_dot_quote(LAYER_TITLES[layer])}; color="#b0b0b0";')
        for ref, label, _, status in members:
            style = '"filled,dashed"' if status == "proposed" else "filled"
            lines.append(f'    {_id("f_", ref)} [label={_dot_quote(label, 34)}, shape=box, style={style}, '
                         f'fillcolor="{"#ffffff" if status == "proposed" else "#e3f1df"}"];')
        lines.append("  }")
    for src, dst, kind in g.edges:
        style = {"member": "solid", "takes part": "dashed", "acts in": "dotted", "part of": "solid"}[kind]
        lines.append(f"  {_node(src, g)} -> {_node(dst, g)} [style={style}];")
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
    lines.append('  subgraph agencies["Japanese agencies"]')
    for ref, label, role in g.agencies:
        lines.append(f"    {_id('a_', ref)}({_mermaid_label(f'{label} ({role})')})")
    lines.append("  end")
    lines.append('  subgraph states["States"]')
    for ref, label in g.states:
        lines.append(f"    {_id('s_', ref)}([{_mermaid_label(f'{label} ({ref})')}])")
    lines.append("  end")
    for layer, title in LAYER_TITLES.items():
        members = [f for f in g.frameworks if f[2] == layer]
        if members:
            lines.append(f'  subgraph {layer}["{title}"]')
            for ref, label, _, status in members:
                lines.append(f"    {_id('f_', ref)}[{_mermaid_label(label)}]")
            lines.append("  end")
    arrows = {"member": "-->", "takes part": "-.->", "acts in": "-.->", "part of": "-->"}
    for src, dst, kind in g.edges:
        lines.append(f"  {_node(src, g)} {arrows[kind]} {_node(dst, g)}")
    proposed = [_id("f_", ref) for ref, _, _, status in g.frameworks if status == "proposed"]
    if proposed:
        lines.append("  classDef proposed stroke-dasharray: 5 5")
        lines.append(f"  class {','.join(proposed)} proposed")
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
    return svg[svg.index("<svg"):]  # drop the XML prolog and doctype, so it can sit inside HTML
