"""advisor: rule-based decision support for East Asian security policy (JFIR, December 2002).

    >>> import advisor
    >>> a = advisor.assess({"type": "piracy", "region": "Malacca Strait"})
    >>> "wpns" in [f.id for f in a.frameworks]
    True

`assess` takes a descriptor as a dict, a path to a JSON file, or a parsed `Descriptor`, and
by default the shipped rule base (loaded once per process). Every name below is importable
from `advisor` directly; they are imported on first use, so `import advisor` stays cheap.
"""

__version__ = "0.1.0"

_API = ("assess", "load_rulebase", "load_threat", "parse_threat")
_MODELS = (
    "Assessment",
    "Descriptor",
    "Inject",
    "Exercise",
    "FrameworkOut",
    "AgencyOut",
    "RoleOut",
    "StateOut",
    "RecommendationOut",
    "RemarkOut",
    "TraceEntry",
    "StageOut",
    "SinceOut",
)
_ERRORS = (
    "AdvisorError",
    "InputError",
    "DescriptorError",
    "FileReadError",
    "PolicyFileError",
    "AuthoringError",
    "RuleFileError",
    "CatalogError",
    "EnvironmentProblem",
    "OutputError",
    "SettingError",
    "EngineError",
    "EngineUnavailable",
    "AdvisorWarning",
    "CacheWarning",
)

__all__ = ["__version__", *_API, "Rulebase", *_MODELS, *_ERRORS]


def __getattr__(name):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _MODELS:
        from . import models

        return getattr(models, name)
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    if name == "Rulebase":
        from .rules import Rulebase

        return Rulebase
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
