"""One rule for IP text across the library: whitespace is an error, never stripped."""

from __future__ import annotations

import pytest

from macvlan.address import to_interface
from macvlan.errors import IpamError
from macvlan.network.ipam import Subnet, parse_requests
from macvlan.route import to_ip, to_network


@pytest.mark.parametrize("text", [" 10.0.0.2/24", "10.0.0.2/24 ", "10.0.0.2/24\n"])
def test_address_with_whitespace_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not an IP address with a prefix length"):
        to_interface(text)


@pytest.mark.parametrize("text", [" 10.0.0.1", "10.0.0.1\t"])
def test_gateway_with_whitespace_is_refused_by_routes_and_ipam(text: str) -> None:
    with pytest.raises(ValueError, match="is not an IP address"):
        to_ip(text, "gateway")
    with pytest.raises(IpamError, match="is not an IP address"):
        Subnet.parse("10.0.0.0/24", gateway=text)


def test_subnet_and_request_with_whitespace_are_refused() -> None:
    with pytest.raises(IpamError, match="is not an IP prefix"):
        Subnet.parse(" 10.0.0.0/24")
    subnets = [Subnet.parse("10.0.0.0/24")]
    with pytest.raises(IpamError, match="is not an IP address"):
        parse_requests("10.0.0.5/24 ", subnets)
    assert parse_requests("10.0.0.5/24", subnets)[0].exploded == "10.0.0.5"


def test_the_same_text_without_whitespace_parses() -> None:
    assert str(to_interface("10.0.0.2/24")) == "10.0.0.2/24"
    assert str(to_ip("10.0.0.1", "gateway")) == "10.0.0.1"
    assert str(to_network("10.1.0.0/16")) == "10.1.0.0/16"


def test_enum_arguments_by_name_share_one_rule() -> None:
    from macvlan._linkargs import check_mode
    from macvlan.link import MacvlanMode
    from macvlan.route import RouteType, to_route_type
    from macvlan.rule import RuleAction, to_action

    assert check_mode("Bridge") is MacvlanMode.BRIDGE and check_mode(4) is MacvlanMode.BRIDGE
    assert to_route_type("blackhole") is RouteType.BLACKHOLE
    assert to_action("lookup") is RuleAction.TO_TBL
    for parse, what in ((check_mode, "macvlan mode"), (to_route_type, "route type")):
        with pytest.raises(ValueError, match=f"unknown {what} 'nope'; expected one of"):
            parse("nope")
    with pytest.raises(TypeError, match="rule action must be a FrAct or its name"):
        to_action(3.0)
