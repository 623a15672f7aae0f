"""A Lambda function with two classic bugs, for Vigil's end-to-end test (tests/lambda_e2e.rs).

Do not copy: both bugs are deliberate.
"""

import json
import subprocess
import urllib.request


def handler(event, context):
    # lambda-simulator 0.1.7 serves the event as text/plain (Lambda says application/json), so
    # awslambdaric passes it undecoded.
    if isinstance(event, (bytes, str)):
        event = json.loads(event)
    out = {"request_id": context.aws_request_id}
    if "name" in event:
        # BUG, command injection: the caller's name is pasted into a shell command line.
        r = subprocess.run(
            f"echo Hello, {event['name']} | tr a-z A-Z",
            shell=True,
            capture_output=True,
            text=True,
        )
        out["greeting"] = r.stdout.strip()
        out["shell_status"] = r.returncode
        out["shell_stderr"] = r.stderr.strip()
    if "callback_url" in event:
        # BUG, server-side request forgery: the function calls back whatever URL it is given.
        body = json.dumps({"request_id": context.aws_request_id}).encode()
        try:
            with urllib.request.urlopen(event["callback_url"], data=body, timeout=5) as r:
                out["callback_status"] = r.status
        except OSError as e:
            out["callback_error"] = str(e)
    return out
