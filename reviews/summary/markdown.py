"""A review summary as Markdown: a heading, what it covers, then one section per heading.

Text that is not ours (titles, reasons, action items) goes through the model cards'
`md_inline`, so it shows as written and opens no markup; links are absolute (SITE_URL).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings

from models_registry.card_formats import md_inline
from reviews.summary.entries import Entry, Section
from reviews.summary.period import SummaryPeriod


def summary_title(since: date, until: date) -> str:
    return f"Model review: {since} to {until}"


def _entry_line(entry: Entry) -> str:
    label = md_inline(entry.label)
    if entry.url:
        label = f"[{label}](<{entry.url}>)"
    text = md_inline(entry.text)
    return f"- {label}: {text}" if label else f"- {text}"


def summary_markdown(period: SummaryPeriod, sections: list[Section]) -> str:
    lines = [
        f"# {summary_title(period.since, period.until)}",
        "",
        f"From {period.start:%Y-%m-%d %H:%M} UTC to {period.end:%Y-%m-%d %H:%M} UTC"
        f" ({period.days} days), made {period.now:%Y-%m-%d %H:%M} UTC at"
        f" {settings.SITE_URL}. Statuses are as they stood then.",
    ]
    for section in sections:
        lines += ["", f"## {section.title} ({len(section.entries)})", ""]
        if section.entries:
            lines += [_entry_line(entry) for entry in section.entries]
        else:
            lines.append(section.empty)
    return "\n".join(lines) + "\n"
