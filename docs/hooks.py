"""MkDocs hooks of the docs site (`hooks:` in mkdocs.yml).

click keeps a paragraph of a command's help as written when a line holding only `\\b` comes
first: every `dphi-em` command's "Example:" or "Examples:" line and the command lines
indented under it. mkdocs-click copies the help into the page as Markdown (dropping the `\\b`),
where those lines would be joined into one. This puts the indented lines that follow such a
line into a code block, as `--help` prints them.
"""

from __future__ import annotations

from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

HEADINGS = ("Example:", "Examples:")


def _indented(line: str) -> bool:
    return line.startswith("  ") and not line.startswith("    ") and bool(line.strip())


class _KeepClickParagraphs(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            out.append(line)
            i += 1
            if line.strip() not in HEADINGS or i >= len(lines) or not _indented(lines[i]):
                continue
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][2:])
                i += 1
            out.extend(["", "```sh", *block, "```", ""])
        return out


class KeepClickParagraphs(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # after mkdocs-click (141) writes the help text, before fenced blocks are read (25)
        md.preprocessors.register(_KeepClickParagraphs(md), "keep_click_paragraphs", 140)


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(KeepClickParagraphs())
    return config
