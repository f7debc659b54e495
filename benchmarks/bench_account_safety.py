"""Account safety (issue 19): a client told more than its account allows, counted refusals.

An amoCRM sandbox enforces ``--account`` requests/s in a strict sliding window
(blocking after 20 refusals, as amoCRM blocks an account); one client believes
``--told`` requests/s and reads ``--calls`` lists of ``--pages`` pages at once
(the default: 60 requests, 7/s told on a 3/s account). Printed: the refusals
(429s) the account counted, the requests that reached it, the seconds taken,
and where the client's throttle settled (its slowdown). Real time: it takes as
long as the account's rate allows.

    python benchmarks/bench_account_safety.py [--account 3] [--told 7] [--calls 20] [--pages 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import crmkit
from crmkit.amocrm import AmoCRM
from crmkit.amocrm.sandbox import AmoCRMSandbox


async def run(account: int, told: float, calls: int, pages: int) -> None:
    sandbox = AmoCRMSandbox(leads=50 * pages, rate_limit=account, block_after=20)
    async with AmoCRM(
        base_url="http://acme.amocrm.test",
        transport=sandbox.transport(),
        allow_insecure_http=True,
        access_token=sandbox.credentials.access_token,
        rate_limit=told,
        retry=crmkit.RetryPolicy(max_retries=10, backoff_base=0.2),
    ) as amo:
        started = time.monotonic()
        await asyncio.gather(
            *(amo.leads.list(limit=50 * pages, page_size=50).to_list() for _ in range(calls))
        )
        elapsed = time.monotonic() - started
        slowdown = amo.session.throttle.slowdown
    assert sandbox.limiter is not None
    print(
        f"told {told}/s, account {account}/s: {sandbox.limiter.violations()} refusals "
        f"(block at 20) in {sandbox.request_count} requests, {elapsed:.1f} s, "
        f"blocked={sandbox.blocked}, slowdown {slowdown:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--account", type=int, default=3)
    parser.add_argument("--told", type=float, default=7.0)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--pages", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.account, args.told, args.calls, args.pages))


if __name__ == "__main__":
    main()
