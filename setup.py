"""Build the optional compiled modules (the packer, the syscalls); the install
succeeds without them."""

import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build C extensions if possible; fall back to pure Python otherwise."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            print(
                f"macvlan: compiled backend not built ({exc}); using pure Python", file=sys.stderr
            )

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(
                f"macvlan: building {ext.name} failed ({exc}); using pure Python", file=sys.stderr
            )


setup(
    cffi_modules=[
        "build_ffi/netlink_build.py:ffibuilder",
        "build_ffi/syscalls_build.py:ffibuilder",
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
