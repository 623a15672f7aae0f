"""A small "function": it looks a host up in an inventory API and tags it.

It has a command injection (the host name goes into a shell command), the kind of bug that
turns into a reverse shell in production.
"""
import json
import os
import subprocess
import sys
import urllib.request

API = os.environ.get("INVENTORY_API", "http://127.0.0.1:18080/")


def handler(event):
    host = event["host"]
    with urllib.request.urlopen(API, timeout=5) as r:
        inventory_size = len(r.read())
    # BUG: shell=True with user input.
    tag = subprocess.run(f"echo {host} | tr a-z A-Z", shell=True, capture_output=True, text=True).stdout.strip()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work", "last-result.json")
    with open(out, "w") as f:
        json.dump({"host": host, "tag": tag, "inventory_bytes": inventory_size}, f)
    return {"statusCode": 200, "tag": tag}


if __name__ == "__main__":
    print(json.dumps(handler(json.loads(sys.argv[1]))))
