"""Rebuild the seed corpus in tests/fuzz/corpus from the golden captures.

    cd /work/main && python tests/fuzz/make_corpus.py

Seeds: every kernel reply and every request ``ip`` sent in tests/golden/cases.json,
the address and route dump buffers, the first links of the 1,000-link dump one
message at a time (the full 32 KiB buffers would make libFuzzer mutate huge
inputs), and a few requests our own builders make (veth peer, source-mode MAC
list, routes).  File names are the SHA-1 of the content, as libFuzzer names them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from golden_data import cases, dump_chunks, meant  # noqa: E402

from macvlan import MacAddress, MacvlanSpec  # noqa: E402
from macvlan import address as _address  # noqa: E402
from macvlan import link as _link  # noqa: E402
from macvlan import route as _route  # noqa: E402
from macvlan._netlink import encode  # noqa: E402
from macvlan._netlink.constants import MacvlanFlags, MacvlanMode  # noqa: E402
from macvlan._operations.effects import macvlan_message  # noqa: E402

CORPUS = HERE / "corpus"


def split_messages(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while len(data) - pos >= 16:
        length = struct.unpack_from("=I", data, pos)[0]
        if length < 16 or pos + length > len(data):
            break
        out.append(data[pos : pos + length])
        pos += (length + 3) & ~3
    return out


def own_requests() -> list[bytes]:
    macs = [MacAddress("02:00:00:00:00:01"), MacAddress("02:00:00:00:00:02")]
    messages = [
        _link.new_veth(
            "va", "vb", mtu=1400, mac=macs[0], peer_mac=macs[1], peer_netns_fd=5, up=True
        ),
        macvlan_message(
            MacvlanSpec(
                "mv0",
                2,
                MacvlanMode.SOURCE,
                mtu=1400,
                flags=MacvlanFlags.NODST,
                bcqueuelen=100,
                bc_cutoff=-1,
                source_macs=macs,
                txqueuelen=10,
                group=7,
            ),
            2,
            "mv0",
            netns_fd=None,
            up=True,
        ),
        macvlan_message(
            MacvlanSpec(
                "mt0", 2, MacvlanMode.PASSTHRU, flags=MacvlanFlags.NOPROMISC, kind="macvtap"
            ),
            2,
            "mt0",
            netns_fd=9,
            up=False,
        ),
        _link.get_link("mv0", netnsid=3),
        _link.dump_links("macvlan"),
        _link.del_group(12345),
        _address.new_address(3, ipaddress.ip_interface("fd00::2/64"), nodad=True),
        _address.new_address(3, ipaddress.ip_interface("10.0.0.2/24")),
        _route.new_route(
            ipaddress.ip_network("10.1.0.0/16"),
            gateway=ipaddress.ip_address("10.0.0.1"),
            oif=3,
            metric=10,
            table=1000,
            src=ipaddress.ip_address("10.0.0.2"),
        ),
    ]
    return [encode([m]) for m in messages]


def seeds() -> list[bytes]:
    out: list[bytes] = []
    for case in cases():
        out += [bytes.fromhex(h) for h in case["replies"]]
        out += [meant(bytes.fromhex(h)) for h in case["requests"]]
    for name in ("dump_addrs.bin.gz", "dump_routes.bin.gz", "dump_routes_ipv6.bin.gz"):
        out += dump_chunks(name)
    links = dump_chunks("dump_1000_links.bin.gz")
    first = split_messages(links[0])
    out += first[:8]  # lo, p0, p1 and the first macvlans
    out.append(b"".join(first[:3]))
    out += split_messages(links[-1])[-2:]  # the last link and NLMSG_DONE
    out += own_requests()
    return [s for s in dict.fromkeys(out) if s]


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.iterdir():
        old.unlink()
    total = 0
    data = seeds()
    for seed in data:
        (CORPUS / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
        total += len(seed)
    print(f"{len(data)} seeds, {total} bytes in {CORPUS}")


if __name__ == "__main__":
    main()
