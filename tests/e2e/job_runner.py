"""One app instance as its own process, driven over stdin/stdout by the multi-instance test.

    LT_RUNNER_OVERRIDES='{"DATABASE_URL": "...", ...}' python -m tests.e2e.job_runner

It builds the app from those overrides (the environment's settings, as `create_app`
reads them), prints `READY`, then for each line on stdin — a JSON object
`{"jobs": ["refresh-tokens", "sync"], "now": "<iso>", "opts": {...}}` — runs those
jobs in order through `jobs.runner.run_job` (the scheduler's and the CLI's path) and
prints one `RESULT {"job": ..., "counts": {...}, "errors": [...]}` line per job, then
`DONE`. Logs go to stderr. EOF ends the process.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime


def main() -> None:
    from app import create_app
    from jobs.runner import run_job

    app = create_app(json.loads(os.environ["LT_RUNNER_OVERRIDES"]))
    print("READY", flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        now = datetime.fromisoformat(command["now"])
        for name in command["jobs"]:
            try:
                result = run_job(app, name, now=now, **command.get("opts", {}).get(name, {}))
                out = {"job": name, "counts": dict(result.counts), "errors": result.errors}
            except Exception as e:  # reported to the test, which fails on it
                out = {"job": name, "counts": {}, "errors": [f"crashed: {type(e).__name__}: {e}"]}
            print("RESULT " + json.dumps(out), flush=True)
        print("DONE", flush=True)


if __name__ == "__main__":
    main()
