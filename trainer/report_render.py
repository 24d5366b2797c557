"""One report, three formats: a list of blocks rendered as Markdown, self-contained HTML and Word.

The report's content is built once (``trainer/report.py``) as plain blocks; each renderer here only
decides how a block looks, so the three files always say the same thing.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.shared import Inches

URL = re.compile(r"https?://[^\s)<>\"']+")


@dataclass(frozen=True)
class Heading:
    """A section title; level 1 is the document's title."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Running text; URLs in it become links where the format has them."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """An unordered list."""

    items: Sequence[str]


@dataclass(frozen=True)
class Table:
    """A table with a header row; every cell is already formatted text."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Figure:
    """A PNG with a caption; Markdown links it by file name, HTML and Word embed it."""

    path: Path
    caption: str


Block = Heading | Paragraph | Bullets | Table | Figure


def to_markdown(blocks: Sequence[Block]) -> str:
    """GitHub-flavoured Markdown; figures are referenced relative to the Markdown file."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            cells = [list(block.header), ["---"] * len(block.header), *map(list, block.rows)]
            out.append("\n".join("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells))
        elif isinstance(block, Figure):
            out.append(f"![{block.caption}]({block.path.name})\n\n*{block.caption}*")
    return "\n\n".join(out) + "\n"


def _html_text(text: str) -> str:
    escaped = html.escape(text)
    return URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1b1f24; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #c9d1d9; padding: .3rem .6rem; text-align: left; }
th { background: #f3f5f7; }
figure { margin: 1rem 0; } img { max-width: 100%; } figcaption { color: #57606a; font-style: italic; }
"""


def to_html(blocks: Sequence[Block], title: str) -> str:
    """One self-contained HTML file: styles inline, figures embedded as data URLs."""
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_html_text(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{_html_text(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(cell)}</th>" for cell in block.header)
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.path.read_bytes()).decode()
            caption = html.escape(block.caption)
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def to_docx(blocks: Sequence[Block], path: Path) -> None:
    """A Word document with real headings, tables and pictures (python-docx)."""
    document = Document()
    for block in blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=0 if block.level == 1 else block.level - 1)
        elif isinstance(block, Paragraph):
            document.add_paragraph(block.text)
        elif isinstance(block, Bullets):
            for item in block.items:
                document.add_paragraph(item, style="List Bullet")
        elif isinstance(block, Table):
            table = document.add_table(rows=1, cols=len(block.header))
            table.style = "Light Grid Accent 1"
            for cell, text in zip(table.rows[0].cells, block.header, strict=True):
                cell.text = text
            for row in block.rows:
                for cell, text in zip(table.add_row().cells, row, strict=True):
                    cell.text = text
        elif isinstance(block, Figure):
            document.add_picture(str(block.path), width=Inches(6.0))
            document.add_paragraph(block.caption, style="Caption")
    document.save(str(path))
