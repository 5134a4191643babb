"""cffi out-of-line build script for ``macvlan._csys``: the Linux calls Python
3.11's :mod:`os` lacks (setns, unshare, mount, umount2), and ioctl for
``NS_GET_NSTYPE``, called straight from C.

:mod:`macvlan._syscalls` falls back to :mod:`ctypes` (and :mod:`fcntl` for the
ioctl) when this module is not built; those cost some 3 ms and 0.5 ms to import,
which the CNI plugin (a process per container that enters namespaces) would pay
on every command.
"""

from cffi import FFI

CDEF = """
int setns(int fd, int nstype);
int unshare(int flags);
int mount(const char *source, const char *target, const char *filesystemtype,
          unsigned long mountflags, const void *data);
int umount2(const char *target, int flags);
int ioctl(int fd, unsigned long request, ...);
"""

SOURCE = r"""
#include <sched.h>  /* Python.h, included first, defines _GNU_SOURCE */
#include <sys/mount.h>
#include <sys/ioctl.h>
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source("macvlan._csys", SOURCE)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
