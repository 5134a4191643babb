"""Running the IPAM plugin a CNI configuration names (SPEC.md, "Delegated plugins").

The plugin is found in an absolute ``CNI_PATH`` directory and run with the
caller's environment (``CNI_COMMAND`` replaced) and the configuration on stdin;
its result or its error object (code kept) comes back as the CNI types.
"""

from __future__ import annotations

import os
import sys

from macvlan.cni.errors import CniConfigError, CniDecodeError, CniEnvError, CniError
from macvlan.cni.jsonio import loads
from macvlan.cni.result import Result
from macvlan.cni.version import SUPPORTED_VERSIONS

_SIGPIPE = 13
_SIGXFSZ = 25


def find_plugin(kind: str, cni_path: str) -> str:
    """The executable ``kind`` in the first absolute ``CNI_PATH`` directory holding it.

    Relative entries are skipped: a plugin is never looked up through the working
    directory, ``PATH`` or a shell.
    """
    dirs = [d for d in cni_path.split(":") if d.startswith("/")]
    if not dirs:
        raise CniEnvError(f"CNI_PATH {cni_path!r} has no absolute directory to find {kind!r} in")
    for directory in dirs:
        candidate = directory.rstrip("/") + "/" + kind
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if st.st_mode & 0o170000 == 0o100000 and os.access(candidate, os.X_OK):
            return candidate
    raise CniConfigError(f"failed to find IPAM plugin {kind!r} in CNI_PATH {':'.join(dirs)}")


class Delegate:
    """An IPAM plugin run with our environment (CNI_COMMAND replaced) and our stdin.

    Started at construction.  Given ``data``, it gets its input at once; without,
    it is held before it has read anything -- its start-up overlapping the caller's
    work -- until :meth:`send` gives it its input, or :meth:`cancel` ends it (a
    plugin learns what to do only from its input, so one held so has done nothing).
    :meth:`result` waits for it; its stderr is passed on.
    """

    __slots__ = ("_done", "_err", "_out", "_pid", "_stdin", "command", "kind", "status")

    def __init__(self, cni_path: str, kind: str, command: str, data: bytes | None = None) -> None:
        self.kind = kind
        self.command = command
        #: the exit status once waited for (None before, or if cancelled)
        self.status: int | None = None
        path = find_plugin(kind, cni_path)
        env = dict(os.environ)
        env["CNI_COMMAND"] = command
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        actions = [
            (os.POSIX_SPAWN_DUP2, stdin_r, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, err_w, 2),
        ]
        try:
            for attempt in range(6):  # "text file busy" while the plugin is replaced
                try:
                    self._pid = os.posix_spawn(
                        path, [path], env, file_actions=actions, setsigdef=(_SIGPIPE, _SIGXFSZ)
                    )
                    break
                except OSError as exc:
                    if exc.errno != 26 or attempt == 5:  # ETXTBSY
                        raise CniError(f"cannot run IPAM plugin {path}: {exc}") from None
                    import time

                    time.sleep(1)
        except BaseException:
            for fd in (stdin_r, stdin_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            raise
        os.close(stdin_r)
        os.close(out_w)
        os.close(err_w)
        self._out, self._err, self._done, self._stdin = out_r, err_r, False, stdin_w
        if data is not None:
            self.send(data)

    @property
    def sent(self) -> bool:
        """Whether the plugin has been given its input."""
        return self._stdin < 0

    def send(self, data: bytes) -> None:
        """Give the plugin its input (once)."""
        stdin, self._stdin = self._stdin, -1
        if stdin < 0:
            raise RuntimeError(f"IPAM plugin {self.kind!r} ({self.command}) was given its input")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(stdin, view) :]
        except BrokenPipeError:
            pass  # it exited without reading; its status says why
        finally:
            os.close(stdin)

    def cancel(self) -> None:
        """End a plugin not yet given its input (it has done nothing); else no-op."""
        if self._done or self.sent:
            return
        os.close(self._stdin)
        self._stdin = -1
        os.kill(self._pid, 9)  # SIGKILL: our own child, still waiting for its input
        os.close(self._out)
        os.close(self._err)
        os.waitpid(self._pid, 0)
        self._done = True

    def _collect(self) -> tuple[int, bytes, bytes]:
        import select

        chunks: dict[int, list[bytes]] = {self._out: [], self._err: []}
        poller = select.poll()
        for fd in chunks:
            poller.register(fd, select.POLLIN)
        open_fds = set(chunks)
        try:
            while open_fds:
                for fd, _ in poller.poll():
                    chunk = os.read(fd, 1 << 16)
                    if chunk:
                        chunks[fd].append(chunk)
                    else:
                        poller.unregister(fd)
                        open_fds.discard(fd)
        finally:
            os.close(self._out)
            os.close(self._err)
            _, status = os.waitpid(self._pid, 0)
            self._done = True
            code = self.status = os.waitstatus_to_exitcode(status)
        return (
            code,
            b"".join(chunks[self._out]),
            b"".join(chunks[self._err]),
        )

    def wait_quietly(self) -> int | None:
        """Wait, output set aside; the exit status (None if it was cancelled)."""
        if not self.sent:
            self.cancel()
        elif not self._done:
            self._collect()
        return self.status

    def result(self, expect_output: bool = True) -> Result:
        """Wait; the parsed result, or the plugin's error (its own code) as CniError."""
        if not self.sent:
            raise RuntimeError(f"IPAM plugin {self.kind!r} ({self.command}) has no input yet")
        status, out, err = self._collect()
        if err:
            sys.stderr.write(err.decode("utf-8", "replace"))
        name = f"IPAM plugin {self.kind!r} ({self.command})"
        if status != 0:
            raise plugin_error(name, status, out, err)
        if not expect_output:
            return Result()
        try:
            obj = loads(out.decode("utf-8", "replace"))
        except ValueError as exc:
            raise CniDecodeError(f"{name} returned no JSON result: {exc}") from None
        version = obj.get("cniVersion") if isinstance(obj, dict) else None
        if not isinstance(version, str) or version not in SUPPORTED_VERSIONS:
            raise CniDecodeError(f"{name} returned a result of unknown cniVersion {version!r}")
        return Result.from_json(obj, version)


def plugin_error(name: str, status: int, out: bytes, err: bytes) -> CniError:
    """The error a failed plugin reported on stdout, its code kept."""
    if out.strip():
        try:
            obj = loads(out.decode("utf-8", "replace"))
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("msg"), str):
            code = obj.get("code")
            details = obj.get("details")
            return CniError(
                obj["msg"],
                details if isinstance(details, str) else "",
                code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            )
        return CniError(f"{name} failed (exit status {status}) with output {out[:200]!r}")
    if err.strip():
        return CniError(f"{name} failed (exit status {status}): {err.decode(errors='replace')}")
    return CniError(f"{name} failed with exit status {status} and no message")
