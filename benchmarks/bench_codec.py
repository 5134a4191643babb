"""Codec throughput, compiled (cffi) against pure Python, in one run.

- pack: executing the flattened ops of 1,000 macvlan-create requests into bytes
  (the part each backend implements);
- encode: building, flattening and packing those 1,000 requests end to end;
- dump: a captured 1,000-link ``ip -d link show`` dump into typed Link snapshots;
- decode_all: the same dump fully decoded, every nested attribute included.

Last line: ``RATIOS cffi_vs_python=... ...`` (python time / cffi time; >1 = cffi faster).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from golden_data import dump_chunks

import macvlan._netlink as nl
from macvlan._netlink import _backend, message
from macvlan._netlink.constants import MacvlanFlags, MacvlanMode, RtmType
from macvlan.link import Link, new_macvlan
from macvlan.mac import MacAddress


def best(fn: Callable[[], object], repeat: int = 7, number: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def requests() -> list[message.Message]:
    return [
        new_macvlan(
            f"mv{i}",
            3,
            "macvlan",
            mode=MacvlanMode.BRIDGE,
            flags=MacvlanFlags.NONE,
            mac=MacAddress(0x020000000000 + i),
            mtu=1400,
            up=True,
            bcqueuelen=None,
            bc_cutoff=None,
            source_macs=(),
            txqueuelen=None,
            group=None,
            netns_fd=None,
        )
        for i in range(1000)
    ]


def main() -> None:
    cffi = _backend.cffi_functions()
    if cffi is None:
        print(
            "compiled backend not built: run `pip install .` or "
            "`python setup.py build_ext --inplace` first"
        )
        print("RATIOS cffi_vs_python=nan")
        return
    chunks = dump_chunks("dump_1000_links.bin.gz")
    reqs = requests()
    ops: list[int] = []
    blob: list[bytes] = []
    for r in reqs:
        r.flatten(ops, blob)
    data = b"".join(blob)
    results: dict[str, dict[str, float]] = {}
    for backend in ("python", "cffi"):
        _backend.use(backend)
        pack = _backend.pack
        assert pack(ops, data) == cffi[0](ops, data)

        def encode() -> bytes:
            return nl.encode(requests())

        def dump() -> list[Link]:
            return [
                Link.from_message(m)
                for chunk in chunks
                for m in message.iter_messages(chunk)
                if isinstance(m, message.Message) and m.type == RtmType.NEWLINK
            ]

        def decode_all() -> None:
            for chunk in chunks:
                nl.decode(chunk)

        assert len(dump()) == 1003
        results[backend] = {
            "pack": best(lambda: pack(ops, data), repeat=15),  # noqa: B023
            "encode": best(encode),
            "dump": best(dump),
            "decode_all": best(decode_all, repeat=3),
        }
    _backend.use("cffi")
    py, c = results["python"], results["cffi"]
    print(f"{'work':<34}{'python':>12}{'cffi':>12}{'ratio':>8}")
    labels = {
        "pack": "pack 1,000 create requests",
        "encode": "build+encode 1,000 creates",
        "dump": "1,000-link dump -> Link objects",
        "decode_all": "1,000-link dump, full decode",
    }
    for key, label in labels.items():
        print(
            f"{label:<34}{py[key] * 1e3:>10.2f}ms{c[key] * 1e3:>10.2f}ms{py[key] / c[key]:>7.1f}x"
        )
    per_attr = len(ops) // 3
    print(
        f"pack rate: python {per_attr / py['pack'] / 1e6:.2f} M attrs/s, "
        f"cffi {per_attr / c['pack'] / 1e6:.2f} M attrs/s"
    )
    print(
        f"typed dump of 1,000 links: {c['dump'] * 1e3:.1f} ms (cffi), "
        f"{py['dump'] * 1e3:.1f} ms (python)"
    )
    spread = statistics.mean([py["pack"], c["pack"]])
    del spread
    print(
        f"RATIOS cffi_vs_python={py['pack'] / c['pack']:.2f} "
        f"encode_cffi_vs_python={py['encode'] / c['encode']:.2f} "
        f"dump_cffi_vs_python={py['dump'] / c['dump']:.2f} "
        f"decode_all_cffi_vs_python={py['decode_all'] / c['decode_all']:.2f} "
        f"dump_ms={c['dump'] * 1e3:.1f}"
    )


if __name__ == "__main__":
    main()
