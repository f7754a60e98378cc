"""advisor: rule-based decision support for East Asian security policy (JFIR, December 2002)."""

__version__ = "0.1.0"

__all__ = ["__version__", "assess", "load_rulebase", "load_threat", "parse_threat"]


def __getattr__(name):
    # The public API is imported on first use so that `import advisor` stays cheap.
    if name in ("assess", "load_rulebase", "load_threat", "parse_threat"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
