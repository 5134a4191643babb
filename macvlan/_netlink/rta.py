"""Route attributes: ``RTA_*`` and ``RTAX_*`` (include/uapi/linux/rtnetlink.h)."""

from __future__ import annotations

import struct
import sys

from macvlan._netlink._bytecode import OP_END, OP_NEST, OP_RAW
from macvlan._netlink.attr import AttrList, Blob, Nested, Ops, Record, Schema, flatten_attrs
from macvlan._netlink.codecs import Bytes, Codec, IpAddress, UInt
from macvlan._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from macvlan._netlink.attr import Attr, RawAttr

RTA = Schema("RTA")
RTAX = Schema("RTAX")
U8, U16, U32 = UInt(8), UInt(16), UInt(32)

DST = RTA.attr(1, "DST", IpAddress())
SRC = RTA.attr(2, "SRC", IpAddress())
IIF = RTA.attr(3, "IIF", U32)
OIF = RTA.attr(4, "OIF", U32)
GATEWAY = RTA.attr(5, "GATEWAY", IpAddress())
PRIORITY = RTA.attr(6, "PRIORITY", U32)
PREFSRC = RTA.attr(7, "PREFSRC", IpAddress())
METRICS = RTA.attr(8, "METRICS", Nested(RTAX))
_RTNH = struct.Struct("=HBBi")  # struct rtnexthop: len, flags, hops, ifindex
_ORDER = sys.byteorder


class RtNexthop(Record):
    """One ``struct rtnexthop`` of ``RTA_MULTIPATH`` and the ``RTA_*`` attributes
    after it: ``(flags, hops, ifindex, attrs)``; ``hops`` is the weight minus one."""

    __slots__ = ()
    _fields = ("flags", "hops", "ifindex", "attrs")

    def __new__(
        cls, flags: int, hops: int, ifindex: int, attrs: Sequence[Attr[Any] | RawAttr] = ()
    ) -> RtNexthop:
        return tuple.__new__(cls, (flags, hops, ifindex, attrs))

    @property
    def flags(self) -> int:
        """The ``RTNH_F_*`` bits."""
        flags: int = self[0]
        return flags

    @property
    def hops(self) -> int:
        """The weight minus one."""
        hops: int = self[1]
        return hops

    @property
    def ifindex(self) -> int:
        """The outgoing link's index."""
        ifindex: int = self[2]
        return ifindex


class Multipath(tuple[RtNexthop, ...]):
    """The value of ``RTA_MULTIPATH``: its ``rtnexthop`` records, in order."""

    __slots__ = ()

    def decode_all(self) -> None:
        for hop in self:
            hop.decode_all()

    def __repr__(self) -> str:
        return f"Multipath({tuple(self)!r})"


class MultipathCodec(Codec[Multipath]):
    """``RTA_MULTIPATH``: a packed list of ``rtnexthop`` records, each followed by
    its own ``RTA_*`` attributes (``RTA_GATEWAY``, ...)."""

    __slots__ = ()

    def decode(self, data: bytes, siblings: AttrList) -> Multipath | None:
        out = []
        pos, end = 0, len(data)
        while pos < end:
            if end - pos < _RTNH.size:
                return None  # kept raw: not a whole rtnexthop
            length, flags, hops, ifindex = _RTNH.unpack_from(data, pos)
            if length < _RTNH.size or pos + length > end:
                return None
            attrs = AttrList(data, pos + _RTNH.size, pos + length, RTA, siblings.depth + 1)
            out.append(RtNexthop(flags, hops, ifindex, attrs))
            pos += (length + 3) & ~3
        return Multipath(out) if out else None  # an empty one stays raw

    def validate(self, value: Any) -> Multipath:
        hops = tuple(value) if isinstance(value, list | tuple) else None
        if not hops or not all(isinstance(h, RtNexthop) for h in hops):
            raise TypeError(f"expected a non-empty sequence of RtNexthop, got {value!r}")
        for hop in hops:
            if not (0 <= hop.flags < 256 and 0 <= hop.hops < 256):
                raise ValueError(f"rtnexthop flags and hops are u8: {hop!r}")
            if not -(2**31) <= hop.ifindex < 2**31:
                raise ValueError(f"rtnexthop ifindex is an s32: {hop!r}")
        return Multipath(hops)

    def flatten(self, value: Multipath, nla_type: int, ops: Ops, blob: Blob) -> None:
        ops += (OP_NEST, nla_type, 0)
        for flags, hops, ifindex, attrs in value:
            # The rtnexthop header begins as an attribute header does (a u16 length,
            # then two bytes): the packer's nest op writes it and fills in the length.
            ops += (OP_NEST, int.from_bytes(bytes((flags, hops)), _ORDER), 0)
            blob.append(ifindex.to_bytes(4, _ORDER, signed=True))
            ops += (OP_RAW, 0, 4)
            flatten_attrs(attrs, ops, blob)
            ops += (OP_END, 0, 0)
        ops += (OP_END, 0, 0)


MULTIPATH = RTA.attr(9, "MULTIPATH", MultipathCodec())
FLOW = RTA.attr(11, "FLOW", U32)
CACHEINFO = RTA.attr(12, "CACHEINFO", Bytes())
TABLE = RTA.attr(15, "TABLE", U32)
MARK = RTA.attr(16, "MARK", U32)
VIA = RTA.attr(18, "VIA", Bytes())
PREF = RTA.attr(20, "PREF", U8)
ENCAP_TYPE = RTA.attr(21, "ENCAP_TYPE", U16)
EXPIRES = RTA.attr(23, "EXPIRES", U32)
PAD = RTA.attr(24, "PAD", Bytes())
UID = RTA.attr(25, "UID", U32)
TTL_PROPAGATE = RTA.attr(26, "TTL_PROPAGATE", U8)
NH_ID = RTA.attr(30, "NH_ID", U32)

RTAX_LOCK = RTAX.attr(1, "LOCK", U32)
RTAX_MTU = RTAX.attr(2, "MTU", U32)
RTAX_WINDOW = RTAX.attr(3, "WINDOW", U32)
RTAX_RTT = RTAX.attr(4, "RTT", U32)
RTAX_ADVMSS = RTAX.attr(8, "ADVMSS", U32)
RTAX_HOPLIMIT = RTAX.attr(10, "HOPLIMIT", U32)
