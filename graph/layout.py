"""Map layout maths: PCA, alignment to the previous layout, projection, clusters. Pure numpy and
scikit-learn over arrays, no Django, so it can be tested and benchmarked alone."""

import hashlib
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.linalg import orthogonal_procrustes
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import pairwise_distances, silhouette_score
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

SCALE = 40.0  # the old backend's scale, the smallest a map gets (a few tasks)
# The PWA draws a node about 50 units wide: the median distance from a task to its nearest
# neighbour is at least this, whatever the number of tasks (a fixed scale packs 200 into one disc).
MIN_NEIGHBOUR_DISTANCE = 60.0
SPREAD_MARGIN = 1.1  # aim a little above the minimum, so small changes keep it
KEEP_SCALE_UP_TO = 1.5  # a previous scale is kept while it is at most this times the needed one
# n tasks spread evenly (a disc of standard deviation 1) need about 40 * sqrt(n) units per standard
# deviation; tight groups (near-identical texts) would need far more and turn the map into a few
# dots thousands of units apart. The scale stops at 4 times the even need: inside such a group the
# PWA's collision force parts the nodes.
MAX_SCALE_PER_ROOT_N = 160.0
MAX_STRETCH = 100.0
MAX_PROJECTED = 1e6  # far beyond any map, well inside the database's coordinate bounds
# Tasks with no place from the map (nothing embedded yet, or pending) go on a sunflower spiral
# around the map's centre: r = SPIRAL_STEP * sqrt(i), about 1.9 * SPIRAL_STEP between neighbours.
SPIRAL_STEP = 36.0
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))
MAX_CLUSTERS = 8
# k-means and its silhouette run on fixed-seed samples: 500 points find the same groups as 1,000
# on the benchmark's and the tests' maps (53 -> 39 ms at 10,000 points; docs/PERFORMANCE.md).
SILHOUETTE_SAMPLE = 300
CLUSTER_SAMPLE = 500
# The median nearest-neighbour distance of a large map is estimated from this many of its points
# (each against every point): within 4 % of the exact median, 27 -> 8 ms at 10,000 points.
NEIGHBOUR_SAMPLE = 2000
MIN_SILHOUETTE = 0.45
KEEP_PLANE = (
    0.9  # keep the previous map's plane while it shows >= 90 % of the best plane's variance
)
SEED = 0


@dataclass(frozen=True)
class Basis:
    """coords = (embedding - mean) @ [wx, wy] + [bx, by]: the fitted PCA components, divided by the
    per-axis standard deviation, times the map's scale (see map_scale), rotated onto the previous
    layout."""

    mean: np.ndarray
    wx: np.ndarray
    wy: np.ndarray
    bx: float
    by: float

    def project(self, embeddings: np.ndarray) -> np.ndarray:
        weights = np.column_stack([self.wx, self.wy])
        coords = _centred_product(np.asarray(embeddings, dtype=np.float64), self.mean, weights)
        coords += (self.bx, self.by)
        return np.clip(coords, -MAX_PROJECTED, MAX_PROJECTED)


def fit_layout(
    embeddings: np.ndarray, previous: Basis | None = None, *, keep_plane: float = KEEP_PLANE
) -> tuple[np.ndarray, Basis]:
    """2D coordinates of the rows (n >= 2) and the basis that produced them.

    PCA to 2 components, standardised per axis, times map_scale (SCALE, or more so that the median
    task is MIN_NEIGHBOUR_DISTANCE from its nearest neighbour). With a previous basis, its scale is
    kept while it is between the needed scale and KEEP_SCALE_UP_TO times it, and two steps keep the
    map still: (1) hysteresis: when the previous map's plane still captures at least `keep_plane` (KEEP_PLANE) of
    the variance the new top-2 plane captures, the previous plane is kept (when principal variances
    are close, PCA's plane swings with any small change, and no rotation can undo that); (2) the
    result is rotated/reflected and shifted (orthogonal Procrustes) onto where the previous basis
    puts the same embeddings, so axes never flip.
    """
    data = np.asarray(embeddings, dtype=np.float64)
    pca = PCA(n_components=2, svd_solver="covariance_eigh").fit(data)
    axes = pca.components_.T  # (dim, 2), orthonormal
    usable = previous is not None and previous.mean.shape == pca.mean_.shape
    if usable:
        old_axes, _ = np.linalg.qr(np.column_stack([previous.wx, previous.wy]))
        # (data - mean) @ axes without the centred copy of the whole matrix (n x dim floats)
        kept_variance = (_centred_product(data, pca.mean_, old_axes) ** 2).sum()
        best_variance = pca.explained_variance_.sum() * (len(data) - 1)
        if kept_variance >= keep_plane * best_variance:
            axes = old_axes
    raw = _centred_product(data, pca.mean_, axes)
    std = raw.std(axis=0)
    # An axis with (almost) no spread, e.g. the second axis of two tasks, is not stretched more than
    # MAX_STRETCH times the first: dividing by a rounding error put new tasks at 1e16.
    std = np.maximum(std, max(std.max() / MAX_STRETCH, 1e-9))
    standardised = raw / std
    scale = map_scale(standardised)
    target = previous.project(data) if usable else None
    if target is not None:
        # The previous map's own scale, while it still spaces the tasks well: a scale that moved
        # with every arrange would move every task.
        previous_scale = math.sqrt(((target - target.mean(axis=0)) ** 2).sum(axis=1).mean() / 2)
        if scale <= previous_scale <= scale * KEEP_SCALE_UP_TO:
            scale = previous_scale
    weights = axes / std * scale  # (dim, 2)
    coords = standardised * scale
    offset = np.zeros(2)
    if target is not None:
        rotation, _ = orthogonal_procrustes(
            coords - coords.mean(axis=0), target - target.mean(axis=0)
        )
        weights = weights @ rotation
        offset = target.mean(axis=0) - coords.mean(axis=0) @ rotation
        coords = coords @ rotation + offset
    basis = Basis(
        pca.mean_, weights[:, 0].copy(), weights[:, 1].copy(), float(offset[0]), float(offset[1])
    )
    return coords, basis


def _centred_product(data: np.ndarray, mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    return data @ axes - mean @ axes


def median_neighbour_distance(coords: np.ndarray) -> float:
    """The median distance from a point to its nearest other point (over a fixed-seed sample of
    NEIGHBOUR_SAMPLE points on larger maps); points that coincide (tasks with the same text) are
    left out, since no scale can part them. 0 when nothing remains."""
    if len(coords) < 2:
        return 0.0
    queries = coords
    if len(coords) > NEIGHBOUR_SAMPLE:
        rng = np.random.default_rng(SEED)
        queries = coords[rng.choice(len(coords), NEIGHBOUR_SAMPLE, replace=False)]
    distances, _ = NearestNeighbors(n_neighbors=2).fit(coords).kneighbors(queries)
    nearest = distances[:, 1]
    nearest = nearest[nearest > 1e-12]
    return float(np.median(nearest)) if len(nearest) else 0.0


def map_scale(standardised: np.ndarray) -> float:
    """Map units per standard deviation: SCALE, or more when the tasks would otherwise sit closer
    than MIN_NEIGHBOUR_DISTANCE to their nearest neighbour (the median task), up to
    MAX_SCALE_PER_ROOT_N * sqrt(n)."""
    nearest = median_neighbour_distance(standardised)
    if nearest == 0.0:
        return SCALE
    needed = MIN_NEIGHBOUR_DISTANCE * SPREAD_MARGIN / nearest
    return max(SCALE, min(needed, MAX_SCALE_PER_ROOT_N * math.sqrt(len(standardised))))


def spiral_positions(
    start: int, count: int, centre=(0.0, 0.0), step: float = SPIRAL_STEP
) -> np.ndarray:
    """Positions start .. start + count - 1 of a sunflower spiral around `centre`: evenly spread,
    about 1.9 * step apart, n tasks within step * sqrt(n) of the centre, never a row."""
    index = np.arange(start, start + count, dtype=np.float64)
    radius = step * np.sqrt(index)
    angle = index * GOLDEN_ANGLE
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]) + np.asarray(centre)


def jitter(key: str, radius: float) -> tuple[float, float]:
    """A small deterministic offset so tasks placed at one spot do not stack exactly."""
    digest = hashlib.sha256(key.encode()).digest()
    angle = int.from_bytes(digest[:4], "big") / 2**32 * 2 * math.pi
    return radius * math.cos(angle), radius * math.sin(angle)


def place_without_embedding(
    keys: list[str],
    tags: list[list[str]],
    placed_coords: np.ndarray,
    placed_tags: list[list[str]],
) -> np.ndarray:
    """Positions for tasks that have no embedding yet: beside the placed tasks they share tags with,
    otherwise spread on a spiral inside the map's extent (before, a ring outside it whose size came
    from nothing the next arrange kept). Deterministic for the same input."""
    centre = placed_coords.mean(axis=0) if len(placed_coords) else np.zeros(2)
    by_tag: dict[str, list[int]] = {}
    for index, task_tags in enumerate(placed_tags):
        for tag in task_tags:
            by_tag.setdefault(tag, []).append(index)
    positions = np.zeros((len(keys), 2))
    unrelated = [i for i, task_tags in enumerate(tags) if not any(t in by_tag for t in task_tags)]
    for i, (key, task_tags) in enumerate(zip(keys, tags, strict=True)):
        related = sorted({j for t in task_tags for j in by_tag.get(t, [])})
        if related:
            dx, dy = jitter(key, SCALE * 0.25)
            positions[i] = placed_coords[related].mean(axis=0) + (dx, dy)
    if unrelated:
        extent = (
            float(np.linalg.norm(placed_coords - centre, axis=1).max()) if len(placed_coords) else 0
        )
        # n points of a spiral reach step * sqrt(n): shrink the step to stay inside the map
        step = min(SPIRAL_STEP, 0.9 * extent / math.sqrt(len(unrelated))) if extent else SPIRAL_STEP
        positions[unrelated] = spiral_positions(0, len(unrelated), centre, step=max(step, 1e-3))
    return positions


def cluster(coords: np.ndarray) -> np.ndarray:
    """Cluster labels for map coordinates: k-means with k (2..MAX_CLUSTERS) chosen by silhouette.
    k is chosen and fitted on a fixed-seed sample of CLUSTER_SAMPLE points, then every point is
    labelled by its nearest centre. Fewer than 4 points, or no structure worth splitting: one cluster."""
    n = len(coords)
    if n < 4 or np.allclose(coords, coords[0]):
        return np.zeros(n, dtype=int)
    rng = np.random.default_rng(SEED)
    sample = coords if n <= CLUSTER_SAMPLE else coords[rng.choice(n, CLUSTER_SAMPLE, replace=False)]
    # Every k is scored on the same points, so their distances are computed once.
    scored = rng.choice(len(sample), min(SILHOUETTE_SAMPLE, len(sample)), replace=False)
    distances = pairwise_distances(sample[scored])
    # Uniform or Gaussian noise reaches a silhouette of about 0.41 with k-means; real groups score
    # higher (four loose blobs: 0.51). Below the floor, the map is one cluster.
    best_model, best_score = None, MIN_SILHOUETTE
    # On a few thousand 2D points, starting OpenMP threads costs more than the work (measured 8x).
    with threadpool_limits(1):
        for k in range(2, min(MAX_CLUSTERS, len(sample) - 1) + 1):
            model = KMeans(n_clusters=k, n_init=1, random_state=SEED).fit(sample)
            labels = model.labels_[scored]
            if len(set(labels.tolist())) < 2:
                continue
            score = silhouette_score(distances, labels, metric="precomputed")
            if score > best_score:
                best_model, best_score = model, score
    if best_model is None:
        return np.zeros(n, dtype=int)
    return _renumber(best_model.predict(coords))


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Cluster ids by size, largest first, so the ids mean the same from one arrange to the next."""
    order = [label for label, _ in Counter(labels.tolist()).most_common()]
    mapping = {label: index for index, label in enumerate(order)}
    return np.array([mapping[label] for label in labels], dtype=int)


def describe_clusters(labels: np.ndarray, coords: np.ndarray, tags: list[list[str]]) -> list[dict]:
    """Each cluster's id, size, centre and name (its most frequent tags)."""
    clusters = []
    for cluster_id in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == cluster_id)
        counts = Counter(tag for i in members for tag in tags[i])
        top = [tag for tag, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:3]]
        centre = coords[members].mean(axis=0)
        clusters.append(
            {
                "id": cluster_id,
                "name": ", ".join(top) if top else f"Cluster {cluster_id + 1}",
                "tags": top,
                "size": len(members),
                "x": round(float(centre[0]), 3),
                "y": round(float(centre[1]), 3),
            }
        )
    return clusters
