"""Checks of the built site that `mkdocs build --strict` does not make (`make docs` runs it).

- the search index finds the public API (`sync_down`, `EMClient`, `AsyncEMClient`);
- the command-line page has a section for every `dphi-em` command, read from the click app
  itself, with no placeholder of click's (`Sentinel.UNSET`) and every "Example(s):" block
  kept as a code block;
- the API reference has every name of `dphi_em.__all__`;
- the README is a front page: at most 10 KB, with `make demo` and `make test`.

Usage: python docs/check_site.py [SITE_DIR]   (default: site)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
README_LIMIT = 10 * 1024


def commands(group: click.Command, prefix: str) -> list[str]:
    """Every command path under `group`: `dphi-em`, `dphi-em image`, `dphi-em image build`..."""
    found = [prefix]
    if isinstance(group, click.Group):
        for name, sub in sorted(group.commands.items()):
            if not sub.hidden:
                found += commands(sub, f"{prefix} {name}")
    return found


def main(site: Path) -> list[str]:
    from dphi_em import __all__ as public
    from dphi_em.cli import app

    problems: list[str] = []
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    text = " ".join(
        doc["location"] + " " + doc["text"] + " " + doc["title"] for doc in index["docs"]
    )
    for word in ("sync_down", "EMClient", "AsyncEMClient"):
        if word not in text:
            problems.append(f"search index lacks {word!r}")

    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    for path in commands(app, "dphi-em"):
        anchor = path.replace(" ", "-")
        if f'id="{anchor}"' not in cli:
            problems.append(f"CLI page lacks a section for {path!r} (#{anchor})")
    if "Sentinel." in cli:
        problems.append("CLI page shows click's Sentinel placeholder as a value")
    joined = re.findall(r"<p>Examples?:(?!</p>)[^<]*", cli)
    if joined:
        problems.append(f"CLI page joins example lines into a paragraph: {joined[0][:80]!r}")

    reference = "".join(
        page.read_text(encoding="utf-8") for page in (site / "reference").rglob("index.html")
    )
    for name in public:
        if f'id="dphi_em.{name}"' not in reference:
            problems.append(f"API reference lacks dphi_em.{name}")

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if len(readme.encode()) > README_LIMIT:
        problems.append(f"README.md is {len(readme.encode())} bytes (at most {README_LIMIT})")
    for command in ("make demo", "make test"):
        if command not in readme:
            problems.append(f"README.md lacks {command!r}")
    return problems


if __name__ == "__main__":
    site_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "site"
    found = main(site_dir)
    for problem in found:
        print(f"check_site: {problem}", file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"check_site: {site_dir}: search, CLI commands, API reference and README all good")
