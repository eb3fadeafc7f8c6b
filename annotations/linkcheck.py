"""Fetching a source's URL safely: bounded, and never at a private address (SSRF).

Every hop (the URL and each redirect) is checked the same way: http or https only; the
host name is resolved once and *every* address it resolves to must be public; then the
connection goes to that checked address (no second lookup a rebinding DNS server could
answer differently), with the original host name for the Host header and for TLS.
Private, loopback, link-local (cloud metadata included), multicast, reserved and shared
addresses are refused with a sentence saying why. Loopback can be allowed for tests
(LINKCHECK_ALLOW_LOOPBACK); nothing else can.

Two outcomes are not about safety: a host name that does not resolve (Unresolvable: the
link is broken) and one that cannot be a host name at all (InvalidHost: a label over 63
characters, a name over 253, an empty label, or one IDNA cannot encode). Both are
sentences too; nothing about a host name raises anything else.
"""

import hashlib
import http.client
import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass
from html import unescape
from urllib.parse import urljoin, urlsplit

USER_AGENT = "Mozilla/5.0 (compatible; FactCheckDesk/1.0; +source link checker)"
MAX_REDIRECTS = 5
MAX_BYTES = 2 * 1024 * 1024
TIMEOUT = 10.0
# Metadata services that are not in a link-local range everywhere.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class Refused(Exception):
    """The URL may not be fetched; the message says why, as a sentence."""


class Unresolvable(Refused):
    """The host name does not resolve (or has no address): a broken link, not an unsafe one."""


class InvalidHost(Refused):
    """The host name cannot be one (too long, an empty label, not encodable as IDNA)."""


MAX_LABEL = 63
MAX_NAME = 253


def _shown(host: str) -> str:
    return host if len(host) <= 80 else f"{host[:60]}…{host[-10:]}"


def host_ascii(host: str) -> str:
    """The host name as DNS and the Host header carry it (IDNA, lower case, no trailing
    dot), or InvalidHost saying why it cannot be one."""
    name = host[:-1] if host.endswith(".") else host
    labels = []
    for label in name.split("."):
        if not label:
            raise InvalidHost(f"The host name {_shown(host)} is not valid: it has an empty label.")
        if len(label) > MAX_LABEL:
            raise InvalidHost(f"The host name {_shown(host)} is not valid: a label is longer than "
                              f"{MAX_LABEL} characters.")
        try:
            encoded = label.encode("idna")
        except UnicodeError:
            raise InvalidHost(f"The host name {_shown(host)} is not valid: a label cannot be encoded as an "
                              f"international domain name (at most {MAX_LABEL} characters once encoded).") from None
        labels.append(encoded.decode("ascii").lower())
    ascii_name = ".".join(labels)
    if len(ascii_name) > MAX_NAME:
        raise InvalidHost(f"The host name {_shown(host)} is not valid: it is longer than {MAX_NAME} characters.")
    return ascii_name


@dataclass(frozen=True)
class Fetched:
    status_code: int
    final_url: str
    title: str
    content_hash: str
    truncated: bool


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool) -> str | None:
    """Why this address may not be fetched, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "a reserved address"
    return None


def checked_address(host: str, port: int, *, allow_loopback: bool) -> str:
    """Resolve once; refuse if any address is unsafe; return the address to connect to."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addresses = [literal]
    except ValueError:
        name = host_ascii(host)
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise Unresolvable(f"The host name {_shown(host)} could not be resolved ({exc.strerror}).") from None
        except UnicodeError:  # host_ascii lets nothing through that does this; just in case
            raise InvalidHost(f"The host name {_shown(host)} is not valid.") from None
        # An IPv6 address comes with its zone ("fe80::1%eth0"); the zone is not part of it.
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise Unresolvable(f"The host name {_shown(host)} has no address.")
    for ip in addresses:
        problem = address_problem(ip, allow_loopback=allow_loopback)
        if problem:
            if str(ip) == host.strip("[]"):
                raise Refused(f"Refused to fetch: {ip} is {problem}.")
            raise Refused(f"Refused to fetch: {host} resolves to {ip}, which is {problem}.")
    return str(addresses[0])


def _host_header(host: str) -> str:
    """For the Host header and TLS: an address as it is, a name in its IDNA form."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host_ascii(host)
    return host


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed address, with SNI and certificate checks for the real host name."""

    def __init__(self, address: str, host: str, port: int, timeout: float):
        self._ssl_context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._ssl_context)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


@dataclass(frozen=True)
class Response:
    """A page as a checked GET left it: the status, the headers (names in lower case), and
    the body, read up to max_bytes."""

    status_code: int
    final_url: str
    headers: dict[str, str]
    body: bytes
    truncated: bool


def get(url: str, *, headers: dict[str, str] | None = None, allow_loopback: bool = False,
        timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS) -> Response:
    """GET `url` with every hop checked (see the module's docstring); extra request headers
    (If-None-Match, If-Modified-Since) may be given. Refused, TimeoutError or OSError."""
    deadline = time.monotonic() + timeout
    for _ in range(max_redirects + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(f"Refused to fetch {url[:200]}: only http and https addresses are checked.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = checked_address(parts.hostname, port, allow_loopback=allow_loopback)
        remaining = max(0.5, deadline - time.monotonic())
        connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        conn = connection_class(address, _host_header(parts.hostname), port, remaining)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", path, headers={
                "User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                "Accept-Encoding": "identity", **(headers or {}),
            })
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location"))
                continue
            body = response.read(max_bytes + 1)
            answered = {name.lower(): value for name, value in response.getheaders()}
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"The page took longer than {timeout:.0f} s.")
        return Response(status_code=response.status, final_url=url, headers=answered,
                        body=body[:max_bytes], truncated=len(body) > max_bytes)
    raise Refused(f"Gave up after {max_redirects} redirects.")


def fetch(url: str, *, allow_loopback: bool = False, timeout: float = TIMEOUT,
          max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS) -> Fetched:
    response = get(url, allow_loopback=allow_loopback, timeout=timeout, max_bytes=max_bytes,
                   max_redirects=max_redirects)
    match = TITLE.search(response.body[:200_000])
    title = unescape(match.group(1).decode("utf-8", "replace")).strip()[:500] if match else ""
    return Fetched(
        status_code=response.status_code,
        final_url=response.final_url,
        title=" ".join(title.split()),
        content_hash=hashlib.sha256(response.body).hexdigest(),
        truncated=response.truncated,
    )


@dataclass(frozen=True)
class Posted:
    status_code: int
    excerpt: str


def url_check(url: str, *, allow_loopback: bool = False) -> str:
    """The address `url` would be connected to; Refused (with a sentence) if it may not be."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"Refused {url[:200]}: only http and https addresses can be reached.")
    return checked_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                           allow_loopback=allow_loopback)


def post(url: str, *, body: bytes, headers: dict[str, str], allow_loopback: bool = False,
         timeout: float = TIMEOUT, max_bytes: int = 4096) -> Posted:
    """POST to a checked address, redirects not followed (a webhook receiver answers itself)."""
    address = url_check(url, allow_loopback=allow_loopback)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    conn = connection_class(address, _host_header(str(parts.hostname)), port, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers={"User-Agent": USER_AGENT, **headers})
        response = conn.getresponse()
        excerpt = response.read(max_bytes)
    finally:
        conn.close()
    return Posted(status_code=response.status, excerpt=excerpt.decode("utf-8", "replace"))
