"""Keep an OpenDSS bundle inside itself before the engine runs a line of it.

The engine executes the master as a script: ``Redirect /some/file`` would run (and, on
error, echo) any file the server can read, ``DOScmd`` would run a shell command, ``Export``
and ``Save`` write files. So, before compiling:

- the bundle holds no symbolic links and no special files, and its ``.dss`` files are text;
- the scripts (the master, and what it redirects or compiles, also in ``!`` comments, which
  the reader runs for distributed generation) use only the commands that describe and
  solve a network (:data:`ALLOWED_COMMANDS`), and no ``Set`` option naming a folder or a
  program (:data:`REFUSED_OPTIONS`);
- every file a script names (``Redirect``, ``Compile``, ``Buscoords``, ``LatLongCoords``,
  and ``file=``-style property values such as a load shape's ``mult=(file=x.csv)``) is a
  relative path to a regular file inside the bundle.

Anything else is a :class:`NetworkFileRefusedError` naming the bundle file and line (the
upload's own text, never the target's).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Final

from gis.errors import NetworkFileRefusedError

ALLOWED_COMMANDS: Final = frozenset(
    {
        "new",
        "edit",
        "more",
        "m",
        "~",
        "like",
        "set",
        "redirect",
        "compile",
        "clear",
        "buscoords",
        "latlongcoords",
        "solve",
        "calcvoltagebases",
        "calcv",
        "makebuslist",
        "disable",
        "enable",
        "open",
        "close",
        "batchedit",
    }
)
REFUSED_OPTIONS: Final = frozenset({"datapath", "editor"})
_FILE_COMMANDS: Final = frozenset({"redirect", "compile", "buscoords", "latlongcoords"})
_SCRIPT_COMMANDS: Final = frozenset({"redirect", "compile"})
_COMMENTED_FILE_COMMAND = re.compile(
    r"^\s*(?:!|//)\s*(redirect|compile|buscoords|latlongcoords)\s+(\S+)", re.IGNORECASE
)
_TARGET = re.compile(r"^\s*\S+\s+(\"[^\"]*\"|'[^']*'|\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|\S+)")
_FILE_PROPERTY = re.compile(
    r"(?<![a-z])(?:file|sngfile|dblfile|csvfile|pqcsvfile)\s*=\s*"
    r"(\"[^\"]*\"|'[^']*'|[^\s)\]}\"',]+)",
    re.IGNORECASE,
)
_OBJECT_EDIT = re.compile(r"^[a-z]+\.[^\s]+$")
_SET_OPTION = re.compile(r"(?:^|\s)([a-z_]+)\s*=", re.IGNORECASE)
_QUOTES = "\"'()[]{} "


def _refuse(where: str, why: str) -> None:
    raise NetworkFileRefusedError(f"{where}: {why}; nothing was read or imported")


def check_tree(folder: Path) -> None:
    """No symbolic link or special file anywhere; ``.dss`` files are text."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in (*dirs, *files):
            path = Path(root) / name
            shown = path.relative_to(folder).as_posix()
            if path.is_symlink():
                _refuse(shown, "symbolic links are not accepted in a bundle")
            if name in files and not path.is_file():
                _refuse(shown, "not a regular file")
            if name.lower().endswith(".dss") and b"\x00" in path.read_bytes():
                _refuse(shown, "not a text file")


def _strip_comment(line: str) -> str:
    cut = [i for i in (line.find("!"), line.find("//")) if i >= 0]
    return line[: min(cut)] if cut else line


def _inside(root: Path, script: Path, written: str, where: str) -> Path:
    """The file a script names, refused unless it is a relative path to a regular file
    inside ``root``."""
    name = written.strip(_QUOTES)
    if not name:
        _refuse(where, "an empty file name")
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or re.match(r"^[a-z]:", name, re.IGNORECASE) or "/vsi" in name:
        _refuse(where, f"{name!r} is an absolute path: only files of the bundle may be named")
    target = script.parent.joinpath(*posix.parts)
    resolved = target.resolve()
    if not resolved.is_relative_to(root.resolve()):
        _refuse(where, f"{name!r} lies outside the bundle")
    if target.is_symlink() or not resolved.is_file():
        _refuse(where, f"{name!r} is not a file of the bundle")
    return resolved


def check_scripts(root: Path, master: Path) -> None:
    """Walk the master and every script it reaches (see module doc), refusing what
    escapes the bundle or is not a network description."""
    pending, seen = [master.resolve()], set[Path]()
    while pending:
        script = pending.pop()
        if script in seen:
            continue
        seen.add(script)
        shown = script.relative_to(root.resolve()).as_posix()
        text = script.read_text(encoding="latin-1")
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{shown} line {number}"
            commented = _COMMENTED_FILE_COMMAND.match(line)
            if commented:  # the reader runs some of these (distributed generation)
                target = _inside(root, script, commented.group(2), where)
                if commented.group(1).lower() in _SCRIPT_COMMANDS:
                    pending.append(target)
                continue
            body = _strip_comment(line).strip()
            if not body:
                continue
            # The engine's parser unquotes a command like any token; "Class.name.prop=v"
            # edits an object (no command word).
            written_command = (
                "~" if body.startswith("~") else re.split(r"[\s=]", body, maxsplit=1)[0]
            ).strip(_QUOTES)
            command = written_command.lower()
            if command not in ALLOWED_COMMANDS and not _OBJECT_EDIT.match(command):
                _refuse(where, f"the OpenDSS command {written_command!r} is not accepted")
            if command == "set":
                for option in _SET_OPTION.findall(body):
                    if option.lower() in REFUSED_OPTIONS:
                        _refuse(where, f"'Set {option}' is not accepted in an import")
            if command in _FILE_COMMANDS:
                written = _TARGET.match(body)
                if written is None:
                    _refuse(where, f"{written_command} names no file")
                    continue
                target = _inside(root, script, written.group(1), where)
                if command in _SCRIPT_COMMANDS:
                    pending.append(target)
            for written_name in _FILE_PROPERTY.findall(body):
                _inside(root, script, written_name, where)
