"""One self-contained HTML report of several experiments, the figures inline (base64).

The experiments' markdown summaries are turned into HTML by a small converter that knows what
they use (headings, paragraphs, tables, check lists, ``code`` and **bold**); no third-party
package is needed and the page has no external references.
"""

from __future__ import annotations

import base64
import datetime
import html
import os
import re
from pathlib import Path
from typing import Sequence

from ._common import Result

__all__ = ["write_report", "markdown_to_html"]

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
nav a { margin-right: 1em; }
"""


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return text


def markdown_to_html(markdown: str, heading_offset: int = 0) -> str:
    """The subset of markdown the summaries use, as HTML (images are left out)."""
    out: list[str] = []
    para: list[str] = []
    lines = markdown.splitlines()
    i = 0

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            flush()
            i += 1
            continue
        if line.startswith("!["):
            flush()
            i += 1
            continue
        m = re.match(r"(#+)\s+(.*)", line)
        if m:
            flush()
            level = min(len(m.group(1)) + heading_offset, 6)
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
            continue
        if line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            body = [r for r in rows[1:] if not all(re.fullmatch(r"-+:?|:?-+:?", c) for c in r)]
            table = ["<table>", "<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in rows[0]) + "</tr>"]
            table += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body]
            out.append("\n".join(table + ["</table>"]))
            continue
        if line.startswith("- "):
            flush()
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                item = lines[i][2:]
                if item.startswith("[x] "):
                    item = f'<span class="ok">&#10004;</span> {_inline(item[4:])}'
                elif item.startswith("[ ] "):
                    item = f'<span class="fail">&#10008; FAILED:</span> {_inline(item[4:])}'
                else:
                    item = _inline(item)
                items.append(f"<li>{item}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)


def _image_tag(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:{mime};base64,{encoded}" alt="{html.escape(path.stem)}">'


def write_report(results: Sequence[Result], path: str | os.PathLike, title: str = "descend lab",
                 total_seconds: float | None = None) -> Path:
    """Write the HTML report of ``results`` to ``path`` and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    modes = sorted({"quick" if r.quick else "full" for r in results})
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    passed = sum(r.passed for r in results)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}: the lecture's experiments</h1>",
        f'<p class="meta">{len(results)} experiment(s), {"/".join(modes)} mode, generated {when}'
        + (f", {total_seconds:.1f} s in all" if total_seconds is not None else "")
        + f"; {passed}/{len(results)} with every check holding.</p>",
        "<nav>" + "".join(f'<a href="#{html.escape(r.name)}">{html.escape(r.name)}</a>' for r in results)
        + "</nav>",
    ]
    for r in results:
        parts.append(f'<section id="{html.escape(r.name)}">')
        # The summary starts with its own "# name (mode)" heading: shift it to h2.
        parts.append(markdown_to_html(r.summary, heading_offset=1))
        for fig in r.figures:
            if Path(fig).is_file():
                parts.append(_image_tag(Path(fig)))
        parts.append(f'<p class="meta">Files: <code>{html.escape(str(r.out_dir))}</code></p></section>')
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
