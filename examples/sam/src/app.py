"""Summarise a batch of orders: POST /report with a JSON list of orders.

    [{"id": "A-1", "sku": "tea", "quantity": 2, "unit_price": 4.5}, ...]

The function validates the orders, writes the summary as CSV under /tmp (where a real
function would upload it) and returns the totals. Its whole behaviour is what Vigil's
policy (vigil.yaml, next to this file) allows.
"""

import csv
import json
import os
import tempfile
from decimal import Decimal, InvalidOperation

CURRENCY = os.environ.get("REPORT_CURRENCY", "EUR")


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def _parse(order, index):
    try:
        quantity = int(order["quantity"])
        unit_price = Decimal(str(order["unit_price"]))
        sku = str(order["sku"])
    except (KeyError, TypeError, ValueError, InvalidOperation) as e:
        raise ValueError(f"order {index}: {e.__class__.__name__}: {e}") from None
    if quantity <= 0 or unit_price < 0:
        raise ValueError(f"order {index}: quantity must be positive and unit_price not negative")
    return sku, quantity, unit_price


def handler(event, context):
    try:
        orders = json.loads(event.get("body") or "[]")
        if not isinstance(orders, list):
            raise ValueError("the body must be a JSON list of orders")
        lines = [_parse(o, i) for i, o in enumerate(orders)]
    except ValueError as e:
        return _response(400, {"error": str(e)})

    totals = {}
    for sku, quantity, unit_price in lines:
        q, amount = totals.get(sku, (0, Decimal(0)))
        totals[sku] = (q + quantity, amount + quantity * unit_price)

    # One file per request, in the only writable place of a Lambda sandbox.
    fd, path = tempfile.mkstemp(prefix="report-", suffix=".csv", dir="/tmp")
    with os.fdopen(fd, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["sku", "quantity", f"amount_{CURRENCY.lower()}"])
        for sku, (q, amount) in sorted(totals.items()):
            out.writerow([sku, q, f"{amount:.2f}"])
    os.unlink(path)

    grand_total = sum((amount for _, amount in totals.values()), Decimal(0))
    return _response(
        200,
        {
            "orders": len(lines),
            "skus": len(totals),
            "total": f"{grand_total:.2f}",
            "currency": CURRENCY,
        },
    )
