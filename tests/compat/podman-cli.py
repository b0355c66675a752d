#!/usr/bin/env python3
"""Writes the names of Podman's commands and long flags, one per line.

Walks `podman --help` and every subcommand's `--help` below it (depth first)
and prints `podman WORDS...` for each command and `podman WORDS... --flag`
for each long flag the command accepts. Global flags are listed once, under
`podman`. `help`, `--help` and the `machine` tree are left out: hutch runs
no virtual machines (docs/compat.md). The output is the committed list
tests/compat/podman-cli.txt that tests/compat/parity.rs compares hutch with:

    python3 tests/compat/podman-cli.py > tests/compat/podman-cli.txt
"""

import re
import subprocess
import sys

SKIP_COMMANDS = {"help", "machine"}
FLAG = re.compile(r"^\s+(?:-\w, )?(--[a-z0-9][a-z0-9-]*)")
COMMAND = re.compile(r"^\s+([a-z][a-z0-9-]*)\s")


def help_text(words):
    """Returns the --help output of `podman WORDS...`."""
    out = subprocess.run(["podman", *words, "--help"], capture_output=True, text=True, check=True)
    return out.stdout


def sections(text):
    """Splits help text into {section title: lines}."""
    result, current = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            current = line.rstrip()[:-1]
            result.setdefault(current, [])
        elif current is not None:
            result[current].append(line)
    return result


def walk(words, global_flags, out):
    """Appends the names under `podman WORDS...` to out."""
    parts = sections(help_text(words))
    out.append(" ".join(["podman", *words]))
    flags = set()
    for title in ("Options", "Flags"):
        for line in parts.get(title, []):
            m = FLAG.match(line)
            if m:
                flags.add(m.group(1))
    flags.discard("--help")
    if words:
        flags -= global_flags
    for flag in sorted(flags):
        out.append(" ".join(["podman", *words, flag]))
    for line in parts.get("Available Commands", []):
        m = COMMAND.match(line)
        if m and m.group(1) not in SKIP_COMMANDS:
            walk([*words, m.group(1)], global_flags, out)
    return flags


def main():
    top = sections(help_text([]))
    global_flags = set()
    for line in top.get("Options", []):
        m = FLAG.match(line)
        if m:
            global_flags.add(m.group(1))
    out = []
    walk([], set(), out)
    version = subprocess.run(["podman", "--version"], capture_output=True, text=True, check=True)
    print(f"# {version.stdout.strip()}: commands and long flags, from tests/compat/podman-cli.py")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
