"""SSRF: the http connector reaches only the hosts its integration allows, and no internal
address unless the integration says so, checked on every connection (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from conftest import make_integration
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.connectors import (
    HostPolicy,
    HostRefused,
    HttpConnector,
    VendorUnavailable,
    connector_problems,
)
from seamline.connectors.testing import Reply
from seamline.errors import ConfigError
from seamline.integration import ActionSpec
from seamline.preflight import check

NOT_PUBLIC = ["127.0.0.1", "127.8.9.10", "10.0.0.5", "172.16.0.1", "192.168.1.1",
              "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250",
              "255.255.255.255", "192.0.2.1", "198.18.0.1", "240.0.0.1", "::1", "::",
              "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1", "2001:db8::1",
              "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
              "2002:7f00:1::", "2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe"]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2001:4860:4860::8888", "2606:4700::1111",
          "::ffff:8.8.8.8"]


def test_every_kind_of_internal_address_is_refused_and_public_ones_pass():
    policy = HostPolicy("http", ["partner.example"])
    for text in NOT_PUBLIC:
        assert not policy.address_allowed(ipaddress.ip_address(text)), text
    for text in PUBLIC:
        assert policy.address_allowed(ipaddress.ip_address(text)), text
    # Allowed explicitly: all of them with allow_private, or one address or network by listing.
    everything = HostPolicy("http", ["partner.example"], allow_private=True)
    assert all(everything.address_allowed(ipaddress.ip_address(t)) for t in NOT_PUBLIC)
    listed = HostPolicy("http", ["127.0.0.1", "10.1.0.0/16"])
    assert listed.address_allowed(ipaddress.ip_address("127.0.0.1"))
    assert listed.address_allowed(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert listed.address_allowed(ipaddress.ip_address("10.1.2.3"))
    assert not listed.address_allowed(ipaddress.ip_address("10.2.0.1"))
    assert not listed.address_allowed(ipaddress.ip_address("127.0.0.2"))


def test_host_names_match_as_dns_sees_them():
    policy = HostPolicy("http", ["partner.example", "*.hooks.example", "203.0.113.7"])
    assert policy.host_allowed("partner.example") and policy.host_allowed("PARTNER.example.")
    assert policy.host_allowed("ｐartner.example")  # full-width p: the same name once mapped
    assert policy.host_allowed("partner\u3002example")  # ideographic full stop is a dot
    assert policy.host_allowed("eu.hooks.example") and not policy.host_allowed("hooks.example")
    assert policy.host_allowed("203.0.113.7") and not policy.host_allowed("203.0.113.8")
    for host in ("evil.example", "partner.example.evil.example", "partner.example\u3002evil.com",
                 "evilpartner.example", "hooks.example.evil", "xn--", "2130706433"):
        assert not policy.host_allowed(host), host


@pytest.mark.parametrize("entry", ["https://partner.example", "partner.example/path",
                                   "partner.example:443", "user@partner.example", "*", "*.",
                                   "", "part ner.example", "*.10.0.0.1"])
def test_an_allow_list_entry_that_is_not_a_host_is_refused(store, entry):
    with pytest.raises(ConfigError, match="allow_hosts"):
        HttpConnector({"base_url": "https://partner.example", "allow_hosts": [entry]}, store=store)


def test_without_an_allow_list_the_connector_refuses_and_check_says_so(store):
    with pytest.raises(ConfigError, match="talks only to hosts listed in its option allow_hosts"):
        HttpConnector({"base_url": "https://partner.example/api"}, store=store)
    [said] = connector_problems("connector:http.send", {"base_url": "https://partner.example"})
    assert said == ("The http connector talks only to hosts listed in its option allow_hosts, "
                    "and this action lists none; add allow_hosts: [partner.example] if "
                    "partner.example is meant.")
    integration = make_integration(actions=(ActionSpec(
        name="notify", handler="connector:http.send", params={"x": "output.label"},
        connector={"base_url": "https://partner.example", "path": "/events"}),))
    problems = [p for p in check(integration) if p.part == "actions"]
    assert [(p.level, "allow_hosts" in p.sentence) for p in problems] == [("error", True)]
    fixed = make_integration(actions=(ActionSpec(
        name="notify", handler="connector:http.send", params={"x": "output.label"},
        connector={"base_url": "https://partner.example", "path": "/events",
                   "allow_hosts": ["partner.example"]}),))
    assert [p for p in check(fixed) if p.part == "actions"] == []


@pytest.mark.parametrize(("options", "words"), [
    ({"base_url": "https://evil.example", "allow_hosts": ["partner.example"]},
     "The host evil.example of the http connector's base_url is not in its allow_hosts"),
    ({"base_url": "http://169.254.169.254/latest", "allow_hosts": ["partner.example"]},
     "169.254.169.254 of the http connector's base_url is not in its allow_hosts"),
    ({"base_url": "http://10.0.0.5", "allow_hosts": ["10.0.0.0/8"], "allow_private": False},
     None),  # a network listed is an explicit allowance
    ({"base_url": "ftp://partner.example", "allow_hosts": ["partner.example"]},
     "must be an http:// or https:// URL"),
])
def test_check_names_a_base_url_off_the_list(options, words):
    said = connector_problems("connector:http.send", options)
    assert said == [] if words is None else words in said[0]


def test_a_name_resolving_to_loopback_is_refused_before_connecting(vendor, store):
    vendor.route("POST", "/*", lambda r: Reply(200, {"id": "1"}))
    port = vendor.url.rsplit(":", 1)[1]
    for host in ("localhost", "2130706433", "0x7f.1", "127.1"):
        c = HttpConnector({"base_url": f"http://{host}:{port}", "path": "/events",
                           "allow_hosts": [host]}, store=store, sleep=lambda s: None)
        with pytest.raises(HostRefused, match="resolves to 127.0.0.1, a private, loopback") as info:
            c.send({"x": 1}, idempotency_key="k")
        assert info.value.sent is False and not info.value.retryable
    with pytest.raises(ConfigError, match="not a valid URL"):  # octal: httpx refuses it
        HttpConnector({"base_url": f"http://0177.0.0.1:{port}", "allow_hosts": ["0177.0.0.1"]},
                      store=store)
    assert vendor.requests == []  # the local server was never reached


def test_ipv4_mapped_ipv6_addresses_are_judged_by_the_ipv4_inside(vendor, store, monkeypatch):
    port = vendor.url.rsplit(":", 1)[1]
    with pytest.raises(ConfigError, match="::ffff:7f00:1 of the http connector's base_url is not"):
        HttpConnector({"base_url": f"http://[::ffff:127.0.0.1]:{port}",
                       "allow_hosts": ["partner.test"]}, store=store)
    dns = Resolver(monkeypatch, {"partner.test": ["::ffff:127.0.0.1"]})
    c = HttpConnector({"base_url": f"http://partner.test:{port}", "path": "/events",
                       "allow_hosts": ["partner.test"]}, store=store, sleep=lambda s: None)
    for answer in ("::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:a00:1"):
        dns.answers["partner.test"] = [answer]
        with pytest.raises(HostRefused, match="a private, loopback"):
            c.send({"x": 1}, idempotency_key="k")
    assert vendor.requests == []


def test_private_addresses_are_reached_only_when_allowed(vendor, store):
    vendor.route("POST", "/events", lambda r: Reply(200, {"id": "e-1"}))
    port = vendor.url.rsplit(":", 1)[1]
    by_name = HttpConnector({"base_url": f"http://localhost:{port}", "path": "/events",
                             "allow_hosts": ["localhost"], "allow_private": True,
                             "require": ["id"]}, store=store, sleep=lambda s: None)
    assert by_name.send({"x": 1}, idempotency_key="k1")["body"] == {"id": "e-1"}
    by_address = HttpConnector({"base_url": vendor.url, "path": "/events", "require": ["id"],
                                "allow_hosts": ["127.0.0.1"]}, store=store, sleep=lambda s: None)
    assert by_address.send({"x": 1}, idempotency_key="k2")["body"] == {"id": "e-1"}
    assert [r.headers["idempotency-key"] for r in vendor.requests] == ["k1", "k2"]


class Resolver:
    """A DNS that answers what the test says for test names, the system's for the rest."""

    def __init__(self, monkeypatch, answers: dict[str, list[str]]) -> None:
        self.answers, self.asked = answers, []
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        self.asked.append(host)
        if host not in self.answers:
            return self._real(host, port, *args, **kwargs)
        answer = self.answers[host]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in answer]


def test_every_connection_checks_what_the_name_resolves_to_now(vendor, store, monkeypatch):
    # DNS rebinding: the name answered a public address when the integration was written;
    # it answers 127.0.0.1 now. The check runs at connect time, so it sees the new answer.
    dns = Resolver(monkeypatch, {"partner.test": ["93.184.215.14"]})
    vendor.route("POST", "/*", lambda r: Reply(200, {"id": "1"}))
    port = vendor.url.rsplit(":", 1)[1]
    c = HttpConnector({"base_url": f"http://partner.test:{port}", "path": "/events",
                       "allow_hosts": ["partner.test"]}, store=store, sleep=lambda s: None)
    dns.answers["partner.test"] = ["127.0.0.1"]
    with pytest.raises(HostRefused, match="resolves to 127.0.0.1"):
        c.send({"x": 1}, idempotency_key="k")
    dns.answers["partner.test"] = ["93.184.215.14", "10.0.0.7"]  # one bad answer is enough
    with pytest.raises(HostRefused, match="resolves to 10.0.0.7"):
        c.send({"x": 1}, idempotency_key="k")
    assert vendor.requests == []


def test_it_connects_to_the_address_it_checked_not_to_the_name_again(vendor, store, monkeypatch):
    dns = Resolver(monkeypatch, {"partner.test": ["127.0.0.1"]})
    vendor.route("POST", "/events", lambda r: Reply(200, {"id": "e-1"}))
    port = vendor.url.rsplit(":", 1)[1]
    c = HttpConnector({"base_url": f"http://partner.test:{port}", "path": "/events",
                       "require": ["id"], "allow_hosts": ["partner.test", "127.0.0.1"]},
                      store=store, sleep=lambda s: None)
    assert c.send({"x": 1}, idempotency_key="k")["body"] == {"id": "e-1"}
    assert dns.asked.count("partner.test") == 1  # looked up once, by the check
    [request] = vendor.requests
    assert request.headers["host"] == f"partner.test:{port}"  # the vendor still sees its name


def test_environment_proxies_are_not_used(vendor, store, monkeypatch):
    # Through a proxy the address checked would be the proxy's: the guarded transport never
    # takes one from the environment.
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.0.0.1:3128")
    vendor.route("POST", "/events", lambda r: Reply(200, {"id": "e-1"}))
    c = HttpConnector({"base_url": vendor.url, "path": "/events", "require": ["id"],
                       "allow_hosts": ["127.0.0.1"], "timeout_s": 2}, store=store,
                      sleep=lambda s: None)
    assert c.send({"x": 1}, idempotency_key="k")["body"] == {"id": "e-1"}


def test_https_verifies_the_name_while_connecting_to_the_checked_address(store, monkeypatch,
                                                                        tmp_path):
    # The connection goes to the address the check approved, yet TLS must still verify the
    # certificate of the *name* (SNI and hostname check), or pinning the address would cost
    # the authentication of the vendor.
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import trustme

    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers["Host"])
            body = b'{"id": "e-1"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("partner.test").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    Resolver(monkeypatch, {"partner.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]})
    try:
        good = HttpConnector({"base_url": f"https://partner.test:{port}", "path": "/events",
                              "require": ["id"], "allow_hosts": ["partner.test", "127.0.0.1"]},
                             store=store, sleep=lambda s: None)
        assert good.send({"x": 1}, idempotency_key="k")["body"] == {"id": "e-1"}
        assert seen == [f"partner.test:{port}"]
        # The same address under a name its certificate does not carry: refused by TLS.
        wrong = HttpConnector({"base_url": f"https://impostor.test:{port}", "path": "/events",
                               "max_retries": 0, "allow_hosts": ["impostor.test", "127.0.0.1"]},
                              store=store, sleep=lambda s: None)
        with pytest.raises(VendorUnavailable, match="could not be reached") as info:
            wrong.send({"x": 1}, idempotency_key="k2")
        assert "CERTIFICATE_VERIFY_FAILED" in str(info.value.__cause__)
        assert "impostor.test" in str(info.value.__cause__)  # checked against the name
        assert len(seen) == 1
    finally:
        server.shutdown()
        server.server_close()
