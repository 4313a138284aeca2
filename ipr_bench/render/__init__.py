"""Rendering analyses: figures, Markdown and HTML reports, galleries."""
