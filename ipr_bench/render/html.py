"""report.html: the same document as report.md, as one HTML page."""

from __future__ import annotations

import html
from typing import Any

from ipr_bench.analysis.analyse import Analysis
from ipr_bench.render.markdown import FIGURE_TITLES, PICTURES, SECTIONS, figure_stem, intro_lines


def _md_table_to_html(text: str) -> str:
    rows = [r for r in text.splitlines() if r.startswith("|")]
    if len(rows) < 2:
        return f"<p>{html.escape(text)}</p>"
    cells = [[html.escape(c.strip()) for c in r.strip("|").split("|")] for r in rows]
    head = "".join(f"<th>{c}</th>" for c in cells[0])
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells[2:])
    rest = [r for r in text.splitlines() if r and not r.startswith("|")]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" + "".join(
        f"<p>{html.escape(r)}</p>" for r in rest
    )


def html_report(
    analysis: Analysis,
    data: dict[str, Any],
    tables: dict[str, str],
    figures: dict[str, Any],
    galleries: list[str] | None = None,  # figure stems made by `ipr-bench gallery` / `bits`
) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>ipr-bench report: {html.escape(analysis.dataset)}</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}table{border-collapse:collapse;"
        "font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
        "img{max-width:100%}details{margin:.3em 0 1em}</style></head><body>",
        f"<h1>ipr-bench report: {html.escape(analysis.dataset)}</h1><ul>",
        *[f"<li>{html.escape(s)}</li>" for s in intro_lines(analysis, data)],
        "</ul>",
    ]
    for key, title in SECTIONS:
        if key in tables:
            parts += [f"<h2>{html.escape(title)}</h2>", _md_table_to_html(tables[key])]
    for prefix, title in PICTURES:
        names = [name for name in galleries or [] if name.startswith(prefix)]
        if names:
            parts.append(f"<h2>{html.escape(title)}</h2>")
        # figure files beside the page (figures/), linked rather than embedded: a regenerated report adds
        # kilobytes to the repository, not the megabytes of base64 copies of its PNGs and SVGs
        parts += [f"<img class='figure' alt='{name}' src='figures/{name}.png'>" for name in names]
    parts.append("<h2>Figures</h2>")
    for key in figures:
        stem = figure_stem(key)
        parts += [
            f"<h3>{FIGURE_TITLES[key]}</h3>",
            f"<img class='figure' alt='{FIGURE_TITLES[key]}' src='figures/{stem}.png'>",
            f"<p><a href='figures/{stem}.svg'>SVG</a></p>",
        ]
    # lets a headless browser (and a reader's devtools) confirm every figure decoded
    parts.append(
        "<script>window.addEventListener('load',()=>{const imgs=[...document.querySelectorAll('img.figure')];"
        "document.body.dataset.figures=imgs.length;document.body.dataset.figuresLoaded="
        "imgs.filter(i=>i.complete&&i.naturalWidth>0).length;});</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
