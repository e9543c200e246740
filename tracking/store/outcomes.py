"""A batched write's outcome per item, and handing it to the caller's future."""

import asyncio
from typing import Any

# (True, result) or (False, the exception to raise in the caller)
Outcome = tuple[bool, Any]


def settle(future: asyncio.Future[Any], outcome: Outcome) -> None:
    """Resolve a caller's future with its outcome, unless it is already done."""
    if future.done():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
