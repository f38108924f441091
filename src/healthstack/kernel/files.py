"""Private files and folders: what HealthStack writes under its data directory (the
SQLite database and its -wal/-shm, the key files) holds health records and keys, so
it is made readable by its owner alone, whatever the process umask says.

SQLite gives a database's -wal, -shm and -journal files the mode of the database file
itself, so creating that file 0600 before SQLite opens it covers all of them.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) 0700. A folder that exists is left as it
    is: the deployer may have prepared it (a mount point, a shared parent)."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        # Another process may make it between the check and here.
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
        # Set the mode outright rather than trust mkdir's, which the umask filters.
        os.chmod(folder, DIR_MODE)
    return path


def ensure_private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 when missing; tighten it when it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    else:
        os.close(fd)
        os.chmod(path, FILE_MODE)
    return path


def _tighten(path: Path, mode: int) -> None:
    """Drop the group and other bits of a file this user owns: a database made before
    files were private keeps working, now private."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid != os.getuid():
        return  # not ours to change (a folder the deployer prepared for us)
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
