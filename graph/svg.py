"""The map as an SVG picture, for operators in the admin: stored x, y, edges, colour by cluster."""

import hashlib
from dataclasses import dataclass
from html import escape

# Tableau 10: distinguishable colours for clusters and categories.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
SIZE, MARGIN, RADIUS = 640, 24, 5


@dataclass(frozen=True)
class MapNode:
    id: str
    title: str
    x: float
    y: float
    group: str  # the cluster (after an auto-arrange) or the category


def group_colour(group: str) -> str:
    """A stable colour per group: cluster numbers take the palette in order, names a hash of it."""
    if group.isascii() and group.isdigit():  # "²" or "①" are digits to isdigit(), not to int()
        return PALETTE[int(group) % len(PALETTE)]
    return PALETTE[hashlib.sha256(group.encode()).digest()[0] % len(PALETTE)]


def _scaler(nodes: list[MapNode]):
    xs, ys = [n.x for n in nodes], [n.y for n in nodes]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    scale = (SIZE - 2 * MARGIN) / span
    x0, y0 = min(xs), min(ys)
    # SVG's y axis points down; the map's points up.
    return lambda x, y: (MARGIN + (x - x0) * scale, SIZE - MARGIN - (y - y0) * scale)


def map_svg(nodes: list[MapNode], edges: list[tuple[str, str, float]]) -> str:
    """An SVG of the nodes at their stored positions with their edges (opacity by weight) and a
    tooltip per node; names are escaped, so titles cannot inject markup."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'width="{SIZE}" height="{SIZE}" role="img" aria-label="Task map" class="linkdo-map">',
        f'<rect width="{SIZE}" height="{SIZE}" fill="#fbfbfb" stroke="#ddd"/>',
    ]
    if not nodes:
        parts.append(f'<text x="{SIZE / 2}" y="{SIZE / 2}" text-anchor="middle">No tasks</text>')
        return "".join(parts) + "</svg>"
    place = _scaler(nodes)
    at = {n.id: place(n.x, n.y) for n in nodes}
    for source, target, weight in edges:
        if source in at and target in at:
            (x1, y1), (x2, y2) = at[source], at[target]
            opacity = 0.25 + 0.6 * max(0.0, min(1.0, weight))
            parts.append(
                f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                f'stroke="#888" stroke-opacity="{opacity:.2f}"/>'
            )
    for node in nodes:
        x, y = at[node.id]
        parts.append(
            f'<circle class="task" cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" '
            f'fill="{group_colour(node.group)}"><title>{escape(node.title)} '
            f"({escape(node.group)})</title></circle>"
        )
    return "".join(parts) + "</svg>"
