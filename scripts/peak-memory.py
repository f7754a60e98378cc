"""Run `advisor ARGS...` and report its own peak resident memory on stderr as `PEAK <KiB>` at exit.

The figure is the program's VmHWM, read by the process itself: the kernel's ru_maxrss for a child
would include the memory of whoever forked it (a test process, a benchmark holding its inputs).
Used by tests/test_trust.py and benchmarks/run.py.
"""

import atexit
import sys


def _peak() -> None:
    try:
        with open("/proc/self/status") as fh:
            hwm = [line for line in fh if line.startswith("VmHWM")]
    except OSError:
        hwm = []
    sys.stderr.write("PEAK " + (hwm[0].split()[1] if hwm else "0") + "\n")


atexit.register(_peak)

from advisor.cli import run  # noqa: E402  (after the hook, so that the report comes at any exit)

sys.argv = ["advisor"] + sys.argv[1:]
run()
