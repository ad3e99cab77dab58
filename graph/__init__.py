"""Edges and the map over tasks: the auto-link rule, manual edges, map layout and auto-arrange,
placing embedded tasks, similarity suggestions. Imports tasks; the numeric core (layout.py,
svg.py) imports neither Django nor the project."""
