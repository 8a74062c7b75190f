"""One self-contained HTML report of several experiments, the figures inline (base64).

The experiments' markdown summaries are rendered by markdown-it-py (CommonMark with
GitHub-style tables), so emphasis, code, escaped pipes in tables and the like come out as
written. Each experiment's section says which slide or figure of the lecture it reproduces,
the claim it checks, and links to the function that produced it. An experiment that failed
(raised) is shown with its error; the page has no external references.
"""

from __future__ import annotations

import base64
import datetime
import html
import inspect
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..fileio import atomic_write
from ._common import Result

__all__ = ["markdown_to_html", "write_report"]

_MIME = {".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".svg": "image/svg+xml"}

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; max-width: 1180px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { margin-top: 2.2em; border-bottom: 1px solid #eee; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .88em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; font-size: .92em; }
img { max-width: 100%; margin: .6em 0; border: 1px solid #eee; }
.ok { color: #1a7f37; } .fail { color: #cf222e; font-weight: bold; }
.meta { color: #666; font-size: .9em; }
.lecture { background: #f6f8fa; border-left: 4px solid #0969da; padding: .4em .8em; }
.error { background: #ffebe9; border-left: 4px solid #cf222e; padding: .4em .8em; }
nav a { margin-right: 1em; }
"""

_CHECK = re.compile(r"^- \[([ x])\] ", re.MULTILINE)


def _renderer() -> Any:
    try:
        from markdown_it import MarkdownIt
    except ImportError as exc:  # pragma: no cover - markdown-it-py comes with the train extra
        raise ImportError(
            "descend lab's report needs markdown-it-py; install it with "
            "pip install 'descend[train]' (or pip install markdown-it-py)"
        ) from exc
    # html=False: text from a summary is escaped, never interpreted as HTML
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_to_html(markdown: str, heading_offset: int = 0) -> str:
    """Render a summary's markdown to HTML: headings shifted by ``heading_offset`` levels,
    check-list items (``- [x]``/``- [ ]``) as a tick or a red FAILED, images left out (the
    report inlines the figures itself)."""
    md = _renderer()
    text = re.sub(r"^!\[[^\]]*\]\([^)]*\)\s*$", "", markdown, flags=re.MULTILINE)
    text = _CHECK.sub(lambda m: "- CHECK_OK " if m.group(1) == "x" else "- CHECK_FAILED ", text)
    tokens = md.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and heading_offset:
            level = min(int(token.tag[1]) + heading_offset, 6)
            token.tag = f"h{level}"
    out = md.renderer.render(tokens, md.options, {})
    out = out.replace("CHECK_OK ", '<span class="ok">&#10004;</span> ')
    return out.replace("CHECK_FAILED ", '<span class="fail">&#10008; FAILED:</span> ')


def _image_tag(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:{mime};base64,{encoded}" alt="{html.escape(path.stem)}">'


def _function_link(name: str) -> str:
    """``descend.lab.<function>``, linked to its source file and line."""
    from . import EXPERIMENTS

    fn = inspect.unwrap(EXPERIMENTS[name])
    try:
        source = Path(inspect.getsourcefile(fn) or "").resolve()
        line = inspect.getsourcelines(fn)[1]
        href = f"{source.as_uri()}#L{line}"
        where = f" ({html.escape(source.name)}, line {line})"
    except (OSError, TypeError, ValueError):
        href, where = "", ""
    label = f"<code>descend.lab.{html.escape(fn.__name__)}</code>"
    return (f'<a href="{html.escape(href)}">{label}</a>{where}' if href else label)


def _lecture_box(name: str) -> str:
    from . import LECTURE

    if name not in LECTURE:
        return ""
    entry = LECTURE[name]
    return (f'<div class="lecture"><p><strong>Lecture:</strong> {html.escape(entry.slide)}<br>'
            f'<strong>Claim checked:</strong> {html.escape(entry.claim)}<br>'
            f"<strong>Function:</strong> {_function_link(name)}</p></div>")


def write_report(results: Sequence[Result], path: str | os.PathLike, title: str = "descend lab",
                 total_seconds: float | None = None) -> Path:
    """Write the HTML report of ``results`` to ``path`` and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    modes = sorted({"quick" if r.quick else "full" for r in results})
    variants = sorted({r.variant for r in results})
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    passed = sum(r.passed for r in results)
    failed = [r.name for r in results if r.error is not None]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}: the lecture's experiments</h1>",
        f'<p class="meta">{len(results)} experiment(s), {"/".join(modes)} mode, optimizer formulas: '
        f'{"/".join(variants)}, generated {when}'
        + (f", {total_seconds:.1f} s in all" if total_seconds is not None else "")
        + f"; {passed}/{len(results)} with every check holding"
        + (f'; <span class="fail">failed to run: {html.escape(", ".join(failed))}</span>' if failed else "")
        + ".</p>",
        "<nav>" + "".join(f'<a href="#{html.escape(r.name)}">{html.escape(r.name)}</a>' for r in results)
        + "</nav>",
    ]
    for r in results:
        parts.append(f'<section id="{html.escape(r.name)}">')
        if r.error is not None:
            parts.append(f"<h2>{html.escape(r.name)}</h2>")
            parts.append(_lecture_box(r.name))
            parts.append(f'<div class="error"><p><span class="fail">&#10008; FAILED to run</span> '
                         f"after {r.seconds:.1f} s: <code>{html.escape(r.error)}</code></p></div>")
        else:
            # The summary starts with its own "# name (mode)" heading: shift it to h2.
            summary = markdown_to_html(r.summary, heading_offset=1)
            heading_end = summary.find("</h2>")
            if heading_end >= 0:
                heading_end += len("</h2>")
                summary = summary[:heading_end] + _lecture_box(r.name) + summary[heading_end:]
            parts.append(summary)
            for fig in r.figures:
                if Path(fig).is_file():
                    parts.append(_image_tag(Path(fig)))
        parts.append(f'<p class="meta">Files: <code>{html.escape(str(r.out_dir))}</code></p></section>')
    parts.append("</body></html>")
    atomic_write(path, "\n".join(parts))
    return path
