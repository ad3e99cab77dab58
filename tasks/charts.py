"""Small SVG charts for operators in the admin. Plain Python: no Django, no project import."""

from html import escape

WIDTH, HEIGHT, MARGIN = 640, 160, 24
CREATED, COMPLETED = "#4e79a7", "#59a14f"


def daily_chart_svg(daily: list[dict]) -> str:
    """Tasks created and completed per day ({"date", "created", "completed"}, oldest first) as
    paired bars, with the dates of the first and last day and a legend."""
    if not daily:
        return ""
    top = max(max(d["created"], d["completed"]) for d in daily) or 1
    slot = (WIDTH - 2 * MARGIN) / len(daily)
    bar = max(slot / 2 - 1, 1)
    plot = HEIGHT - 2 * MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="tasks created and completed per day">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" '
        'stroke="#999"/>',
    ]
    for index, day in enumerate(daily):
        x = MARGIN + index * slot
        for offset, key, colour in ((0, "created", CREATED), (bar, "completed", COMPLETED)):
            height = plot * day[key] / top
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{HEIGHT - MARGIN - height:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{escape(str(day["date"]))}: '
                f"{day[key]} {key}</title></rect>"
            )
    label = f'font-family="sans-serif" font-size="11" fill="#333" y="{HEIGHT - 6}"'
    parts += [
        f'<text x="{MARGIN}" {label}>{escape(str(daily[0]["date"]))}</text>',
        f'<text x="{WIDTH - MARGIN}" text-anchor="end" {label}>{escape(str(daily[-1]["date"]))}</text>',
        f'<text x="{MARGIN}" y="14" font-family="sans-serif" font-size="11" fill="{CREATED}">'
        f"■ created</text>",
        f'<text x="{MARGIN + 80}" y="14" font-family="sans-serif" font-size="11" '
        f'fill="{COMPLETED}">■ completed</text>',
        f'<text x="{WIDTH - MARGIN}" y="14" text-anchor="end" font-family="sans-serif" '
        f'font-size="11" fill="#333">most in a day: {top}</text>',
        "</svg>",
    ]
    return "".join(parts)
