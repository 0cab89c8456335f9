"""A report as Markdown and as one self-contained HTML page.

A report is a list of blocks (headings, paragraphs, tables, figures). ``write``
saves ``report.md`` (figures as PNG files beside it) and ``report.html`` (the
same figures inlined as base64 PNG data URIs: the page opens from disk, without a
server or a network, and can be mailed as one file).
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.files import atomic_write_bytes, atomic_write_text

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 980px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #ddd; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bad { color: #a40000; font-weight: 600; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; }
p.note { font-size: .85em; color: #555; }
"""


@dataclass
class Report:
    """Blocks in reading order; build with the methods, then :meth:`write`."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str) -> Report:
        self.blocks.append(("h2", text))
        return self

    def text(self, text: str, *, note: bool = False) -> Report:
        self.blocks.append(("note" if note else "p", text))
        return self

    def table(self, headers: list[str], rows: list[list[Any]]) -> Report:
        self.blocks.append(("table", (list(headers), [list(r) for r in rows])))
        return self

    def figure(self, fig_or_png: Any, name: str, caption: str = "") -> Report:
        """A matplotlib Figure (rendered to PNG now) or PNG bytes, saved as ``name``.png."""
        if isinstance(fig_or_png, bytes | bytearray):
            png = bytes(fig_or_png)
        else:
            buf = io.BytesIO()
            fig_or_png.savefig(buf, format="png", dpi=100, bbox_inches="tight")
            png = buf.getvalue()
        if not png.startswith(b"\x89PNG"):
            raise ValueError(f"figure {name!r} is not a PNG image.")
        self.blocks.append(("figure", (png, name, caption)))
        return self

    # -------------------------------------------------------------- output

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, body in self.blocks:
            if kind == "h2":
                out += [f"## {body}", ""]
            elif kind in ("p", "note"):
                out += [body, ""]
            elif kind == "table":
                headers, rows = body
                out.append("| " + " | ".join(_md(h) for h in headers) + " |")
                out.append("|" + "---|" * len(headers))
                out += ["| " + " | ".join(_md(_cell(c)) for c in row) + " |" for row in rows]
                out.append("")
            else:
                _, name, caption = body
                out += [f"![{caption or name}]({name}.png)", ""]
                if caption:
                    out += [f"*{caption}*", ""]
        return "\n".join(out)

    def html(self) -> str:
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for kind, body in self.blocks:
            if kind == "h2":
                parts.append(f"<h2>{html.escape(body)}</h2>")
            elif kind == "p":
                parts.append(f"<p>{html.escape(body)}</p>")
            elif kind == "note":
                parts.append(f'<p class="note">{html.escape(body)}</p>')
            elif kind == "table":
                headers, rows = body
                parts.append(
                    "<table><thead><tr>"
                    + "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
                    + "</tr></thead><tbody>"
                )
                for row in rows:
                    parts.append("<tr>" + "".join(_td(c) for c in row) + "</tr>")
                parts.append("</tbody></table>")
            else:
                png, name, caption = body
                data = base64.b64encode(png).decode("ascii")
                alt = html.escape(caption or name)
                parts.append(
                    f'<figure><img src="data:image/png;base64,{data}" alt="{alt}" data-name="{html.escape(name)}">'
                    + (f"<figcaption>{html.escape(caption)}</figcaption>" if caption else "")
                    + "</figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``report.md`` (with its PNG files) and ``report.html`` into ``folder``; their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for kind, body in self.blocks:
            if kind == "figure":
                png, name, _ = body
                atomic_write_bytes(folder / f"{name}.png", png)
        md = atomic_write_text(folder / "report.md", self.markdown() + "\n")
        page = atomic_write_text(folder / "report.html", self.html() + "\n")
        return md, page


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _td(v: Any) -> str:
    text = _cell(v)
    cls = ""
    if isinstance(v, int | float) and not isinstance(v, bool):
        cls = ' class="num"'
    elif re.search(r"\bfailed\b|\bFAILED\b|\bnot (converged|solved)\b|\btarget not met\b", text):
        cls = ' class="bad"'
    return f"<td{cls}>{html.escape(text)}</td>"
