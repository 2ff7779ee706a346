"""The room's join link as phones can open it: the server's address on the network (not the
127.0.0.1 the presenter's own browser may use), a choice when the machine has several, and a
QR code of it (segno)."""
from __future__ import annotations

import array
import fcntl
import io
import ipaddress
import socket
import struct
from urllib.parse import urlsplit, urlunsplit

import segno
import streamlit as st

from components.base.keys import workshop as keys

_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def _interface_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces (Linux ioctl; elsewhere, what the host
    name resolves to)."""
    found: list[str] = []
    try:
        names = [name for _, name in socket.if_nameindex()]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for name in names:
                request = struct.pack("256s", name.encode()[:15])
                try:
                    reply = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, request)
                except OSError:
                    continue  # no IPv4 address on this interface
                found.append(socket.inet_ntoa(array.array("B", reply[20:24]).tobytes()))
    except (OSError, AttributeError):
        pass
    try:
        found += socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        pass
    return found


def network_addresses(candidates: list[str] | None = None) -> list[str]:
    """Addresses other machines can reach this one at: no loopback or link-local ones,
    private (home, office, classroom) networks first, each once."""
    seen: dict[str, ipaddress.IPv4Address] = {}
    for text in _interface_addresses() if candidates is None else candidates:
        try:
            ip = ipaddress.IPv4Address(text)
        except ValueError:
            continue
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast):
            seen.setdefault(text, ip)
    return sorted(seen, key=lambda t: (not seen[t].is_private, seen[t].packed))


def _is_local(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def with_host(url: str, host: str) -> str:
    """`url` with its host replaced (scheme, port, path and query kept)."""
    parts = urlsplit(url)
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def host_choices(page_url: str, addresses: list[str] | None = None) -> list[str]:
    """Hosts the join link may use: the one this page was opened at first unless it is this
    machine's loopback (useless on a phone), then the network addresses."""
    host = urlsplit(page_url).hostname or ""
    nets = network_addresses() if addresses is None else addresses
    choices = [] if _is_local(host) else [host]
    choices += [a for a in nets if a not in choices]
    return choices or [host or "localhost"]


def qr_png(url: str, scale: int = 6) -> bytes:
    """A QR code of `url` as PNG: black on white, with the quiet zone scanners need."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=scale, border=4,
                                    dark="#000000", light="#ffffff")
    return buffer.getvalue()


def page_url() -> str:
    """The address this browser opened the app at, without the page or query ('' without a
    browser, as under AppTest)."""
    try:
        url = (st.context.url or "").split("?")[0]
    except Exception:  # no browser (AppTest)
        return ""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def join_url(path: str, host: str | None = None) -> str:
    """The join link for `path` (e.g. /workshop?ws=NAME) at `host` (default: the first
    choice)."""
    base = page_url()
    if not base:
        return path
    return with_host(base, host or host_choices(base)[0]) + path


def pick_host(label: str = "Address the room uses") -> str | None:
    """The host for the room's links: a choice when this machine has several addresses
    (kept for the session), none to make when it has one."""
    base = page_url()
    if not base:
        return None
    choices = host_choices(base)
    if len(choices) == 1:
        return choices[0]
    if st.session_state.get(keys.JOIN_HOST) not in choices:
        st.session_state[keys.JOIN_HOST] = choices[0]
    return st.selectbox(label, choices, key=keys.JOIN_HOST,
                        help="This computer is on several networks: pick the one the "
                             "room's phones and laptops are on.")


def listens_locally() -> bool:
    """Whether this server only answers on this machine (the room could not reach it)."""
    address = st.get_option("server.address") or ""
    return bool(address) and _is_local(address)


def join_box(path: str, host: str | None, qr_scale: int = 5, caption: bool = True,
             presenter: bool = True) -> None:
    """The join link and its QR code. A participant sees only a link that works: on a
    server that answers on this computer alone, the address they opened it at (no QR code:
    no phone could follow it), and none of the presenter's advice on starting it."""
    local = listens_locally()
    if not presenter and local and (base := page_url()):
        url = base + path
    else:
        url = join_url(path, host)
    left, right = st.columns([3, 1], vertical_alignment="center")
    with left:
        st.markdown("**Join link** for the room (everyone adds their own name):")
        st.code(url, language=None)
        if caption and presenter and local:
            st.caption("This server only answers on this computer: start it with "
                       "`make run` (it listens on the network) for phones to join.")
    if url.startswith("http") and (presenter or not local):
        right.image(qr_png(url, qr_scale), caption="Scan to join", width=180)
