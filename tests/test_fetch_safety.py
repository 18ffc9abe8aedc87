"""Address safety and TLS: no request, first or after a redirect, reaches a refused address,
checked on the address actually connected to; TLS is verified by default."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import pytest
import trustme

from collector.errors import FetchError
from collector.fetch import Fetcher, FetchPolicy, address_problem
from tests.badserver import FEED, BadServer

STRICT = FetchPolicy(deadline_s=5)
LOOSE = FetchPolicy(allow_private=True, deadline_s=5)


def run(url: str, policy: FetchPolicy = STRICT, **fetcher):
    async def go():
        async with Fetcher(per_host_delay_s=0, **fetcher) as f:
            return await f.fetch(url, policy=policy)
    return asyncio.run(go())


def blocked(url: str, **fetcher) -> FetchError:
    with pytest.raises(FetchError) as info:
        run(url, **fetcher)
    assert info.value.kind == "blocked_address", info.value
    return info.value


def resolving_to(*answers: str):
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return list(answers)
    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.fixture
def server() -> Iterator[BadServer]:
    with BadServer() as s:
        yield s


REFUSED = ["127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1",
           "169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0", "255.255.255.255",
           "224.0.0.1", "198.18.0.1", "192.0.2.1", "::1", "::", "::ffff:127.0.0.1",
           "::ffff:10.0.0.1", "::ffff:169.254.169.254", "fe80::1", "fc00::1", "fd12:3456::1",
           "2002:7f00:1::", "2002:a00:1::1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
           "2001:db8::1", "ff02::1"]


@pytest.mark.parametrize("ip", REFUSED)
def test_special_addresses_are_classified_as_refused(ip):
    assert address_problem(ip)


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111",
                                "::ffff:93.184.216.34", "2002:5db8:d822::1"])
def test_public_addresses_are_allowed(ip):
    assert address_problem(ip) is None


@pytest.mark.parametrize("ip", REFUSED)
def test_name_resolving_to_a_special_address_is_refused(ip):
    resolve = resolving_to(ip)
    err = blocked("http://evil.test/feed", resolver=resolve)
    assert "evil.test" in str(err) and resolve.calls == ["evil.test"]


def test_name_resolving_to_several_special_addresses_is_refused():
    blocked("http://evil.test/feed", resolver=resolving_to("10.0.0.1", "::ffff:192.168.0.1"))


def test_loopback_literal_is_refused_without_connecting(server):
    blocked(server.url("/feed"))
    assert server.connections == 0


def test_mapped_ipv6_literal_is_refused(server):
    blocked(server.url("/feed", host="[::ffff:127.0.0.1]"))
    assert server.connections == 0


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "127.1", "0177.0.0.1"])
def test_odd_ipv4_spellings_are_refused(server, host):
    with pytest.raises(FetchError) as info:
        run(server.url("/feed", host=host))
    assert info.value.kind in ("blocked_address", "bad_url", "dns")
    assert server.connections == 0


def test_allow_private_reaches_a_loopback_server(server):
    assert run(server.url("/feed"), LOOSE).content == FEED


def test_allowlisted_network_is_reachable_while_others_stay_refused(server):
    got = run(server.url("/feed"), allowed_networks=["127.0.0.1/32"])
    assert got.content == FEED
    with BadServer(host="127.0.0.2") as other:
        blocked(other.url("/feed"), allowed_networks=["127.0.0.1/32"])
        assert other.connections == 0


def test_redirect_to_a_private_address_is_refused_at_the_hop(server):
    with BadServer(host="127.0.0.2") as inner:
        target = inner.url("/feed")
        err = blocked(server.url(f"/redirect-to?url={target}"),
                      allowed_networks=["127.0.0.1/32"])
        assert "127.0.0.2" in str(err)
        assert inner.connections == 0
    assert "/redirect-to" in server.paths()


def test_dns_rebinding_is_checked_on_every_connect(server):
    """The same name answering a permitted address, then a refused one."""
    with BadServer(host="127.0.0.2", port=server.port) as inner:
        answers = iter([["127.0.0.1"], ["127.0.0.2"]])

        async def rebinding(host: str, port: int) -> list[str]:
            return next(answers)

        async def go():
            async with Fetcher(per_host_delay_s=0, resolver=rebinding,
                               allowed_networks=["127.0.0.1/32"]) as f:
                url = f"http://rebind.test:{server.port}/feed"
                first = await f.fetch(url, policy=FetchPolicy(deadline_s=5, robots=False))
                with pytest.raises(FetchError) as info:
                    await f.fetch(url, policy=FetchPolicy(deadline_s=5, robots=False))
                return first, info.value
        first, err = asyncio.run(go())
        assert first.content == FEED and err.kind == "blocked_address"
        assert inner.connections == 0


# --- TLS -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, *names: str) -> BadServer:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(ctx)
    return BadServer(tls=ctx)


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def test_untrusted_certificate_is_a_tls_failure(ca):
    with tls_server(ca, "127.0.0.1") as s, pytest.raises(FetchError) as info:
        run(s.url("/feed"), LOOSE)
    assert info.value.kind == "tls" and s.url("/feed") in str(info.value)


def test_trusted_certificate_is_accepted(ca):
    with tls_server(ca, "127.0.0.1") as s:
        assert run(s.url("/feed"), LOOSE, ssl_context=trusting(ca)).content == FEED


def test_certificate_for_another_host_is_a_tls_failure(ca):
    with tls_server(ca, "other.test") as s, pytest.raises(FetchError) as info:
        run(s.url("/feed"), LOOSE, ssl_context=trusting(ca))
    assert info.value.kind == "tls"


def test_verification_can_be_switched_off_per_source(ca):
    with tls_server(ca, "other.test") as s:
        policy = FetchPolicy(allow_private=True, deadline_s=5, verify_tls=False)
        assert run(s.url("/feed"), policy).content == FEED
