"""Session: https only, retries, Retry-After, pauses, blocks, errors, loops."""

from __future__ import annotations

import asyncio
import ssl
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

import crmkit
from crmkit._login import SingleFlightLogin
from crmkit._mapping import error_for_status

pytestmark = pytest.mark.anyio


def counting_transport(*answers: int | Exception, headers: dict[str, str] | None = None):
    """A MockTransport answering with the given statuses (or raising), then 200s."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return httpx.Response(answer, headers=headers or {}, content=b"{}")
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handler), seen


def make_session(transport: httpx.AsyncBaseTransport, clock, **kwargs) -> crmkit.Session:
    return crmkit.Session(
        "https://acme.example.test/api/", transport=transport, clock=clock, **kwargs
    )


def test_ssl_context_is_tls12_or_newer_with_verification():
    context = crmkit.make_ssl_context()
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


async def test_session_client_uses_the_tls12_context():
    """httpx's own transport here; aiohttp's (the default) in ``test_aiohttp_transport.py``."""
    async with crmkit.Session("https://acme.example.test", transport="httpx") as session:
        pool = session._client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_plain_http_base_url_is_refused():
    with pytest.raises(ValueError, match="https"):
        crmkit.Session("http://acme.example.test")


async def test_plain_http_request_url_is_refused(clock):
    transport, seen = counting_transport()
    async with make_session(transport, clock) as session:
        with pytest.raises(ValueError, match="https"):
            await session.request("GET", "http://other.example.test/x")
    assert seen == []


async def test_http_allowed_when_asked(clock):
    transport, seen = counting_transport()
    async with crmkit.Session(
        "http://127.0.0.1:9", transport=transport, allow_insecure_http=True, clock=clock
    ) as session:
        response = await session.request("GET", "items")
    assert response.status_code == 200
    assert str(seen[0].url) == "http://127.0.0.1:9/items"


async def test_relative_urls_keep_the_base_path(clock):
    transport, seen = counting_transport()
    async with make_session(transport, clock) as session:
        await session.request("GET", "/v5/orders", params={"limit": 20})
    assert str(seen[0].url) == "https://acme.example.test/api/v5/orders?limit=20"


async def test_params_go_out_as_httpx_would_merge_them(clock):
    """The Session builds a request's query itself (one URL parse instead of httpx's three)."""
    params_list = [
        {"limit": 20, "page": 3, "filter[ids][]": [1, 2], "on": True, "off": False, "none": None},
        [("q", "SELECT * FROM Leads WHERE x = 'é & ü';"), ("q", "+/?#%")],
        {},
    ]
    transport, seen = counting_transport()
    async with make_session(transport, clock) as session:
        for params in params_list:
            await session.request("GET", "v5/orders", params=params)
        await session.request("GET", "v5/orders?by=id", params={"limit": 5})  # merged by httpx
    base = "https://acme.example.test/api/v5/orders"
    expected = [httpx.Request("GET", base, params=p).url for p in params_list]
    expected.append(httpx.Request("GET", base + "?by=id", params={"limit": 5}).url)
    assert [r.url for r in seen] == expected
    assert [r.url.raw_path for r in seen] == [u.raw_path for u in expected]


async def test_a_remembered_url_still_follows_the_sessions_base_and_https_rule(clock):
    transport, seen = counting_transport()
    async with crmkit.Session(
        "http://127.0.0.1:9/a/", transport=transport, allow_insecure_http=True, clock=clock
    ) as session:
        await session.request("GET", "items")
        session.base_url = httpx.URL("http://127.0.0.1:9/b/")
        await session.request("GET", "items")
        session.allow_insecure_http = False
        with pytest.raises(ValueError, match="https"):
            await session.request("GET", "items")
    assert [str(r.url) for r in seen] == [
        "http://127.0.0.1:9/a/items",
        "http://127.0.0.1:9/b/items",
    ]


async def test_closed_session_raises_clearly(clock):
    transport, _ = counting_transport()
    session = make_session(transport, clock)
    await session.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await session.request("GET", "x")


def test_session_bound_to_its_first_event_loop():
    transport, _ = counting_transport()
    session = crmkit.Session("https://acme.example.test", transport=transport)
    asyncio.run(session.request("GET", "x"))
    with pytest.raises(RuntimeError, match="another event loop"):
        asyncio.run(session.request("GET", "x"))


async def test_503_is_retried_for_get(clock):
    transport, seen = counting_transport(503, 503)
    async with make_session(transport, clock) as session:
        response = await session.request("GET", "x")
    assert response.status_code == 200
    assert len(seen) == 3
    assert len(clock.sleeps) == 2 and clock.sleeps[1] > clock.sleeps[0] * 1.2


async def test_503_is_not_retried_for_post(clock):
    transport, seen = counting_transport(503)
    async with make_session(transport, clock) as session:
        with pytest.raises(crmkit.ServerError) as info:
            await session.request("POST", "x", json={"a": 1})
    assert info.value.status == 503
    assert len(seen) == 1


async def test_post_marked_idempotent_is_retried(clock):
    transport, seen = counting_transport(502)
    async with make_session(transport, clock) as session:
        await session.request("POST", "x", json={}, idempotent=True)
    assert len(seen) == 2


async def test_dropped_connection_retried_for_get_not_for_post(clock):
    drop = httpx.RemoteProtocolError("peer closed connection")
    transport, seen = counting_transport(drop)
    async with make_session(transport, clock) as session:
        assert (await session.request("GET", "x")).status_code == 200
    assert len(seen) == 2
    transport, seen = counting_transport(drop)
    async with make_session(transport, clock) as session:
        with pytest.raises(crmkit.TransportError, match="RemoteProtocolError"):
            await session.request("POST", "x")
    assert len(seen) == 1


async def test_connection_never_made_is_retried_even_for_post(clock):
    transport, seen = counting_transport(httpx.ConnectError("refused"))
    async with make_session(transport, clock) as session:
        assert (await session.request("POST", "x")).status_code == 200
    assert len(seen) == 2


async def test_retries_are_bounded(clock):
    transport, seen = counting_transport(503, 503, 503, 503, 503)
    async with make_session(transport, clock, max_retries=2) as session:
        with pytest.raises(crmkit.ServerError):
            await session.request("GET", "x")
    assert len(seen) == 3


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422])
async def test_client_errors_are_never_retried(clock, status):
    transport, seen = counting_transport(status)
    async with make_session(transport, clock) as session:
        with pytest.raises(crmkit.APIError) as info:
            await session.request("GET", "x")
    assert info.value.status == status
    assert len(seen) == 1
    expected = {
        400: crmkit.ValidationError,
        401: crmkit.AuthenticationError,
        402: crmkit.PaymentRequiredError,
        403: crmkit.PermissionDeniedError,
        404: crmkit.NotFoundError,
        422: crmkit.ValidationError,
    }[status]
    assert type(info.value) is expected


async def test_retry_after_seconds_pauses_the_session(clock):
    transport, seen = counting_transport(429, headers={"Retry-After": "7"})
    async with make_session(transport, clock) as session:
        start = clock.now
        await session.request("POST", "x")
    assert len(seen) == 2
    assert clock.now - start == pytest.approx(7.0)
    assert session.stats.rate_limited == 1


async def test_retry_after_http_date(clock):
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    transport, seen = counting_transport(
        429, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    async with make_session(transport, clock) as session:
        start = clock.now
        await session.request("GET", "x")
    assert len(seen) == 2
    assert 27 <= clock.now - start <= 30.5


async def test_retry_after_above_cap_raises_at_once(clock):
    transport, seen = counting_transport(429, headers={"Retry-After": "3600"})
    async with make_session(transport, clock) as session:
        with pytest.raises(crmkit.RateLimitError) as info:
            await session.request("GET", "x")
    assert info.value.retry_after == 3600
    assert len(seen) == 1
    assert clock.sleeps == []


async def test_429_without_retry_after_backs_off_then_gives_up(clock):
    transport, seen = counting_transport(429, 429, 429, 429, 429)
    async with make_session(transport, clock, max_retries=3) as session:
        with pytest.raises(crmkit.RateLimitError):
            await session.request("GET", "x")
    assert len(seen) == 4


async def test_pause_after_429_holds_every_task_of_the_session(clock):
    sent_at: list[tuple[float, str]] = []
    first = True

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal first
        sent_at.append((clock.now, request.url.path))
        if first:
            first = False
            return httpx.Response(429, headers={"Retry-After": "5"})
        return httpx.Response(200, json={})

    async with make_session(httpx.MockTransport(handler), clock) as session:
        start = clock.now
        await session.request("GET", "/first")
        # The pause is still on for tasks that had nothing to do with the 429.
        session.throttle.pause(0)  # does not shorten the pause
        others = [session.request("GET", f"/other{i}") for i in range(5)]
        await asyncio.gather(*others)
    assert len(sent_at) == 7
    # the retried request and every later one left only once the 5 s pause was over
    assert all(t >= start + 5 for t, path in sent_at[1:])


async def test_pause_is_shared_between_concurrent_tasks(clock):
    limiter = crmkit.RateLimiter(None, clock=clock)
    limiter.pause(3)
    released: list[float] = []

    async def worker() -> None:
        await limiter.acquire()
        released.append(clock.now)

    start = clock.now
    await asyncio.gather(*(worker() for _ in range(10)))
    assert len(released) == 10
    assert min(released) >= start + 3


def _blocking_mapper(response: httpx.Response) -> crmkit.CRMError | None:
    if response.status_code == 403:
        return error_for_status(response, "account blocked", cls=crmkit.AccountBlockedError)
    return crmkit.default_error_mapper(response)


async def test_after_a_block_nothing_more_is_sent(clock):
    transport, seen = counting_transport(403)
    async with make_session(transport, clock, error_mapper=_blocking_mapper) as session:
        with pytest.raises(crmkit.AccountBlockedError):
            await session.request("GET", "a")
        for _ in range(3):
            with pytest.raises(crmkit.AccountBlockedError):
                await session.request("GET", "b")
        assert session.blocked is not None
    assert len(seen) == 1


async def test_max_concurrency_bounds_requests_in_flight(clock):
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return httpx.Response(200, json={})

    async with make_session(httpx.MockTransport(handler), clock, max_concurrency=3) as session:
        await asyncio.gather(*(session.request("GET", "x") for _ in range(12)))
    assert peak == 3


async def test_caller_http_client_is_used_and_left_open(clock):
    transport, seen = counting_transport()
    client = httpx.AsyncClient(transport=transport)
    async with crmkit.Session("https://acme.example.test", http_client=client) as session:
        await session.request("GET", "x")
    assert len(seen) == 1
    assert not client.is_closed
    await client.aclose()


def test_session_repr_hides_secrets():
    session = crmkit.Session("https://user:hunter22@acme.example.test/?apiKey=s3cr3tkey")
    text = repr(session)
    assert "hunter22" not in text and "s3cr3tkey" not in text
    assert "acme.example.test" in text


class _LoginFirst(SingleFlightLogin):
    """A login step before the caller's request; the caller's request is rebuilt, as vtiger's is."""

    def __init__(self) -> None:
        super().__init__()
        self.session: str | None = None

    async def current(self):
        return self.session

    def login_step(self, answer):
        return httpx.Request("POST", "https://crm.example/login") if answer is None else None

    async def logged_in(self, answer):
        self.session = answer.headers.get("x-session", "none")

    def authorize(self, request, credential):
        headers = {**request.headers, "x-session": credential}
        return httpx.Request(request.method, request.url, headers=headers, content=request.content)


@pytest.mark.parametrize("refusal", [503, 429])
async def test_an_auth_request_refused_for_now_is_sent_again(refusal):
    answers = {"login": [refusal, 200]}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/login":
            status = answers["login"].pop(0)
            return httpx.Response(status, headers={"x-session": "s1"} if status == 200 else {})
        return httpx.Response(200, json={"session": request.headers["x-session"]})

    async with crmkit.Session(
        "https://crm.example",
        auth=_LoginFirst(),
        transport=httpx.MockTransport(handler),
        retry=crmkit.RetryPolicy(max_retries=2, backoff_base=0.01),
    ) as session:
        response = await session.request("GET", "/things")
    assert response.json() == {"session": "s1"}
    assert session.stats.requests == 3 and session.stats.retries == 1
    assert session.stats.rate_limited == (1 if refusal == 429 else 0)


async def test_the_callers_request_rebuilt_by_a_login_flow_is_not_repeated_behind_its_back():
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if request.url.path == "/login":
            return httpx.Response(200, headers={"x-session": "s1"})
        return httpx.Response(503)

    async with crmkit.Session(
        "https://crm.example",
        auth=_LoginFirst(),
        transport=httpx.MockTransport(handler),
        retry=crmkit.RetryPolicy(max_retries=2, backoff_base=0.01),
    ) as session:
        with pytest.raises(crmkit.ServerError):
            await session.request("POST", "/records", content=b"create me")
    assert sent == ["/login", "/records"]  # a POST is not safe to repeat: sent once


@pytest.mark.network
async def test_the_throttle_learns_the_answer_s_instant_from_its_headers_over_loopback():
    """httpcore's trace tells the Session when an answer's headers came: a body that
    takes 0.4 s more does not lengthen the slot (the server counted the request before)."""
    import time

    from crmkit.sandbox import serve

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.4)
        await send({"type": "http.response.body", "body": b"{}"})

    class Shifted:
        """The system clock, which the test can move ahead."""

        shift = 0.0

        def monotonic(self) -> float:
            return time.monotonic() + self.shift

        async def sleep(self, seconds: float) -> None:
            await asyncio.sleep(seconds)

    clock = Shifted()
    limiter = crmkit.RateLimiter(2, clock=clock)
    with serve(app) as served:
        async with crmkit.Session(
            served.url, throttle=limiter, allow_insecure_http=True, clock=clock
        ) as session:
            await session.request("GET", "x")
            done = time.monotonic()
    clock.shift = 1.0 - 0.6 - (time.monotonic() - done)  # a window after the body, less 0.6 s
    assert limiter.in_use == 1  # the strict rule (one answer): held a window after the headers
    clock.shift = 1.0 - 0.3  # a window after the body, less 0.3 s
    assert limiter.in_use == 0  # the headers came 0.4 s before the body: the slot is over


def test_url_for_joins_a_path_once_and_again_when_the_base_changes():
    session = crmkit.Session("https://a.example.test/api/")
    first = session.url_for("leads")
    assert str(first) == "https://a.example.test/api/leads"
    assert session.url_for("leads") is first  # parsed and joined once
    with pytest.raises(ValueError, match="https"):
        session.url_for("http://a.example.test/leads")  # still checked every time
    for n in range(300):
        session.url_for(f"leads/{n}")
    assert len(session._urls) <= 256  # bounded
    session.base_url = httpx.URL("https://b.example.test/v2/")
    assert str(session.url_for("leads")) == "https://b.example.test/v2/leads"
    session.allow_insecure_http = True
    assert str(session.url_for("http://a.example.test/leads")) == "http://a.example.test/leads"


async def test_cookies_set_by_answers_are_kept_and_sent_as_httpx_keeps_them():
    """The Session's jar skips answers that set no cookie (as httpx's would change nothing)."""
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        step = request.url.path.rsplit("/", 1)[-1]
        headers = {
            "login": [("Set-Cookie", "sid=one; Path=/"), ("Set-Cookie", "lang=ru; Path=/")],
            "renew": [("set-cookie", "sid=two; Path=/")],
            "logout": [("Set-Cookie", "sid=gone; Path=/; Max-Age=0")],
        }.get(step, [])
        return httpx.Response(200, headers=headers, json={"ok": True})

    async with crmkit.Session(
        "https://acme.example.test/", transport=httpx.MockTransport(handler)
    ) as session:
        for step in ("first", "login", "plain", "plain", "renew", "plain", "logout", "plain"):
            await session.request("GET", step)
        jar = dict(session._client.cookies)
    assert sent == [
        None, None, "sid=one; lang=ru", "sid=one; lang=ru", "sid=one; lang=ru",
        "sid=two; lang=ru", "sid=two; lang=ru", "lang=ru",
    ]  # fmt: skip
    assert jar == {"lang": "ru"}
