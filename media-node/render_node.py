#!/usr/bin/env python3
"""Renders one media node's nginx configuration: each template of TEMPLATES, its {{NAME}}s filled,
into OUTPUT_DIR. bootstrap.sh (AWS) and local mode both use it, with values for what differs between
nodes only (ports, paths, identity): every setting is in the templates. Refuses a placeholder
without a value, a value given for no placeholder, and values that could break out of their nginx
directive (whitespace, quotes, ';', braces, '#'). Writes mode 0600 (the node's secret).

{{SHIM_TOKEN}} is the renderer's own: a new random token each render, which every URL of the node's
loopback control path starts with (the callbacks, the heartbeat, the stat page). The shim refuses
any request without it, so only the node's nginx (its config holds it) and its agent (which reads
OUTPUT_DIR/shim-token, also 0600) can speak in the node's name, not any process on the node.

Usage: render_node.py OUTPUT_DIR NAME=VALUE...
A value "-" is read from standard input (one line): a secret passed that way never shows in the
process list, as a command-line argument would.
"""
import os
import re
import secrets
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Template file -> rendered file.
TEMPLATES = {"nginx-rtmp.conf.template": "rtmp.conf", "nginx-shim.conf.template": "shim.conf"}
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
# Anything that nginx would read as the end of a value or the start of a new directive.
UNSAFE = re.compile(r"[\s;{}'\"#\\$]")
SHIM_TOKEN = "SHIM_TOKEN"
# Where the agent reads the token (a systemd credential on AWS: docs/NODE.md).
SHIM_TOKEN_FILE = "shim-token"


def render(templates: dict, values: dict) -> dict:
    """Each template's text rendered; every value must fill a placeholder of some template."""
    names = {name for text in templates.values() for name in PLACEHOLDER.findall(text)}
    missing = sorted(names - values.keys())
    unknown = sorted(values.keys() - names)
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    if unknown:
        raise ValueError(f"no placeholder for {', '.join(unknown)}")
    for name, value in values.items():
        if value == "" or UNSAFE.search(value):
            raise ValueError(f"{name} must be non-empty, without spaces, quotes, ';', braces, '#', '$' or '\\'")
    return {name: PLACEHOLDER.sub(lambda m: values[m.group(1)], text) for name, text in templates.items()}


def main(argv: list) -> int:
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    output_dir, pairs = argv[0], argv[1:]
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            print(f"render_node: expected NAME=VALUE, got {pair!r}", file=sys.stderr)
            return 2
        values[name] = value
    from_stdin = [name for name, value in values.items() if value == "-"]
    if len(from_stdin) > 1:
        print("render_node: only one value can come from standard input", file=sys.stderr)
        return 2
    if from_stdin:
        values[from_stdin[0]] = sys.stdin.readline().rstrip("\n")
    if SHIM_TOKEN in values:
        print(f"render_node: {SHIM_TOKEN} is drawn by the renderer, never given", file=sys.stderr)
        return 2
    # 256 bits, base64url: nothing that nginx or a URL would read as anything but the token.
    values[SHIM_TOKEN] = secrets.token_urlsafe(32)
    templates = {}
    for template in TEMPLATES:
        with open(os.path.join(HERE, template), encoding="utf-8") as f:
            templates[template] = f.read()
    try:
        rendered = render(templates, values)
    except ValueError as error:
        print(f"render_node: {error}", file=sys.stderr)
        return 1
    files = {TEMPLATES[template]: text for template, text in rendered.items()}
    files[SHIM_TOKEN_FILE] = values[SHIM_TOKEN] + "\n"
    for name, text in files.items():
        output_path = os.path.join(output_dir, name)
        fd = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(output_path, 0o600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
