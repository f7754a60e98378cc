"""The English phrases of advisor's documents, read from `phrases.yaml` beside this module.

`BRIEF_LABELS` label the brief and the handout; `EXERCISE_TEXT` are the exercise documents'
phrases, with `{fields}` filled in. The Japanese of each is in the catalog's `text_ja.yaml`,
under the same key and with the same fields (checked when the catalog loads).
"""

from __future__ import annotations

from pathlib import Path

from .source import read_yaml

_PHRASES = read_yaml(Path(__file__).with_name("phrases.yaml"))
BRIEF_LABELS: dict[str, str] = dict(_PHRASES["labels"])
EXERCISE_TEXT: dict[str, str] = dict(_PHRASES["exercise"])
