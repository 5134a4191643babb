"""The fixed headers that precede attributes in rtnetlink messages."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from macvlan.errors import ProtocolError


@dataclass(frozen=True, slots=True)
class IfInfoMsg:
    """``struct ifinfomsg`` (links)."""

    family: int = 0
    type: int = 0
    index: int = 0
    flags: int = 0
    change: int = 0

    _S: ClassVar[struct.Struct] = struct.Struct("=BxHiII")
    SIZE: ClassVar[int] = 16

    @classmethod
    def unpack(cls, data: bytes, offset: int) -> IfInfoMsg:
        return cls(*cls._S.unpack_from(data, offset))

    def pack(self) -> bytes:
        try:
            return self._S.pack(self.family, self.type, self.index, self.flags, self.change)
        except struct.error as exc:
            raise ValueError(f"bad ifinfomsg field in {self!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class IfAddrMsg:
    """``struct ifaddrmsg`` (addresses)."""

    family: int = 0
    prefixlen: int = 0
    flags: int = 0
    scope: int = 0
    index: int = 0

    _S: ClassVar[struct.Struct] = struct.Struct("=BBBBI")
    SIZE: ClassVar[int] = 8

    @classmethod
    def unpack(cls, data: bytes, offset: int) -> IfAddrMsg:
        return cls(*cls._S.unpack_from(data, offset))

    def pack(self) -> bytes:
        try:
            return self._S.pack(self.family, self.prefixlen, self.flags, self.scope, self.index)
        except struct.error as exc:
            raise ValueError(f"bad ifaddrmsg field in {self!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class RtMsg:
    """``struct rtmsg`` (routes)."""

    family: int = 0
    dst_len: int = 0
    src_len: int = 0
    tos: int = 0
    table: int = 0
    protocol: int = 0
    scope: int = 0
    type: int = 0
    flags: int = 0

    _S: ClassVar[struct.Struct] = struct.Struct("=BBBBBBBBI")
    SIZE: ClassVar[int] = 12

    @classmethod
    def unpack(cls, data: bytes, offset: int) -> RtMsg:
        return cls(*cls._S.unpack_from(data, offset))

    def pack(self) -> bytes:
        try:
            return self._S.pack(
                self.family,
                self.dst_len,
                self.src_len,
                self.tos,
                self.table,
                self.protocol,
                self.scope,
                self.type,
                self.flags,
            )
        except struct.error as exc:
            raise ValueError(f"bad rtmsg field in {self!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class RtGenMsg:
    """``struct rtgenmsg`` padded to 4 bytes (namespace ids)."""

    family: int = 0

    _S: ClassVar[struct.Struct] = struct.Struct("=B3x")
    SIZE: ClassVar[int] = 4

    @classmethod
    def unpack(cls, data: bytes, offset: int) -> RtGenMsg:
        return cls(*cls._S.unpack_from(data, offset))

    def pack(self) -> bytes:
        try:
            return self._S.pack(self.family)
        except struct.error as exc:
            raise ValueError(f"bad rtgenmsg field in {self!r}: {exc}") from None


Body = IfInfoMsg | IfAddrMsg | RtMsg | RtGenMsg


def check_size(data: bytes, offset: int, size: int, what: str) -> None:
    if len(data) - offset < size:
        raise ProtocolError(f"truncated {what}: {len(data) - offset} bytes, need {size}")
