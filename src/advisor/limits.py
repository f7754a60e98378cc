"""The engine's limits, and the margins advisor keeps below them: one table for the loader, the
compiler and the docs.

Where durable-rules 2.0.28 fails, as `scripts/probe-engine-limits.py` finds it (each candidate
in a child process), and the limit advisor keeps, with a margin. A rule over one is refused
when it loads (`compiler.rule_limit_problems`; lists and `any:` also in `rules`); a ruleset
whose network would go over one is cut in two (`compiler.Network`). A rule base that loads can
run. Read as `limits.NAME` so that a test may lift one in a child process.
"""

RULES_PER_RULESET = 200  # 256 rules ending on one test: segfault; 257: error 108
MAX_ALTERNATIVES = 32  # one `any:`, or the values of one test: 65 that hold at once crash the engine
MAX_AT_ONCE = 40  # alternatives of one rule that can hold at once, over all its choices: 65 crash
MAX_EXPANSION = 1024  # a rule's alternatives once its choices are combined: 262,144 take 8-12 s a fact
MAX_JOINS = 12  # conclusions and counts one rule joins: 16 (17 facts with the threat) fail, error 304
MAX_GROUPS = 12  # $and/$or groups in one pattern: the 16th fails, error 113
MAX_SHARED = 48  # tests of one ruleset pending at once for one fact (a stack of 64: 65 crash)
MAX_NEXT = 384  # different tests after one test, in one ruleset (a table of 512; full: never returns)
MAX_ABSENT = 96  # different absence tests after one test, in one ruleset (128: error 107)
MAX_VALUES = (
    100  # entries of one `then` list, and the numbers of `at_least`/`at_most` (a `when` list: MAX_ALTERNATIVES)
)
MAX_CHAIN = 60  # rules each needing the one before: refused at load, well within MAX_STEPS
MAX_STEPS = 100  # advisor's own bound on forward chaining's steps ("did not settle" past it)
MAX_ABANDONED = 500  # states left behind after engine failures, per process (a ruleset holds 1,024)
