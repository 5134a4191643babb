"""Unit tests of the CNI plugin's data handling and command-line protocol (no root).

Live behaviour (links, addresses, routes, the reference plugin side by side) is in
test_cni_live.py.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from macvlan import cni
from macvlan._names import check_ifname
from macvlan.cni import ipam as _cni_ipam
from macvlan.cni.add import create_macvlan
from macvlan.cni.cniargs import parse_cni_args
from macvlan.cni.env import Args, is_cni_name
from macvlan.cni.errors import (
    INTERNAL,
    INVALID_CONFIG,
    CniConfigError,
    CniDecodeError,
    CniEnvError,
    CniError,
    CniVersionError,
)
from macvlan.cni.ip import IP, Cidr
from macvlan.cni.jsonio import dumps, field, loads
from macvlan.cni.mac import format_mac, parse_mac
from macvlan.cni.netconf import NetConf, decode_config, parse_dns
from macvlan.cni.result import Result
from macvlan.cni.result import Route as CniRoute
from macvlan.cni.version import SUPPORTED_VERSIONS, check_version, config_version

REPO = Path(__file__).resolve().parents[2]
REPO_PACKAGE = Path(cni.__file__).resolve().parent.parent


def conf(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"cniVersion": "1.0.0", "name": "net1", "type": "macvlan"}
    base.update(extra)
    return base


def plugin(
    command: str, stdin: Any, extra_env: dict[str, str] | None = None, **python_flags: Any
) -> tuple[int, Any, str]:
    """Run ``python -m macvlan.cni`` (exit status, parsed stdout or None, stderr)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "c0ffee",
        "CNI_NETNS": "/run/netns/does-not-exist-cni-unit",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/usr/lib/cni",
    }
    env.update(extra_env or {})
    env = {k: v for k, v in env.items() if v is not None}
    data = stdin if isinstance(stdin, bytes) else json.dumps(stdin).encode()
    proc = subprocess.run(
        [sys.executable, "-m", "macvlan.cni"],
        input=data,
        capture_output=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=60,
    )
    out = proc.stdout.decode()
    return proc.returncode, json.loads(out) if out.strip() else None, proc.stderr.decode()


# -- JSON ----------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(json_values)
def test_dumps_is_json_and_loads_reads_it_back(value: Any) -> None:
    text = dumps(value)
    assert json.loads(text) == value
    assert loads(text) == value


@given(json_values)
def test_loads_agrees_with_json_on_compact_text(value: Any) -> None:
    assert loads(json.dumps(value)) == value


@pytest.mark.parametrize(
    "text", ["", "   ", "{", '{"a": 1,}', "[1] [2]", '{"a": NaN}', "Infinity", "nul", '"\x01"']
)
def test_loads_refuses_what_is_not_one_json_document(text: str) -> None:
    with pytest.raises(ValueError):
        loads(text)


def test_dumps_indents_like_go() -> None:
    assert dumps({"a": [1, {"b": "x"}], "c": {}, "d": []}) == (
        '{\n    "a": [\n        1,\n        {\n            "b": "x"\n        }\n    ],\n'
        '    "c": {},\n    "d": []\n}'
    )


def test_field_matches_keys_as_go_does() -> None:
    assert field({"MTU": 1400}, "mtu") == 1400
    assert field({"mtu": 1, "MTU": 2}, "mtu") == 1
    assert field({"other": 1}, "mtu") is None


# -- names -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a", "abc-1.2_3", "0", "A" * 200])
def test_cni_names_accepted(name: str) -> None:
    assert is_cni_name(name)


@pytest.mark.parametrize("name", ["", "-a", ".a", "_a", "a/b", "a b", "a:b", "ä", "..", "a\n"])
def test_cni_names_refused(name: str) -> None:
    assert not is_cni_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "an interface name cannot be empty"),
        ("x" * 16, "interface name 'xxxxxxxxxxxxxxxx' is 16 bytes; the kernel allows 15"),
        ("ä" * 8, "interface name 'ääääääää' is 16 bytes; the kernel allows 15"),
        ("..", "interface name '..' is not allowed"),
        ("a/b", "interface name 'a/b' contains '/'"),
        ("a:b", "interface name 'a:b' contains ':'"),
        ("a\x00", "interface name 'a\\x00' contains '\\x00'"),
        ("a\u3000", "interface name 'a\\u3000' contains '\\u3000'"),
        ("\ud800", "interface name '\\ud800' is not valid UTF-8"),
    ],
)
def test_interface_names_refused_with_the_librarys_messages(name: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        check_ifname(name)
    assert str(info.value) == message


def test_interface_names_accepted_and_non_strings_refused() -> None:
    for name in ("eth0", "x" * 15, "ä" * 7 + "a", "a%b", ".a"):
        assert check_ifname(name) == name
    with pytest.raises(TypeError, match="not int: 5"):
        check_ifname(5)


def test_bad_master_quotes_the_shared_rule() -> None:
    with pytest.raises(CniConfigError) as info:
        NetConf(conf(master="a/b"))
    assert info.value.msg == "invalid master: interface name 'a/b' contains '/'"


# -- IP addresses and MACs ------------------------------------------------------------------
@given(st.ip_addresses(), st.data())
def test_cidr_matches_ipaddress(address: Any, data: st.DataObject) -> None:
    prefix = data.draw(st.integers(0, address.max_prefixlen))
    text = f"{address}/{prefix}"
    cidr = Cidr.parse(text)
    reference = ipaddress.ip_interface(text)
    assert ipaddress.ip_interface(str(cidr)) == reference  # (text may differ for ::ffff:a.b.c.d)
    assert ipaddress.ip_interface(str(cidr.network())).network == reference.network
    assert cidr.version == reference.version
    if address.version == 4:
        assert str(cidr.broadcast()) == str(reference.network.broadcast_address)


@pytest.mark.parametrize(
    "text", ["10.0.0.1", "10.0.0.1/33", "10.0.0/24", "fd00::1/129", "x/1", "10.0.0.1/-1", 5]
)
def test_cidr_refuses_bad_text_and_names_it(text: Any) -> None:
    with pytest.raises(CniConfigError) as info:
        Cidr.parse(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("text", "packed"),
    [
        ("02:00:00:00:00:01", b"\x02\x00\x00\x00\x00\x01"),
        ("02-AB-00-00-00-01", b"\x02\xab\x00\x00\x00\x01"),
        ("02ab.0000.0001", b"\x02\xab\x00\x00\x00\x01"),
    ],
)
def test_parse_mac_forms(text: str, packed: bytes) -> None:
    assert parse_mac(text) == packed
    assert format_mac(packed) == text.lower().replace("-", ":") or "." in text


@pytest.mark.parametrize(
    "text", ["01:00:5e:00:00:01", "00:00:00:00:00:00", "02:00:00:00:00", "zz:00:00:00:00:01", 1]
)
def test_parse_mac_refuses_and_names_the_value(text: Any) -> None:
    with pytest.raises(CniConfigError) as info:
        parse_mac(text)
    assert repr(text) in str(info.value)


# -- versions, CNI_ARGS -------------------------------------------------------------------
def test_versions() -> None:
    check_version("1.1.0")
    check_version("0.3.1")
    with pytest.raises(CniVersionError):
        check_version("9.9.9")
    with pytest.raises(CniDecodeError):
        check_version("abc")
    with pytest.raises(CniVersionError):
        check_version("0.3.1", "0.4.0", "CHECK")
    assert config_version({}) == "0.1.0"


def test_cni_args() -> None:
    assert parse_cni_args("") == ""
    assert parse_cni_args("MAC=02:00:00:00:00:07") == "02:00:00:00:00:07"
    assert parse_cni_args("IgnoreUnknown=1;K8S_POD_NAME=x;MAC=m") == "m"
    assert parse_cni_args("K8S_POD_NAME=x;IgnoreUnknown=TRUE") == ""
    with pytest.raises(CniEnvError, match="K8S_POD_NAME=x"):
        parse_cni_args("K8S_POD_NAME=x")
    with pytest.raises(CniEnvError, match="'a=b=c'"):
        parse_cni_args("a=b=c")
    with pytest.raises(CniEnvError, match="maybe"):
        parse_cni_args("IgnoreUnknown=maybe")


# -- the configuration --------------------------------------------------------------------
def test_netconf_defaults() -> None:
    nc = NetConf(conf())
    assert (nc.master, nc.mode, nc.mode_name, nc.mtu, nc.mac, nc.ipam_type) == (
        "",
        4,
        "bridge",
        0,
        None,
        "",
    )
    assert nc.link_in_container is False
    assert nc.dns == {}


@pytest.mark.parametrize(("mode", "number"), [("private", 1), ("vepa", 2), ("passthru", 8)])
def test_netconf_modes(mode: str, number: int) -> None:
    assert NetConf(conf(mode=mode)).mode == number


@pytest.mark.parametrize(
    ("extra", "quoted"),
    [
        ({"mode": "source"}, "'source'"),
        ({"mode": 4}, "4"),
        ({"mtu": "1400"}, "'1400'"),
        ({"mtu": 1400.0}, "1400.0"),
        ({"mtu": True}, "True"),
        ({"mtu": -1}, "-1"),
        ({"mtu": 50}, "50"),
        ({"mtu": 65536}, "65536"),
        ({"master": 7}, "7"),
        ({"master": "a/b"}, "'a/b'"),
        ({"master": "x" * 16}, "'" + "x" * 16 + "'"),
        ({"linkInContainer": "yes"}, "'yes'"),
        ({"mac": "nope"}, "'nope'"),
        ({"runtimeConfig": {"mac": "01:00:00:00:00:01"}}, "'01:00:00:00:00:01'"),
        ({"ipam": {"type": "../../bin/sh"}}, "'../../bin/sh'"),
        ({"ipam": {"type": "host-local", "dataDir": "var/lib"}}, "'var/lib'"),
        ({"ipam": {"type": "host-local", "dataDir": "/var/../etc"}}, "'/var/../etc'"),
        ({"ipam": "host-local"}, "'host-local'"),
        ({"dns": {"nameservers": "1.1.1.1"}}, "'1.1.1.1'"),
        ({"bcqueuelen": -5}, "-5"),
    ],
)
def test_netconf_refuses_bad_values_naming_them(extra: dict[str, Any], quoted: str) -> None:
    with pytest.raises(CniConfigError) as info:
        NetConf(conf(**extra))
    assert quoted in str(info.value)
    assert info.value.code == INVALID_CONFIG
    assert isinstance(info.value, ValueError)


def test_netconf_mac_precedence() -> None:
    base = conf(mac="02:00:00:00:00:01", runtimeConfig={"mac": "02:00:00:00:00:03"})
    assert NetConf(base, "MAC=02:00:00:00:00:02").mac == bytes.fromhex("020000000003")
    del base["runtimeConfig"]
    assert NetConf(base, "MAC=02:00:00:00:00:02").mac == bytes.fromhex("020000000002")
    assert NetConf(base).mac == bytes.fromhex("020000000001")


def test_netconf_keys_match_case_insensitively_like_the_reference() -> None:
    nc = NetConf(conf(Master="p0", MTU=1400, Mode="vepa"))
    assert (nc.master, nc.mtu, nc.mode_name) == ("p0", 1400, "vepa")


def test_decode_config_errors() -> None:
    with pytest.raises(CniDecodeError):
        decode_config(b"{")
    with pytest.raises(CniDecodeError):
        decode_config(b"[1]")
    with pytest.raises(CniConfigError, match="missing network name"):
        decode_config(b"{}")
    with pytest.raises(CniConfigError, match="'a b'"):
        decode_config(b'{"name": "a b"}')


def test_dns_keeps_the_spec_keys_only() -> None:
    dns = {"nameservers": ["1.1.1.1"], "domain": "x", "search": [], "bogus": 1}
    assert parse_dns(dns) == {"nameservers": ["1.1.1.1"], "domain": "x"}


# -- results --------------------------------------------------------------------------------
RESULT_100 = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "eth0", "mac": "02:00:00:00:00:01", "sandbox": "/run/netns/x"}],
    "ips": [
        {"interface": 0, "address": "10.1.0.5/16", "gateway": "10.1.0.1"},
        {"interface": 0, "address": "fd00::5/64", "gateway": "fd00::1"},
        {"interface": 0, "address": "10.2.0.5/16"},
    ],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "fd01::/64", "gw": "fd00::9"}],
    "dns": {"nameservers": ["10.1.0.1"]},
}


def test_result_round_trip_100() -> None:
    result = Result.from_json(RESULT_100, "1.0.0")
    assert result.to_json("1.0.0") == RESULT_100


def test_result_to_040_adds_ip_versions() -> None:
    out = Result.from_json(RESULT_100, "1.0.0").to_json("0.4.0")
    assert out["cniVersion"] == "0.4.0"
    assert [ip["version"] for ip in out["ips"]] == ["4", "6", "4"]
    assert Result.from_json(out, "0.4.0").to_json("1.0.0") == RESULT_100


def test_result_to_020_keeps_first_address_per_family() -> None:
    out = Result.from_json(RESULT_100, "1.0.0").to_json("0.2.0")
    assert out == {
        "cniVersion": "0.2.0",
        "ip4": {"ip": "10.1.0.5/16", "gateway": "10.1.0.1", "routes": [{"dst": "0.0.0.0/0"}]},
        "ip6": {"ip": "fd00::5/64", "gateway": "fd00::1", "routes": [RESULT_100["routes"][1]]},
        "dns": {"nameservers": ["10.1.0.1"]},
    }
    back = Result.from_json(out, "0.2.0")
    assert [str(i.address) for i in back.ips] == ["10.1.0.5/16", "fd00::5/64"]
    assert len(back.routes) == 2


def test_result_110_route_fields() -> None:
    route = {"dst": "10.9.0.0/16", "gw": "10.1.0.1", "mtu": 1400, "priority": 5, "table": 100}
    result = Result.from_json({"cniVersion": "1.1.0", "routes": [route]}, "1.1.0")
    assert result.to_json("1.1.0")["routes"] == [route]
    assert result.to_json("1.0.0")["routes"] == [{"dst": "10.9.0.0/16", "gw": "10.1.0.1"}]


@pytest.mark.parametrize(
    "bad",
    [
        {"ips": [{"address": "10.0.0.1"}]},
        {"ips": "x"},
        {"routes": [{"dst": "10.0.0.0/8", "gw": "nope"}]},
        {"routes": [{"dst": "10.0.0.0/8", "mtu": -1}]},
    ],
)
def test_result_refuses_bad_entries(bad: dict[str, Any]) -> None:
    with pytest.raises(CniConfigError):
        Result.from_json({"cniVersion": "1.0.0", **bad}, "1.0.0")


# -- finding and running the IPAM plugin ------------------------------------------------------
def fake_plugin(directory: Path, name: str, script: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def test_find_plugin_only_in_absolute_cni_path_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rel").mkdir()
    fake_plugin(tmp_path / "rel", "ipamx", "exit 0\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CniEnvError, match="no absolute directory"):
        _cni_ipam.find_plugin("ipamx", "rel:./rel")
    with pytest.raises(CniConfigError, match="'ipamx'"):
        _cni_ipam.find_plugin("ipamx", f"rel:{tmp_path}")
    assert _cni_ipam.find_plugin("ipamx", f"rel:{tmp_path / 'rel'}") == f"{tmp_path}/rel/ipamx"


def test_find_plugin_skips_directories_and_non_executables(tmp_path: Path) -> None:
    (tmp_path / "a" / "ipamx").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "ipamx").write_text("not executable")
    (tmp_path / "c").mkdir()
    fake_plugin(tmp_path / "c", "ipamx", "exit 0\n")
    path = f"{tmp_path}/a:{tmp_path}/b:{tmp_path}/c"
    assert _cni_ipam.find_plugin("ipamx", path) == f"{tmp_path}/c/ipamx"


def test_delegate_gets_our_environment_and_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CNI_COMMAND", "CHECK")
    monkeypatch.setenv("CNI_IFNAME", "eth7")
    fake_plugin(
        tmp_path,
        "ipamx",
        f'cat > {tmp_path}/stdin; echo "$CNI_COMMAND $CNI_IFNAME" > {tmp_path}/env\n'
        'echo "a note" >&2\n'
        'printf \'{"cniVersion": "0.4.0", "ips": [{"version": "4", "address": '
        '"10.1.0.5/16", "gateway": "10.1.0.1"}]}\'\n',
    )
    data = json.dumps(conf()).encode()
    result = _cni_ipam.Delegate(str(tmp_path), "ipamx", "ADD", data).result()
    assert [str(i.address) for i in result.ips] == ["10.1.0.5/16"]
    assert (tmp_path / "stdin").read_bytes() == data
    assert (tmp_path / "env").read_text() == "ADD eth7\n"
    assert "a note" in capfd.readouterr().err


def test_a_held_delegate_does_nothing_until_given_its_input(tmp_path: Path) -> None:
    """ADD starts the IPAM plugin early but gives it its input only once the link is
    made; cancelled before that, it has done nothing (it never read a configuration)."""
    fake_plugin(
        tmp_path,
        "ipamx",
        f"cat > {tmp_path}/stdin; echo ran >> {tmp_path}/ran\n"
        'printf \'{"cniVersion": "1.0.0", "ips": [{"address": "10.1.0.5/16"}]}\'\n',
    )
    held = _cni_ipam.Delegate(str(tmp_path), "ipamx", "ADD")
    assert not held.sent
    held.cancel()
    assert held.wait_quietly() is None  # cancelled: no exit status to speak of
    assert not (tmp_path / "ran").exists()  # it never got past reading its input
    stdin = tmp_path / "stdin"  # (the shell may have opened the file cat writes to)
    assert not stdin.exists() or stdin.read_bytes() == b""
    with pytest.raises(ChildProcessError):
        os.waitpid(held._pid, os.WNOHANG)  # reaped
    held = _cni_ipam.Delegate(str(tmp_path), "ipamx", "ADD")
    held.send(b'{"x": 1}')
    assert [str(i.address) for i in held.result().ips] == ["10.1.0.5/16"]
    assert (held.status, (tmp_path / "stdin").read_bytes()) == (0, b'{"x": 1}')
    held.cancel()  # given its input: cancel changes nothing
    assert (tmp_path / "ran").read_text() == "ran\n"
    with pytest.raises(RuntimeError, match="was given its input"):
        held.send(b"{}")
    unsent = _cni_ipam.Delegate(str(tmp_path), "ipamx", "ADD")
    with pytest.raises(RuntimeError, match="no input yet"):
        unsent.result()
    unsent.cancel()


def test_delegate_error_keeps_the_plugins_code(tmp_path: Path) -> None:
    fake_plugin(tmp_path, "ipamx", 'echo \'{"code": 11, "msg": "busy", "details": "d"}\'; exit 1\n')
    with pytest.raises(CniError) as info:
        _cni_ipam.Delegate(str(tmp_path), "ipamx", "ADD", b"{}").result()
    assert (info.value.code, info.value.msg, info.value.details) == (11, "busy", "d")


def test_delegate_failure_without_json(tmp_path: Path) -> None:
    fake_plugin(tmp_path, "ipamx", "echo broken >&2; exit 3\n")
    with pytest.raises(CniError, match=r"exit status 3.*broken") as info:
        _cni_ipam.Delegate(str(tmp_path), "ipamx", "DEL", b"{}").result(expect_output=False)
    assert info.value.code == INTERNAL


def test_delegate_result_of_unknown_version(tmp_path: Path) -> None:
    fake_plugin(tmp_path, "ipamx", 'echo \'{"cniVersion": "7.0.0"}\'\n')
    with pytest.raises(CniDecodeError, match=r"'7\.0\.0'"):
        _cni_ipam.Delegate(str(tmp_path), "ipamx", "ADD", b"{}").result()


# -- the command-line protocol (no root needed for these paths) ------------------------------
def test_version_echoes_the_callers_version() -> None:
    rc, out, _ = plugin("VERSION", {"cniVersion": "0.4.0"})
    assert rc == 0
    assert out == {"cniVersion": "0.4.0", "supportedVersions": list(SUPPORTED_VERSIONS)}
    rc, out, _ = plugin("VERSION", b"")
    assert out["cniVersion"] == "1.1.0"


def test_no_command_prints_what_it_is() -> None:
    rc, out, err = plugin("", conf())
    assert (rc, out) == (0, None)
    assert "CNI protocol versions supported: 0.1.0" in err


@pytest.mark.parametrize(
    ("command", "stdin", "env", "code", "quoted"),
    [
        ("FOO", conf(), {}, 4, "'FOO'"),
        ("ADD", conf(), {"CNI_IFNAME": ""}, 4, "CNI_IFNAME"),
        ("ADD", conf(), {"CNI_CONTAINERID": "", "CNI_PATH": ""}, 4, "CNI_CONTAINERID,CNI_PATH"),
        ("ADD", conf(), {"CNI_CONTAINERID": "../etc"}, 4, "'../etc'"),
        ("DEL", conf(), {"CNI_IFNAME": "a/b"}, 4, "'a/b'"),
        ("ADD", conf(), {"CNI_IFNAME": "x" * 16}, 4, "'" + "x" * 16 + "'"),
        ("ADD", conf(), {"CNI_IFNAME": "eth%d"}, 4, "'eth%d'"),
        ("ADD", b"{", {}, 6, "decoding"),
        ("ADD", b"[]", {}, 6, "list"),
        ("ADD", {"cniVersion": "1.0.0"}, {}, 7, "missing network name"),
        ("ADD", conf(name="bad name"), {}, 7, "'bad name'"),
        ("ADD", conf(cniVersion="9.9.9"), {}, 1, "incompatible"),
        ("ADD", conf(cniVersion=1), {}, 6, "1"),
        ("CHECK", conf(cniVersion="0.3.1"), {}, 1, "CHECK"),
        ("GC", conf(), {}, 1, "GC"),
        ("STATUS", conf(cniVersion="0.4.0"), {}, 1, "STATUS"),
        ("ADD", conf(mode="source"), {}, 7, "'source'"),
        ("ADD", conf(mac="zz"), {}, 7, "'zz'"),
        ("ADD", conf(), {"CNI_ARGS": "FOO=bar"}, 4, "FOO=bar"),
        ("ADD", conf(master="p0"), {}, 3, "does-not-exist-cni-unit"),
        ("CHECK", conf(master="p0"), {}, 3, "does-not-exist-cni-unit"),
        ("GC", conf(cniVersion="1.1.0", **{"cni.dev/valid-attachments": 5}), {}, 7, "5"),
    ],
)
def test_errors_carry_the_spec_code_and_name_the_value(
    command: str, stdin: Any, env: dict[str, str], code: int, quoted: str
) -> None:
    rc, out, _ = plugin(command, stdin, env)
    assert rc == 1
    assert out["code"] == code, out
    assert quoted in out["msg"] + out.get("details", ""), out
    assert "cniVersion" in out


def test_del_without_namespace_or_ipam_succeeds() -> None:
    rc, out, _ = plugin("DEL", conf(master="p0"))
    assert (rc, out) == (0, None)
    rc, out, _ = plugin("DEL", conf(), {"CNI_NETNS": ""})
    assert (rc, out) == (0, None)


def test_del_passes_ipam_errors_on(tmp_path: Path) -> None:
    fake_plugin(tmp_path, "ipamx", 'echo \'{"code": 11, "msg": "locked"}\'; exit 1\n')
    rc, out, _ = plugin("DEL", conf(ipam={"type": "ipamx"}), {"CNI_PATH": str(tmp_path)})
    assert (rc, out["code"], out["msg"]) == (1, 11, "locked")


def test_gc_and_status_delegate_to_ipam(tmp_path: Path) -> None:
    fake_plugin(tmp_path, "ipamx", f'echo "$CNI_COMMAND" >> {tmp_path}/calls; cat >/dev/null\n')
    config = conf(cniVersion="1.1.0", ipam={"type": "ipamx"}, linkInContainer=True)
    config["cni.dev/valid-attachments"] = [{"containerID": "a", "ifname": "eth0"}]
    env = {"CNI_PATH": str(tmp_path), "CNI_CONTAINERID": "", "CNI_IFNAME": "", "CNI_NETNS": ""}
    assert plugin("GC", config, env)[:2] == (0, None)
    assert plugin("STATUS", config, env)[:2] == (0, None)
    assert (tmp_path / "calls").read_text() == "GC\nSTATUS\n"


# -- start-up: import only what the command needs -------------------------------------------
def imported_modules(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-S", "-E", "-X", "importtime", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        check=False,
        timeout=60,
    )
    names = set()
    for line in proc.stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_version_imports_no_netlink_ctypes_or_json() -> None:
    names = imported_modules("-m", "macvlan.cni", env={"CNI_COMMAND": "VERSION"})
    assert "macvlan.cni.version" in names  # (runpy runs macvlan.cni itself as __main__)
    heavy = {"macvlan._netlink", "macvlan.link", "macvlan.connection", "ctypes", "_ctypes"}
    heavy |= {"json", "ipaddress", "subprocess", "dataclasses", "macvlan._syscalls", "socket"}
    heavy |= {"macvlan.cni.jsonio", "macvlan.cni.netconf", "_json"}
    assert not names & heavy


def test_importing_the_plugin_loads_only_its_own_modules() -> None:
    names = imported_modules("-c", "import macvlan.cni")
    ours = {n for n in names if n.startswith("macvlan")}
    assert ours == {
        "macvlan",
        "macvlan.cni",
        "macvlan.cni.env",
        "macvlan.cni.errors",
        "macvlan.cni.version",
        "macvlan._names",
        "macvlan.errors",
    }
    assert not names & {"ctypes", "_ctypes", "json", "ipaddress", "dataclasses", "socket"}


def launcher_version(tmp_path: Path, stdin: bytes) -> tuple[int, str, set[str]]:
    """VERSION through the installed launcher: exit status, output, modules imported."""
    from macvlan.cni.install import install

    path = install(str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-IS", "-X", "importtime", path],
        input=stdin,
        capture_output=True,
        env={"CNI_COMMAND": "VERSION"},
        check=False,
        timeout=60,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.decode().splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc.returncode, proc.stdout.decode(), names


@pytest.mark.parametrize(
    "stdin",
    [
        b"",
        b'{"cniVersion":"1.0.0"}',  # what libcni sends
        b' {\n "cniVersion" :\t"0.4.0" } \n',
        b'{"cniVersion":"9.9.9"}',
    ],
)
def test_launcher_answers_version_importing_nothing(tmp_path: Path, stdin: bytes) -> None:
    status, out, names = launcher_version(tmp_path, stdin)
    assert (status, out) == plugin_version(stdin)
    assert not {n for n in names if n.startswith("macvlan")}, names  # not even the package
    assert not names & {"_json", "json", "os", "_socket"}


@pytest.mark.parametrize(
    "stdin",
    [
        b'{"name": "x", "cniVersion": "1.0.0"}',
        b'{"cniVersion": "1.0.0", "cniVersion": "0.4.0"}',
        b'{"cniVersion": "0.4\\u002e0"}',
        b'{"cniVersion": "\\ud800"}',  # no UTF-8 for it: code 6
        b'{"cniVersion": 4}',
        b"[1, 2]",
        b'{"cniVersion": "1.0.0"',
        b"\xff\xfe",
    ],
)
def test_launcher_version_agrees_with_the_plugin_on_unusual_input(
    tmp_path: Path, stdin: bytes
) -> None:
    status, out, _ = launcher_version(tmp_path, stdin)
    assert (status, out) == plugin_version(stdin)


def test_launcher_without_the_module_file_imports_it(tmp_path: Path) -> None:
    """Should version.py not be where the launcher was told (a zipped install, a
    moved tree), VERSION still answers, through the package."""
    from macvlan.cni.install import install

    path = Path(install(str(tmp_path)))
    text = path.read_text()
    version_py = str(Path(REPO_PACKAGE, "cni", "version.py"))
    assert repr(version_py) in text
    path.write_text(text.replace(repr(version_py), repr(str(tmp_path / "gone.py"))))
    proc = subprocess.run(
        [str(path)],
        input=b'{"cniVersion":"1.0.0"}',
        capture_output=True,
        env={"CNI_COMMAND": "VERSION"},
        check=False,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout.decode()) == plugin_version(b'{"cniVersion":"1.0.0"}')


def plugin_version(stdin: bytes) -> tuple[int, str]:
    """VERSION as ``python -m macvlan.cni`` answers it (the full JSON reader)."""
    proc = subprocess.run(
        [sys.executable, "-m", "macvlan.cni"],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env={"CNI_COMMAND": "VERSION", "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=60,
    )
    return proc.returncode, proc.stdout.decode()


def test_version_fast_path_writes_what_the_json_writer_writes() -> None:
    from macvlan.cni import version

    for echoed in ("1.0.0", "0.4.0", "", "x y"):
        status, text = version.answer(b'{"cniVersion": "%s"}' % echoed.encode())
        expected = {"cniVersion": echoed or "1.1.0", "supportedVersions": list(SUPPORTED_VERSIONS)}
        assert (status, text) == (0, dumps(expected))
    assert version._simple_version(b'{"cniVersion": "a\\"b"}') is None  # escapes: the reader
    assert version._simple_version(b'{"name": "x"}') is None


# -- rtnetlink through the shared codec ----------------------------------------------------
def wire(message: Any) -> bytes:
    import macvlan._netlink as nl

    return nl.encode([message])


MACVLAN_CONFS = {
    "defaults": ({}, "", None, False),
    "private-mtu-up": ({"mode": "private", "mtu": 1400}, "", None, True),
    "vepa-mac-netns": ({"mode": "vepa", "mac": "02:00:00:00:00:07"}, "", 7, False),
    "passthru": ({"mode": "passthru"}, "", 9, True),
    "bcqueuelen": ({"bcqueuelen": 321}, "MAC=02:00:00:00:00:08", None, True),
}


@pytest.mark.parametrize("case", list(MACVLAN_CONFS))
def test_create_request_is_the_librarys_bytes(case: str) -> None:
    from macvlan.cni import rtnl as _cni_rtnl
    from macvlan.link import MacvlanFlags, MacvlanMode, new_macvlan
    from macvlan.mac import MacAddress

    extra, cni_args, netns, up = MACVLAN_CONFS[case]
    nc = NetConf(conf(**extra), cni_args)
    parent = _cni_rtnl.LinkView.__new__(_cni_rtnl.LinkView)
    parent.index, parent.name = 3, "p0"
    ours, what = _cni_rtnl.new_macvlan("eth0", parent, nc, netns, up)
    library = new_macvlan(
        "eth0",
        3,
        "macvlan",
        mode=MacvlanMode(nc.mode),
        flags=MacvlanFlags.NONE,
        mac=None if nc.mac is None else MacAddress(nc.mac),
        mtu=nc.mtu or None,
        up=up,
        bcqueuelen=nc.bcqueuelen or None,
        bc_cutoff=None,
        source_macs=(),
        txqueuelen=0,  # as the reference: a macvlan has no queue of its own
        group=None,
        netns_fd=netns,
    )
    assert wire(ours) == wire(library)
    assert what == f"create macvlan 'eth0' ({nc.mode_name}) on 'p0'"


@pytest.mark.parametrize(
    "address", ["10.1.0.5/16", "10.1.0.5/31", "10.1.0.5/32", "fd00::5/64", "fd00::5/128"]
)
def test_address_request_is_the_librarys_bytes(address: str) -> None:
    from macvlan.address import new_address
    from macvlan.cni import rtnl as _cni_rtnl

    ours, what = _cni_rtnl.new_address(7, "eth0", Cidr.parse(address))
    assert wire(ours) == wire(new_address(7, ipaddress.ip_interface(address)))
    assert what == f"add address {address} to 'eth0'"


def test_link_requests_are_the_librarys_bytes() -> None:
    from macvlan._netlink import ifla
    from macvlan.address import dump_addresses
    from macvlan.cni import rtnl as _cni_rtnl
    from macvlan.link import del_link, get_link, set_link

    assert wire(_cni_rtnl.get_link("eth0")[0]) == wire(get_link("eth0"))
    assert wire(_cni_rtnl.get_link(12)[0]) == wire(get_link(12))
    assert wire(_cni_rtnl.del_link("eth0")[0]) == wire(del_link("eth0"))
    assert wire(_cni_rtnl.set_up(12, "eth0")[0]) == wire(set_link(12, up=True))
    assert _cni_rtnl.set_up(12, "eth0")[1] == "set 'eth0' up"  # the name, not the index
    renamed = set_link(12, up=True, attrs=[ifla.IFNAME("eth0")])
    assert wire(_cni_rtnl.rename_link(12, "mvcni1", "eth0", True)[0]) == wire(renamed)
    assert wire(_cni_rtnl.dump_addresses(12)) == wire(dump_addresses(12))
    # renaming without "up" leaves the link's flags alone (change mask 0)
    kept = _cni_rtnl.rename_link(12, "mvcni1", "eth0", False)[0]
    assert (kept.body.flags, kept.body.change) == (0, 0)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("entry", "gw", "expected"),
    [
        (
            {"dst": "0.0.0.0/0"},
            "10.1.0.1",
            {"dst": "0.0.0.0/0", "gateway": "10.1.0.1", "table": 254, "scope": 0},
        ),
        (
            {"dst": "10.9.1.0/16", "gw": "10.1.0.9", "priority": 5, "mtu": 1400, "advmss": 1360},
            None,
            {"dst": "10.9.0.0/16", "gateway": "10.1.0.9", "metric": 5, "table": 254},
        ),
        (
            {"dst": "fd01::/64", "table": 100, "scope": 253},
            None,
            {"dst": "fd01::/64", "gateway": None, "table": 100, "scope": 253},
        ),
        ({"dst": "10.8.0.0/16", "table": 1000}, "10.1.0.1", {"table": 1000}),
    ],
)
def test_route_request_decodes_to_what_was_asked(
    entry: dict[str, Any], gw: str | None, expected: dict[str, Any]
) -> None:
    import macvlan._netlink as nl
    from macvlan._netlink import rta
    from macvlan.cni import rtnl as _cni_rtnl
    from macvlan.route import Route

    route = CniRoute.from_json(entry)
    ours, what = _cni_rtnl.new_route(7, route, IP.parse(gw) if gw else route.gw, "eth0")
    (message,) = nl.decode(wire(ours))
    # NLM_F_CREATE only, as the reference: with APPEND the kernel would put a second
    # network's default route after the first, and egress would stay on the first
    assert message.flags == 0x400
    seen = Route.from_message(message)
    assert (seen.oif, seen.protocol, seen.type) == (7, 3, 1)  # boot, unicast
    for key, value in expected.items():
        got = getattr(seen, key)
        assert (str(got) if got is not None and key in ("dst", "gateway") else got) == value
    assert message.body.table == (
        expected.get("table", 254) if expected.get("table", 254) < 256 else 0
    )
    metrics = {a.spec.name: a.value for a in message.get(rta.METRICS) or ()}
    assert metrics == {
        k: v for k, v in (("RTAX_MTU", route.mtu), ("RTAX_ADVMSS", route.advmss)) if v
    }
    assert what.startswith(f"add route '{entry['dst']}") and what.endswith(" dev eth0'")


def test_route_with_a_gateway_of_another_family_is_refused_before_sending() -> None:
    from macvlan.cni import rtnl as _cni_rtnl

    route = CniRoute.from_json({"dst": "fd01::/64"})
    with pytest.raises(CniConfigError, match="another family"):
        _cni_rtnl.new_route(7, route, IP.parse("10.1.0.1"), "eth0")


def golden_messages(*files: str, show_cases: bool = False) -> list[Any]:
    from golden_data import cases, dump_chunks

    import macvlan._netlink as nl
    from macvlan._netlink.message import Message

    chunks = [c for f in files for c in dump_chunks(f)]
    if show_cases:
        chunks += [bytes.fromhex(h) for c in cases() for h in c["replies"]]
    return [m for chunk in chunks for m in nl.decode(chunk) if isinstance(m, Message)]


def test_link_view_reads_what_the_library_reads() -> None:
    from macvlan.cni.rtnl import LinkView
    from macvlan.link import Link

    messages = [m for m in golden_messages("dump_1000_links.bin.gz", show_cases=True)]
    messages = [m for m in messages if m.type == 16]
    kinds = set()
    for message in messages:
        view, link = LinkView(message), Link.from_message(message)
        assert (view.index, view.name, view.mtu) == (link.index, link.name, link.mtu)
        assert view.mac == (link.mac.packed if link.mac is not None else b"")
        assert view.kind == (link.kind or "")
        assert view.mode == (int(link.macvlan.mode) if link.macvlan else 0)
        kinds.add((view.kind, view.mode))
    assert {("macvlan", 1), ("macvlan", 2), ("macvlan", 4), ("macvlan", 8)} <= kinds
    assert ("veth", 0) in kinds and ("macvtap", 4) in kinds


class FakeSocket:
    """Answers the plugin's dumps with golden kernel replies."""

    def __init__(self, messages: list[Any]) -> None:
        self.messages = messages
        self.asked: list[tuple[Any, str]] = []

    def dump(self, message: Any, what: str) -> list[Any]:
        self.asked.append((message, what))
        return [m for m in self.messages if m.type == message.type - 2]


def fake_rtnl(messages: list[Any]) -> Any:
    from macvlan.cni.rtnl import Rtnl

    rt = Rtnl.__new__(Rtnl)
    rt._sock = FakeSocket(messages)  # type: ignore[assignment]
    return rt


def test_routes_read_what_the_library_reads() -> None:
    from macvlan.route import Route

    messages = golden_messages("dump_routes.bin.gz", "dump_routes_ipv6.bin.gz")
    # and a default route in another table, which the plugin must not take
    import macvlan._netlink as nl
    from macvlan._netlink import rta

    default = next(m for m in messages if m.type == 24 and m.body.dst_len == 0)
    attrs = [a for a in default.attrs if a.type != rta.TABLE.number] + [rta.TABLE(255)]
    local = default._replace(body=default.body._replace(table=255), attrs=attrs)
    messages += nl.decode(wire(local))
    expected = sorted(
        (str(r.dst), str(r.gateway) if r.gateway else None, r.oif or 0, int(r.type))
        for r in map(Route.from_message, (m for m in messages if m.type == 24))
        if r.table == 254
    )
    rt = fake_rtnl(messages)
    got = sorted(
        (str(r.dst.network()), str(r.gw) if r.gw else None, r.oif, r.type) for r in rt.routes()
    )
    assert got == expected
    assert any(prefix.endswith("/0") for prefix, *_ in got)
    assert rt._sock.asked[0][1] == "list routes"


def test_addresses_read_what_the_library_reads() -> None:
    from macvlan.address import Address

    messages = golden_messages("dump_addrs.bin.gz")
    library = [Address.from_message(m) for m in messages if m.type == 20]
    for index in {a.index for a in library}:
        rt = fake_rtnl(messages)
        got = sorted(map(str, rt.addresses(index)))
        assert got == sorted(str(a.interface) for a in library if a.index == index)
    assert any(a.interface.version == 6 for a in library)


def test_the_add_path_loads_no_typed_layers_and_nothing_heavy() -> None:
    """The plugin's netlink, namespace and IPAM layers, and the codec under them,
    import neither the typed layers nor typing, enum, collections, re, socket,
    threading or ctypes (tests/test_cni_live.py checks real commands too)."""
    names = imported_modules(
        "-c", "import macvlan.cni, macvlan.cni.rtnl, macvlan.cni.netns, macvlan.cni.ipam"
    )
    assert {"macvlan._netlink.socket", "macvlan._netlink.ifla"} <= names
    heavy = {"dataclasses", "ctypes", "macvlan.link", "macvlan.mac", "macvlan.address"}
    heavy |= {"macvlan.route", "macvlan.connection", "json", "subprocess"}
    heavy |= {"typing", "enum", "collections", "functools", "re", "socket", "threading"}
    heavy |= {"contextlib", "ipaddress", "array", "selectors", "macvlan._netlink.constants"}
    assert names & heavy == set()


# -- the temporary-name fallback (for kernels that check the name where the link is made) ------
class FakeRtnl:
    """Records calls; ``create_macvlan`` refuses the final name once, as such a kernel would."""

    def __init__(self, existing: set[str], fail_rename: bool = False) -> None:
        self.existing = existing
        self.fail_rename = fail_rename
        self.calls: list[tuple[Any, ...]] = []

    def create_macvlan(self, name: str, parent: int, conf: Any, netns: Any, up: bool) -> None:
        from macvlan.errors import LinkExists

        self.calls.append(("create", name, up))
        if name == "eth0":
            raise LinkExists(17, "", "create")

    def link(self, name: str) -> Any:
        self.calls.append(("link", name))
        return object() if name in self.existing else None

    def rename_and_up(self, old: str, new: str, up: bool) -> None:
        self.calls.append(("rename", old[:5], new, up))
        if self.fail_rename:
            raise CniError("rename refused")

    def delete_link(self, name: str) -> None:
        self.calls.append(("delete", name[:5]))


PARENT: Any = object()


def test_create_falls_back_to_a_temporary_name() -> None:
    args = Args({"CNI_IFNAME": "eth0", "CNI_NETNS": "/run/netns/x"})
    rt = FakeRtnl(set())
    create_macvlan(args, NetConf(conf()), PARENT, 5, rt, rt, up=True)  # type: ignore[arg-type]
    assert rt.calls[:2] == [("create", "eth0", True), ("link", "eth0")]
    assert rt.calls[2][0] == "create" and rt.calls[2][1].startswith("mvcni")
    assert rt.calls[2][2] is False
    assert rt.calls[3] == ("rename", "mvcni", "eth0", True)


def test_create_refuses_an_existing_name_and_cleans_a_failed_rename() -> None:
    args = Args({"CNI_IFNAME": "eth0", "CNI_NETNS": "/run/netns/x"})
    rt = FakeRtnl({"eth0"})
    with pytest.raises(CniError, match="'eth0' already exists"):
        create_macvlan(args, NetConf(conf()), PARENT, 5, rt, rt, up=False)  # type: ignore[arg-type]
    assert rt.calls == [("create", "eth0", False), ("link", "eth0")]
    rt = FakeRtnl(set(), fail_rename=True)
    with pytest.raises(CniError, match="rename refused"):
        create_macvlan(args, NetConf(conf()), PARENT, 5, rt, rt, up=False)  # type: ignore[arg-type]
    assert rt.calls[-1] == ("delete", "mvcni")
