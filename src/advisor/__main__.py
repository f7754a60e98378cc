"""`python -m advisor` runs the command line."""

from .cli import run

run()
