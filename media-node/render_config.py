#!/usr/bin/env python3
"""Renders media-node/nginx.conf.template: replaces each {{NAME}} with its value.

Used by bootstrap.sh on AWS nodes and by local mode, so both run the same nginx configuration.
Refuses a placeholder without a value, a value given for no placeholder, and values that could
break out of their nginx directive (whitespace, quotes, ';', braces, '#'). The output file is
written with mode 0600: it holds the node's secret.

Usage: render_config.py TEMPLATE OUTPUT NAME=VALUE...
A value of "-" is read from standard input (one line): a secret passed that way never shows in
the process list, as a command-line argument would.
"""
import os
import re
import sys

PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
# Anything that nginx would read as the end of a value or the start of a new directive.
UNSAFE = re.compile(r"[\s;{}'\"#\\$]")


def render(template: str, values: dict) -> str:
    names = set(PLACEHOLDER.findall(template))
    missing = sorted(names - values.keys())
    unknown = sorted(values.keys() - names)
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    if unknown:
        raise ValueError(f"no placeholder for {', '.join(unknown)}")
    for name, value in values.items():
        if value == "" or UNSAFE.search(value):
            raise ValueError(f"{name} must be non-empty, without spaces, quotes, ';', braces, '#', '$' or '\\'")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def main(argv: list) -> int:
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    template_path, output_path, pairs = argv[0], argv[1], argv[2:]
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            print(f"render_config: expected NAME=VALUE, got {pair!r}", file=sys.stderr)
            return 2
        values[name] = value
    from_stdin = [name for name, value in values.items() if value == "-"]
    if len(from_stdin) > 1:
        print("render_config: only one value can come from standard input", file=sys.stderr)
        return 2
    if from_stdin:
        values[from_stdin[0]] = sys.stdin.readline().rstrip("\n")
    with open(template_path, encoding="utf-8") as f:
        template = f.read()
    try:
        text = render(template, values)
    except ValueError as error:
        print(f"render_config: {error}", file=sys.stderr)
        return 1
    fd = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(output_path, 0o600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
