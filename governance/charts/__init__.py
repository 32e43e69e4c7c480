"""Server-rendered SVG charts: lines over time (or steps) and horizontal bars.

Pure Python over escaped text. No script and no inline style (the site's CSP forbids both):
geometry and colours are SVG presentation attributes, so a chart reads the same with or
without static/css/charts.css. Readable without colour: each series has its own marker
shape and dash pattern, thresholds and deployments are labelled in words where they are
drawn, the legend names everything, and each chart carries <title> and <desc> for
aria-labelledby (pages add a table of the same numbers in a <details> below it).
"""

from governance.charts.bars import Bar, bar_chart_svg
from governance.charts.frame import Event, Series, Threshold, no_data
from governance.charts.lines import line_chart_svg

__all__ = [
    "Bar",
    "Event",
    "Series",
    "Threshold",
    "bar_chart_svg",
    "line_chart_svg",
    "no_data",
]
