"""A meeting's minutes as Markdown and as PDF: attendance, the agenda as the board saw it,
what was said per item, and every decision with links to what it concerns (a finding the
board raised with its severity and its page).

One builder (`minutes_lines`) decides the content; the Markdown and the PDF render the
same lines, so the two never disagree. The PDF uses fpdf2 (pure Python, pip alone) and its
core fonts, which cover Latin-1: other characters are replaced, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from reviews.finding_models import Finding
from reviews.meeting_models import AgendaItem, Decision, Meeting


@dataclass(frozen=True)
class Line:
    """One line of the minutes: a heading (level 1-3), a bullet, or a paragraph."""

    text: str
    level: int = 0  # 0 paragraph, 1-3 heading
    bullet: bool = False


def link_lines(obj: AgendaItem | Decision) -> list[str]:
    """Absolute links to the request, incident, version and model the object concerns."""
    site = settings.SITE_URL
    links = []
    if obj.request_id:
        url = reverse("reviews:request", kwargs={"request_id": obj.request_id})
        links.append(f"Promotion request #{obj.request_id}: {site}{url}")
    if obj.incident_id:
        url = reverse("monitoring:incident", kwargs={"incident_id": obj.incident_id})
        links.append(f"Incident #{obj.incident_id}: {site}{url}")
    if obj.version_id:
        version = obj.version
        url = reverse(
            "registry:version", kwargs={"name": version.model.name, "version": version.version}
        )
        links.append(f"Version {version.model.name} v{version.version}: {site}{url}")
    elif obj.model_id:
        url = reverse("registry:model", kwargs={"name": obj.model.name})
        links.append(f"Model {obj.model.name}: {site}{url}")
    return links


def _finding_lines(finding: Finding) -> list[Line]:
    owner = finding.owner.username if finding.owner else "nobody yet"
    url = reverse("reviews:finding", kwargs={"finding_id": finding.pk})
    return [
        Line(f"Finding #{finding.pk} raised, severity {finding.severity}: {finding.title}"),
        Line(f"Owner {owner}, due {finding.due_date or 'no date'}."),
        Line(f"Finding #{finding.pk}: {settings.SITE_URL}{url}"),
    ]


def _decision_lines(decision: Decision) -> list[Line]:
    lines = [Line(f"{decision.get_kind_display()} (#{decision.pk}): {decision.text}", bullet=True)]
    if decision.kind == Decision.Kind.ACTION_ITEM:
        owner = decision.owner.username if decision.owner else "nobody"
        lines.append(Line(f"Owner {owner}, due {decision.due_date}, {decision.status}."))
    if decision.finding_id:
        lines += _finding_lines(decision.finding)
    for signed in decision.signed:
        lines.append(Line(f"Signed {signed['decision']}: {signed['username']}"))
    for refused in decision.refused:
        lines.append(Line(f"Could not sign: {refused['username']}: {refused['reason']}"))
    if decision.request_status:
        lines.append(Line(f"Request status afterwards: {decision.request_status}."))
    lines += [Line(link) for link in link_lines(decision)]
    return lines


def minutes_lines(meeting: Meeting) -> list[Line]:
    board = meeting.board
    lines = [
        Line(f"Minutes: {meeting.title}", level=1),
        Line(
            f"Board {board.name}; scheduled {meeting.scheduled_for:%Y-%m-%d %H:%M %Z};"
            f" status {meeting.get_status_display()}."
        ),
    ]
    if meeting.started_at:
        lines.append(Line(f"Started {meeting.started_at:%Y-%m-%d %H:%M %Z}."))
    if meeting.closed_at:
        lines.append(Line(f"Closed {meeting.closed_at:%Y-%m-%d %H:%M %Z}."))
    lines.append(Line("Attendance", level=2))
    for row in meeting.attendance.select_related("member__user").order_by("member__user__username"):
        seat = row.member
        vote = "voting" if row.voting else "non-voting"
        presence = "present" if row.present else "absent"
        lines.append(Line(f"{seat.user.username} ({seat.role}, {vote}): {presence}", bullet=True))
    lines.append(Line(f"Quorum: {board.quorum} voting member(s)."))
    lines.append(Line("Agenda", level=2))
    decisions = list(
        meeting.decisions.select_related("owner", "model", "version__model", "finding__owner")
    )
    for item in meeting.items.select_related("model", "version__model").order_by("position"):
        lines.append(Line(f"{item.position}. {item.title}", level=3))
        if item.summary:
            lines.append(Line(item.summary))
        lines += [Line(link) for link in link_lines(item)]
        if item.minutes:
            lines.append(Line(f"Minutes: {item.minutes}"))
        for decision in decisions:
            if decision.item_id == item.pk:
                lines += _decision_lines(decision)
    others = [d for d in decisions if d.item_id is None]
    if others:
        lines.append(Line("Other decisions", level=2))
        for decision in others:
            lines += _decision_lines(decision)
    if meeting.notes:
        lines += [Line("Notes", level=2), Line(meeting.notes)]
    return lines


def minutes_markdown(meeting: Meeting) -> str:
    out = []
    for line in minutes_lines(meeting):
        if line.level:
            out += ["", f"{'#' * line.level} {line.text}", ""]
        elif line.bullet:
            out.append(f"- {line.text}")
        else:
            out.append(f"  {line.text}" if out and out[-1].startswith(("- ", "  ")) else line.text)
    return "\n".join(out).strip() + "\n"


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def minutes_pdf(meeting: Meeting) -> bytes:
    from fpdf import FPDF  # imported here: only the export needs it

    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Minutes: {meeting.title}"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    sizes = {1: 16, 2: 13, 3: 11}
    for line in minutes_lines(meeting):
        if line.level:
            pdf.set_font("Helvetica", "B", sizes[line.level])
            pdf.ln(2)
        else:
            pdf.set_font("Helvetica", "", 10)
        text = f"- {line.text}" if line.bullet else line.text
        pdf.multi_cell(0, 6 if line.level else 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
