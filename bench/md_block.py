#!/usr/bin/env python3
"""md_block.py - replace one generated block of a markdown file, keeping the rest.

    md_block.py FILE NAME < content

The block lies between the lines `<!-- begin NAME -->` and `<!-- end NAME -->`. When FILE
has no such block, the block is appended (FILE is created when missing). Several benchmark
scripts write their own blocks of docs/BENCHMARKS.md this way, so no script overwrites the
others' numbers or the hand-written notes around them."""
import os
import sys


def replace_block(text, name, content):
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{content.rstrip()}\n{end}"
    lines = text.split("\n")
    try:
        i = lines.index(begin)
        j = lines.index(end, i + 1)
    except ValueError:
        sep = "" if text == "" else ("\n" if text.endswith("\n") else "\n\n")
        return text + sep + block + "\n"
    return "\n".join(lines[:i] + [block] + lines[j + 1:])


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: md_block.py FILE NAME < content")
    path, name = sys.argv[1], sys.argv[2]
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    new = replace_block(old, name, sys.stdin.read())
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
