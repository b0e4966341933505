#!/usr/bin/env python3
# Parse reStructuredText files with docutils and fail on any error: what
# `make check` can do offline for the kernel documentation of the series
# (Sphinx's kernel-doc build is not available). Sphinx-only roles and
# lexers the kernel's docs use are accepted.
#   rst-check.py FILE...
import sys

import docutils.core
import docutils.nodes
from docutils.parsers.rst import roles


def literal_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    return [docutils.nodes.literal(rawtext, text)], []


for role in ("kbd", "ref", "doc", "c:func", "c:type"):
    roles.register_local_role(role, literal_role)

failed = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        src = f.read()
    # "none" is a Sphinx lexer name; docutils would ask Pygments for it.
    src = src.replace(".. code-block:: none", ".. code-block:: text")
    errors = []

    class Stream:
        def write(self, msg):
            if "(ERROR/" in msg or "(SEVERE/" in msg or "(WARNING/" in msg:
                errors.append(msg.strip())

    docutils.core.publish_doctree(
        src, source_path=path,
        settings_overrides={"report_level": 2, "halt_level": 5,
                            "warning_stream": Stream(),
                            "syntax_highlight": "none"})
    for e in errors:
        print(e)
    if errors:
        failed += 1
    else:
        print(f"rst-check: {path}: ok")
sys.exit(1 if failed else 0)
