"""Every exception the library defines lives in macvlan.errors and is exported from
macvlan; kernel errors are mapped by the object the request was about."""

from __future__ import annotations

import errno
import importlib
import inspect
import pickle
import pkgutil

import pytest

import macvlan
from macvlan import errors
from macvlan._netlink import numbers as nr


def all_modules() -> list[str]:
    names = ["macvlan"]
    for info in pkgutil.walk_packages(macvlan.__path__, "macvlan."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # running it is what importing it does
        names.append(info.name)
    return names


def defined_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in all_modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("macvlan"):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_the_walk_sees_the_whole_package() -> None:
    names = all_modules()
    assert {"macvlan.network.networks", "macvlan.cni.rtnl", "macvlan.cli.output"} <= set(names)
    assert len(defined_exceptions()) >= 40


def test_every_exception_is_defined_in_errors_and_exported() -> None:
    misplaced = {q for q, cls in defined_exceptions().items() if cls.__module__ != "macvlan.errors"}
    assert misplaced == set()
    missing = {
        cls.__qualname__
        for cls in defined_exceptions().values()
        if getattr(macvlan, cls.__qualname__, None) is not cls
    }
    assert missing == set()
    assert {c.__qualname__ for c in defined_exceptions().values()} <= set(macvlan.__all__)


def test_old_import_paths_still_work() -> None:
    from macvlan.cni.errors import CniError
    from macvlan.mac import MacAddressValueError
    from macvlan.macalloc import MacSpaceExhausted
    from macvlan.namespace import NotANamespaceError
    from macvlan.network import MacInUse, NetworkNotFound, PoolExhausted
    from macvlan.network.ipam import AddressTaken
    from macvlan.network.store import UnsafeStore

    assert MacInUse is macvlan.MacInUse and NetworkNotFound is macvlan.NetworkNotFound
    assert PoolExhausted is macvlan.PoolExhausted and AddressTaken is macvlan.AddressTaken
    assert UnsafeStore is macvlan.UnsafeStore and CniError is macvlan.CniError
    assert MacAddressValueError is macvlan.MacAddressValueError
    assert MacSpaceExhausted is macvlan.MacSpaceExhausted
    assert NotANamespaceError is macvlan.NotANamespaceError


@pytest.mark.parametrize(
    ("message_type", "code", "expected"),
    [
        (nr.RTM_NEWLINK, errno.EEXIST, errors.LinkExists),
        (nr.RTM_NEWADDR, errno.EEXIST, errors.AddressExists),
        (nr.RTM_DELADDR, errno.EADDRNOTAVAIL, errors.AddressNotFound),
        (nr.RTM_NEWROUTE, errno.EEXIST, errors.RouteExists),
        (nr.RTM_DELROUTE, errno.ESRCH, errors.RouteNotFound),
        (nr.RTM_DELROUTE, errno.ENOENT, errors.RouteNotFound),
        (28, errno.EEXIST, errors.NeighbourExists),  # RTM_NEWNEIGH
        (29, errno.ENOENT, errors.NeighbourNotFound),  # RTM_DELNEIGH
        (32, errno.EEXIST, errors.RuleExists),  # RTM_NEWRULE
        (33, errno.ENOENT, errors.RuleNotFound),  # RTM_DELRULE
        (nr.RTM_NEWADDR, errno.ENODEV, errors.LinkNotFound),
        (nr.RTM_NEWROUTE, errno.EPERM, errors.NetlinkPermissionError),
        (nr.RTM_NEWLINK, errno.EADDRINUSE, errors.AddressInUse),
        (nr.RTM_NEWROUTE, errno.EINVAL, errors.NetlinkError),
        (None, errno.EEXIST, errors.NetlinkError),  # the object unknown: nothing more said
    ],
)
def test_kernel_errors_are_mapped_by_the_requests_object(
    message_type: int | None, code: int, expected: type[errors.NetlinkError]
) -> None:
    err = errors.error_for(code, "ext ack text", "what was asked", message_type)
    assert type(err) is expected
    assert isinstance(err, OSError) and err.errno == code
    assert err.ext_ack == "ext ack text" and "what was asked" in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is expected and again.errno == code


def test_exists_errors_are_file_exists_errors() -> None:
    for cls in (errors.LinkExists, errors.AddressExists, errors.RouteExists):
        assert issubclass(cls, FileExistsError)
    assert not issubclass(errors.RouteNotFound, errors.AddressNotFound)


def test_errors_imports_only_errno_and_os() -> None:
    source = inspect.getsource(errors)
    imports = {
        line.split()[1]
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and "__future__" not in line
    }
    assert imports == {"errno", "os"}
