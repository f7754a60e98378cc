"""Where a cold `advisor assess ONE.json --format json` spends its time, stage by stage (run by run.py
in a fresh process; prints one JSON object of milliseconds)."""

import time

start = time.perf_counter()
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as the advisor program sets it
marks = {}
from advisor import api, cli  # noqa: E402,F401

marks["import advisor and its dependencies (pydantic, click, PyYAML; advisor's models, catalog, rules, CLI)"] = (
    time.perf_counter()
)
from advisor import chaining  # noqa: E402

marks["import the engine driver, chaining and compiler"] = time.perf_counter()
rulebase = api.load_rulebase()
marks["load the rule base (cache) and compile it"] = time.perf_counter()
chaining.prepare(rulebase)
marks["prepare: create the rulesets"] = time.perf_counter()
threat = api.load_threat(sys.argv[1], rulebase)
marks["read and validate the descriptor"] = time.perf_counter()
assessment = api.assess(threat, rulebase)
marks["assess (the first: the assessment builder and its output parts made)"] = time.perf_counter()
from advisor.render.json import to_json  # noqa: E402

to_json(assessment)
marks["render JSON"] = time.perf_counter()
out, before = {}, start
for name, at in marks.items():
    out[name] = round((at - before) * 1000, 1)
    before = at
print(json.dumps(out))
