"""Which hosts a connector may reach, checked where the socket is opened (SSRF).

The ``http`` connector takes its base URL from the integration, but nothing may make it a
tool for reaching the inside of the network it runs in: a base URL pointing at
``169.254.169.254`` (cloud metadata), a partner's name whose DNS later answers
``10.0.0.5`` (rebinding), ``http://2130706433/`` (127.0.0.1 in decimal). So a
:class:`HostPolicy` names the hosts allowed (names, ``*.`` suffixes, IP addresses,
networks) and refuses every non-public address unless the integration says so.

The check runs in :class:`GuardedTransport`'s network backend, which resolves the name
itself, checks *every* address it resolves to, and then connects to a checked address:
the name is not resolved again between the check and the connection, so a DNS answer
cannot change in between. TLS still verifies the certificate of the name (httpcore takes
the server name from the URL, not from the address connected to).

Hand-written because no maintained library does this for httpx: the checks themselves
are the standard library's (:mod:`ipaddress`, :func:`socket.getaddrinfo`) and IDNA
normalisation is the ``idna`` package's (UTS #46, as browsers map ``ｅvil.com``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
import idna

from seamline.connectors._errors import ConnectorError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class HostRefused(ConnectorError):
    """The connector would have reached a host or an address its integration does not allow.

    Nothing was sent (the check runs before the connection opens) and sending again cannot
    help: the integration's ``allow_hosts`` / ``allow_private`` decide.
    """


def normalise_host(host: str) -> str:
    """``host`` as DNS sees it: IDNA (UTS #46) ASCII, lower case, no trailing dot.

    ``ｅvil.com`` (full-width e) and ``evil.com。`` (ideographic full stop) both become
    ``evil.com``, so an allow-list compares what would actually be looked up.
    """
    text = host.strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    try:
        ascii_host = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{host!r} is not a valid host name ({exc})") from None
    return ascii_host.lower().rstrip(".")


def public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address, looking through IPv4 embedded in IPv6.

    ``::ffff:127.0.0.1`` (IPv4-mapped), ``2002:7f00:1::`` (6to4) and ``64:ff9b::7f00:1``
    (NAT64) are judged by the IPv4 address inside them.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return public(inner)
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified)


class HostPolicy:
    """The hosts a connector may reach and whether non-public addresses are allowed.

    ``allow_hosts`` entries: a name (``api.partner.example``), a suffix (``*.partner.example``
    matches its subdomains, not itself), an IP address or a network (``10.1.0.0/16``). A
    non-public address is refused unless ``allow_private`` is true or it lies in an address
    or network listed: listing ``127.0.0.1`` is the explicit way to let a test reach a
    local server, and listing ``localhost`` is not (its address is not listed).
    """

    def __init__(self, connector: str, allow_hosts: Iterable[str], *,
                 allow_private: bool = False) -> None:
        self.connector, self.allow_private = connector, allow_private
        self.allow_hosts = tuple(allow_hosts)
        names: set[str] = set()
        suffixes: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in self.allow_hosts:
            kind, value = parse_entry(entry)
            if kind == "network":
                networks.append(ipaddress.ip_network(value))
            else:
                (suffixes if kind == "suffix" else names).add(value)
        self._names, self._suffixes = frozenset(names), tuple(sorted(suffixes))
        self._networks = tuple(networks)

    def host_allowed(self, host: str) -> bool:
        """Whether ``host`` (a name or an address literal) is on the allow-list."""
        try:
            name = normalise_host(host)
        except ValueError:
            return False
        address = _literal(name)
        if address is not None:
            return any(address in n for n in self._networks)
        return name in self._names or any(name.endswith("." + s) for s in self._suffixes)

    def address_allowed(self, address: IPAddress) -> bool:
        """Whether connecting to ``address`` is allowed (public, or allowed explicitly).

        An IPv4-mapped address is listed either as itself or as the IPv4 address inside it.
        """
        forms = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            forms.append(address.ipv4_mapped)
        return public(address) or self.allow_private or any(
            a in n for a in forms for n in self._networks)

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``: every one it resolves to, all allowed.

        Raises :class:`HostRefused` if the host is not on the list, or any of its addresses
        is not allowed (one bad answer is enough: a rebinding attack mixes them).
        """
        if not self.host_allowed(host):
            raise HostRefused(f"The {self.connector} connector may not reach {host!r}: it is "
                              "not in the connector option allow_hosts.",
                              connector=self.connector)
        try:
            infos = socket.getaddrinfo(normalise_host(host), port, type=socket.SOCK_STREAM)
        except (OSError, ValueError) as exc:
            raise httpcore.ConnectError(f"{host} could not be resolved: {exc}") from exc
        addresses: list[str] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not self.address_allowed(address):
                raise HostRefused(
                    f"The {self.connector} connector may not reach {host!r}: it resolves to "
                    f"{address}, a private, loopback, link-local or reserved address; list that "
                    "address (or its network) in allow_hosts, or set allow_private: true, if "
                    "the integration really means an internal service.",
                    connector=self.connector)
            if str(address) not in addresses:
                addresses.append(str(address))
        return addresses


_ENTRY = ("is not a host name, a *.suffix, an IP address or a network; write the host alone, "
          "without scheme, port or path")


def parse_entry(entry: str) -> tuple[str, str]:
    """One allow_hosts entry as ``(kind, value)``: name, suffix or network; ValueError if garbled."""
    text = entry.strip()
    try:
        return "network", str(ipaddress.ip_network(text.strip("[]"), strict=False))
    except ValueError:
        pass
    kind = "suffix" if text.startswith("*.") else "name"
    bare = text[2:] if kind == "suffix" else text
    if not bare or any(c in bare for c in ":/@?#*%\\ ") or _literal(bare) is not None:
        raise ValueError(f"{entry!r} {_ENTRY}")
    return kind, normalise_host(bare)


def _literal(name: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: HostPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in self.policy.resolve(host, port):
            try:
                return self._inner.connect_tcp(address, port, timeout=timeout,
                                               local_address=local_address,
                                               socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # the next address of the same host may answer
        raise error or httpcore.ConnectError(f"{host} resolved to no address")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise HostRefused(f"The {self.policy.connector} connector does not connect to Unix "
                          "sockets.", connector=self.policy.connector)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection passes :class:`HostPolicy` first.

    Environment proxies are not used (``trust_env`` off): through a proxy, the address
    checked would be the proxy's, not the vendor's.
    """

    def __init__(self, policy: HostPolicy, **kwargs: Any) -> None:
        super().__init__(trust_env=False, **kwargs)
        self.policy = policy
        # httpx.HTTPTransport takes no network backend, so its pool is rebuilt with ours
        # (the same httpcore pool it builds, plus the backend). SSL_CERT_FILE / SSL_CERT_DIR
        # still choose the CA bundle: only proxies are taken from the environment no more.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             network_backend=_GuardedBackend(policy))


__all__ = ["GuardedTransport", "HostPolicy", "HostRefused", "normalise_host", "parse_entry",
           "public"]
