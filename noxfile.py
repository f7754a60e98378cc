"""The test suite on every supported Python this machine has, from the source distribution.

    nox                                          # every session; a missing interpreter is an error
    nox --no-error-on-missing-interpreters       # what .ci/run does: a missing one is skipped, and said so

Each session builds the sdist once, unpacks it, installs it with its test extra (durable-rules
built with the setting Python 3.13 needs; see the README) and runs the unpacked tests: so the
sdist is checked to carry everything its tests need.
"""

from __future__ import annotations

import glob
import os
import tarfile
import tempfile

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
BUILD_ENV = {"CPPFLAGS": "-DPyEval_CallObject=PyObject_CallObject"}
nox.options.default_venv_backend = "venv"


def _sdist(session: nox.Session) -> str:
    """The source distribution, built once per nox run (dist/ under a temporary directory)."""
    out = os.environ.get("ADVISOR_SDIST_DIR") or tempfile.mkdtemp(prefix="advisor-sdist-")
    os.environ["ADVISOR_SDIST_DIR"] = out
    found = glob.glob(os.path.join(out, "*.tar.gz"))
    if not found:
        session.install("build")
        session.run("python", "-m", "build", "--sdist", "--outdir", out)
        found = glob.glob(os.path.join(out, "*.tar.gz"))
    return found[0]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The fast suite, from the unpacked sdist, on one Python (`nox -- tests` for the whole of it)."""
    sdist = _sdist(session)
    where = session.create_tmp()
    with tarfile.open(sdist) as archive:
        archive.extractall(where, filter="data") if hasattr(tarfile, "data_filter") else archive.extractall(where)
    root = glob.glob(os.path.join(where, "jfir_advisor-*"))[0]
    session.install(f"{root}[test]", env=BUILD_ENV)
    session.chdir(root)
    # The fast suite (-m "not slow"): the slow tests start processes, servers, Chromium and wrk, or
    # walk large corpora, the same whatever the Python; the reference run of .ci/run has every one,
    # and three whole suites side by side on two cores took 13 minutes. `nox -- ARGS` runs ARGS instead.
    args = session.posargs or ["-m", "not slow"]
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *args)
