"""The first program of a namespaced sandbox: makes the file system read-only but for the run's folders,
hides the wizard user's home and shared temp folders, drops every capability, then runs the command.

    unshare --mount --pid --fork --kill-child --mount-proc [--net] -- \
        python -I wizard/worker/jail.py CONFIG_JSON -- COMMAND...

CONFIG_JSON is `{"writable": [...], "visible": [...], "masked": [...]}` (absolute paths):
- `masked` folders are replaced by an empty throwaway tmpfs (the home with its Hugging Face token, /tmp);
- `visible` paths that lie under a masked folder are bound back read-only (the Python environment, the
  ComfyUI checkout), `writable` ones read-write (the run's own folder);
- every other mount is remounted read-only (also /sys with its cgroups, /proc/sys), so even root cannot
  write into site-packages or ComfyUI, nor change the machine's settings.
It runs as root of its own mount namespace (real root, or a user namespace's), so it may mount; the
command runs without capabilities (`setpriv`), so it cannot undo any of this. This module imports only
the standard library: it runs before the command and must not import the wizard.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
# statvfs flag -> the mount flag a read-only remount must keep (a locked flag cannot be dropped).
_KEPT_FLAGS = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}
_KERNEL_FILESYSTEMS = ("/proc", "/dev")  # left as they are (/sys and its cgroups become read-only)
_PROC_SETTINGS = ("/proc/sys", "/proc/sysrq-trigger")  # the kernel's settings: read-only, as Docker does
_TMPFS_OPTIONS = b"mode=0755,size=1g"
_LIBC = ctypes.CDLL(None, use_errno=True)


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: bytes | None = None
) -> None:
    encoded = [None if value is None else os.fsencode(value) for value in (source, target, fstype)]
    if _LIBC.mount(*encoded, ctypes.c_ulong(flags), data) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {source} on {target}: {os.strerror(error)}")


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _mount_points() -> list[tuple[str, set[str]]]:
    """(mount point, its options) of this namespace, as /proc/self/mountinfo lists them."""
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            # Octal escapes (\040 for a space) as the kernel writes them.
            point = re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), fields[4])
            points.append((point, set(fields[5].split(","))))
    return points


def _bind_from(fd: int, target: str) -> None:
    """Binds the file or folder open as `fd` onto `target`, making the mount point in a tmpfs first."""
    if os.path.isdir(f"/proc/self/fd/{fd}"):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)


def set_up(writable: list[str], visible: list[str], masked: list[str]) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates to the wizard's namespace
    kept = sorted({*writable, *visible}, key=lambda path: path.count("/"))
    handles = {path: os.open(path, os.O_PATH) for path in kept if os.path.exists(path)}
    # A folder under another masked one is hidden with it.
    masked = [
        path
        for path in masked
        if os.path.isdir(path) and not any(_under(path, other) for other in masked if other != path)
    ]
    for folder in masked:
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, _TMPFS_OPTIONS)
    for path, fd in handles.items():
        # A writable path gets a mount of its own even when not masked, so it stays writable below.
        if path in writable or any(_under(path, folder) for folder in masked):
            _bind_from(fd, path)
        os.close(fd)
    for point, options in _mount_points():
        if (
            "ro" in options
            or point in masked
            or any(_under(point, path) for path in writable)
            or any(_under(point, system) for system in _KERNEL_FILESYSTEMS)
        ):
            continue
        try:
            _remount_read_only(point)
        except OSError:
            if not _under(point, "/sys"):  # a kernel that refuses it for sysfs: its files stay root-only
                raise
    for path in _PROC_SETTINGS:
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND)
            _remount_read_only(path)


def _remount_read_only(point: str) -> None:
    kept_flags = os.statvfs(point).f_flag
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    flags |= sum(flag for st_flag, flag in _KEPT_FLAGS.items() if kept_flags & st_flag)
    _mount(None, point, None, flags)


def main(argv: list[str]) -> None:
    config, separator, command = argv[0], argv[1], argv[2:]
    if separator != "--" or not command:
        raise SystemExit("usage: python -I wizard/worker/jail.py CONFIG_JSON -- COMMAND...")
    paths = json.loads(config)
    cwd = os.getcwd()
    set_up(paths["writable"], paths["visible"], paths["masked"])
    os.chdir(cwd)  # the old working directory may now lie under a mask or a new mount
    drop_all = ["--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    os.execvp("setpriv", ["setpriv", *drop_all, "--", *command])


if __name__ == "__main__":
    main(sys.argv[1:])
