"""User text made safe for every output format: one function owns each escaping rule."""

from __future__ import annotations

import re
from typing import Any

# Titles, ids, descriptions, inject texts and attribute names come from descriptor files that anyone
# may write, so every format neutralises what it prints (rule-base text gets the same treatment: it
# costs nothing and a rule base can come from --rules):
# - terminal text (tables, explain, policy reports, and every other format too, since it may be
#   printed): `printable` turns control characters (C0 but newline and tab, DEL, C1) and the bidi
#   embeddings, overrides and isolates into visible escapes, `\x1b`, `\r`, `\u202e`, so no escape
#   sequence reaches the terminal and no text is reordered;
# - Markdown: `md_escape` flattens line breaks to spaces; turns `&` and `<` into entities (no raw
#   HTML, no autolink); backslash-escapes `\`, `` ` ``, `*`, `[`, `]`, `|` and `$` everywhere, and `_`
#   and `~` where they could open or close emphasis or strikethrough; and, where the text may begin a
#   block (a paragraph, a list item), escapes a leading `#`, `>`, `-`, `+`, `=`, `~` or `1.`, so no
#   heading, quote, list, table, code fence, link or image can be made. `(`, `)`, `!`, `'`, `>` and a
#   `#` inside a line are left as they are (with `[` escaped they make no link or image, and `>` makes
#   no tag without `<`), so ordinary titles stay readable; `md_code` makes a code span;
# - CSV and XLSX: `cell_text` turns CR and CRLF inside a cell into LF, which the csv module quotes
#   (with a "\n" line end it would not quote a bare CR), and gives a cell that begins with `=`, `+`,
#   `-`, `@` or a tab a leading `'`, so no spreadsheet reads it as a formula (OWASP's advice on CSV
#   injection);
# - JSON: json escapes C0 itself; `json_safe` writes DEL, C1, the bidi controls and U+2028/U+2029
#   (which split lines for some readers of JSON Lines) as \u escapes too, the same data;
# - HTML: `html_text`, html.escape on `printable` text; CSS: `css_string`; XML (JUnit): `xml_text`;
#   DOCX: `docx_text`; GitHub workflow commands: `annotation_data` and `annotation_property`;
#   DOT and Mermaid labels: see graph.py.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return "\\r" if code == 0x0D else f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Text safe to print on a terminal: control and bidi characters shown as escapes (`\\x1b`, `\\r`,
    `\\u202e`); newlines and tabs kept."""
    return _UNPRINTABLE.sub(_visible, str(text))


def json_safe(text: str) -> str:
    """JSON text with DEL, C1, the bidi controls and U+2028/2029 as \\u escapes: the same data, safe to
    print and to read line by line (these characters only ever occur inside JSON strings)."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_unsafe(text: str) -> bool:
    """Whether `json_safe` would change anything in `text` (a search, no copy)."""
    return _JSON_UNSAFE.search(text) is not None


# --- Markdown -------------------------------------------------------------------------------------

_MD_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")
# `_` between two letters or digits, and `~` between two spaces, open and close nothing
# (sdf_deployment and "~ role of" stay as they are)
_MD_INLINE = re.compile(r"[\\`*\[\]|$]|(?<![^\W_])_|_(?![^\W_])|(?<=\S)~|~(?=\S)")
_MD_BLOCK = re.compile(r"^(?:([#>+=~-])|(\d+)([.)]))")


class Markdown(str):
    """Text that is Markdown already: `md_escape` (and so a Markdown table) puts it in as it is."""


def md_escape(text: Any, block: bool = True) -> str:
    """Text as Markdown that shows it and does nothing else: one line, no HTML, no links, images or
    emphasis; with `block`, also nothing a line can start (heading, quote, list), for text that may begin
    a paragraph or a list item."""
    if isinstance(text, Markdown):
        return text
    text = printable(_MD_BREAK.sub(" ", str(text)))
    text = text.replace("&", "&amp;").replace("<", "&lt;")  # `>` makes no HTML without `<`
    text = _MD_INLINE.sub(lambda m: "\\" + m.group(), text)
    if block:
        text = _MD_BLOCK.sub(
            lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), text.lstrip(" \t")
        )
    return text


def md_code(text: str) -> Markdown:
    """Text as a Markdown code span, fenced by one backtick more than the longest run inside it."""
    text = printable(_MD_BREAK.sub(" ", str(text))).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


# --- spreadsheets, Word, XML ------------------------------------------------------------------------

_CELL_BREAK = re.compile("\r\n?")
FORMULA_START = ("=", "+", "-", "@", "\t", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and their full-width forms


def _lines(value: Any) -> str:
    """A value as text; a list or tuple one item a line (a cell that holds several)."""
    return "\n".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def cell_text(value: Any) -> str:
    """A spreadsheet cell's text (CSV or XLSX): controls visible, CR/CRLF as LF (a bare CR would end the
    row for some readers, and the csv module quotes only LF), never the start of a formula."""
    text = printable(_CELL_BREAK.sub("\n", _lines(value)))
    # a spreadsheet may skip leading spaces and line breaks before it sees the formula
    return "'" + text if text.lstrip(" \n").startswith(FORMULA_START) else text


def docx_text(value: Any) -> str:
    """Text for Word: controls visible, and what XML 1.0 cannot hold at all (U+FFFE, U+FFFF) too."""
    return xml_text(printable(_lines(value)))


def xml_text(text: str) -> str:
    """Text XML 1.0 can hold: other control characters shown as \\xNN (as printable() shows them)."""
    return "".join(
        c if c in "\t\n\r" or (" " <= c and c not in "\ufffe\uffff") else f"\\x{ord(c):02x}" for c in str(text)
    )


# --- HTML and CSS -------------------------------------------------------------------------------------


def html_text(value: Any) -> str:
    """Text as HTML that shows it: `printable`, then &, <, >, " and ' as entities."""
    from html import escape

    return escape(printable(value))


def css_string(text: str) -> str:
    """A CSS string literal for user text: every character but letters, digits and spaces as a hex escape,
    so no quote, backslash or `</style>` can end it. Each escape ends with a space, which CSS takes as
    part of the escape: a real space after it survives (without it, "(REL JPN) & NOFORN" printed as
    "(REL JPN)&NOFORN")."""
    return (
        '"'
        + "".join(c if c.isalnum() and c.isascii() or c == " " else f"\\{ord(c):06x} " for c in printable(text))
        + '"'
    )


# --- GitHub Actions workflow commands ------------------------------------------------------------------


def annotation_data(text: str) -> str:
    """A workflow command's message: %, CR and LF percent-encoded, so it stays one command."""
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotation_property(text: str) -> str:
    """A workflow command's property value (file=, title=): also `:` and `,`, which end a property."""
    return annotation_data(text).replace(":", "%3A").replace(",", "%2C")
