"""The layout maths alone (graph/layout.py), on synthetic embeddings."""

import numpy as np
import pytest

from graph.layout import (
    MAX_SCALE_PER_ROOT_N,
    MIN_NEIGHBOUR_DISTANCE,
    SCALE,
    cluster,
    describe_clusters,
    fit_layout,
    median_neighbour_distance,
    place_without_embedding,
    spiral_positions,
)
from linkdo.pgbinary import parse_id_vectors


def clustered(n_per: int, centres: np.ndarray, rng, noise=0.3) -> np.ndarray:
    points = np.vstack(
        [c + noise * rng.standard_normal((n_per, centres.shape[1])) for c in centres]
    )
    return points / np.linalg.norm(points, axis=1, keepdims=True)


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def test_first_layout_is_standardised_and_spaced_for_the_pwa(rng):
    data = clustered(50, rng.standard_normal((4, 64)), rng, noise=1.0)
    coords, basis = fit_layout(data)
    assert coords.shape == (200, 2)
    assert np.allclose(coords.mean(axis=0), 0, atol=1e-6)
    spread = coords.std(axis=0)
    assert np.isclose(spread[0], spread[1], rtol=1e-6) and spread[0] > SCALE  # 200 need room
    assert median_neighbour_distance(coords) >= MIN_NEIGHBOUR_DISTANCE
    assert np.allclose(basis.project(data), coords)


def test_a_few_tasks_keep_the_old_scale():
    data = np.zeros((4, 64))
    data[[0, 1, 2, 3], [0, 0, 1, 1]] = [1, -1, 1, -1]  # a square: already well apart at 40
    coords, _ = fit_layout(data)
    assert np.allclose(coords.std(axis=0), SCALE, rtol=1e-6)
    assert median_neighbour_distance(coords) >= MIN_NEIGHBOUR_DISTANCE


@pytest.mark.parametrize("n", [20, 200, 2000])
def test_nearest_neighbours_are_a_node_apart_at_any_size(rng, n):
    """The PWA draws a node about 50 units wide: with 40 units per standard deviation, 200 tasks
    had half their pairs closer than 60 and the collision force packed them into one disc."""
    data = clustered(n // 4, rng.standard_normal((4, 96)), rng, noise=1.0)  # overlapping topics
    coords, basis = fit_layout(data)
    assert median_neighbour_distance(coords) >= MIN_NEIGHBOUR_DISTANCE
    # Tight groups (near-identical texts) would need a huge map: the scale stops at its cap.
    tight = clustered(n // 4, rng.standard_normal((4, 96)), rng, noise=0.1)
    spread = fit_layout(tight)[0].std(axis=0)
    assert np.allclose(spread, MAX_SCALE_PER_ROOT_N * np.sqrt(len(tight)))
    # Re-arranging with the map's own basis keeps its scale (nothing moves).
    again, _ = fit_layout(data, basis)
    assert np.allclose(again, coords, atol=1e-6 * np.ptp(coords))


def median_displacement_ratio(old, new) -> float:
    extent = float(np.ptp(old, axis=0).max())
    return float(np.median(np.linalg.norm(new - old, axis=1))) / extent


def test_adding_similar_tasks_moves_the_old_ones_little(rng):
    """The issue's stability measure: 200 tasks arranged, 5 similar tasks added, re-arranged: the
    median displacement of the 200 must stay under 5 % of the map's extent."""
    centres = rng.standard_normal((4, 128))
    old_data = clustered(50, centres, rng)
    old_coords, basis = fit_layout(old_data)
    new_tasks = clustered(5, centres[:1], rng, noise=0.1)
    coords, _ = fit_layout(np.vstack([old_data, new_tasks]), basis)
    assert median_displacement_ratio(old_coords, coords[:200]) < 0.05


def test_alignment_undoes_axis_flips_and_rotations(rng):
    """Two nearly equal principal variances: PCA's axes spin freely between fits. Without alignment
    the old tasks jump (the old backend's defect); aligned, they stay."""
    data = rng.standard_normal((200, 32)) * np.r_[[3.0, 3.0], np.full(30, 0.1)]
    data = data / np.linalg.norm(data, axis=1, keepdims=True)
    old_coords, basis = fit_layout(data)
    grown = np.vstack([data, rng.standard_normal((5, 32)) * 0.2])
    unaligned, _ = fit_layout(grown)
    aligned, _ = fit_layout(grown, basis)
    assert median_displacement_ratio(old_coords, aligned[:200]) < 0.05
    flipped, _ = fit_layout(-data)  # the same map mirrored: an unaligned fit shows the flip
    assert median_displacement_ratio(old_coords, -flipped) < 1e-6
    realigned, _ = fit_layout(data, basis)
    assert np.allclose(realigned, old_coords, atol=1e-6)
    assert median_displacement_ratio(old_coords, unaligned[:200]) > median_displacement_ratio(
        old_coords, aligned[:200]
    )


def test_tasks_without_a_map_place_go_on_a_spiral_not_a_row():
    positions = spiral_positions(0, 200)
    assert median_neighbour_distance(positions) >= MIN_NEIGHBOUR_DISTANCE
    extent = np.ptp(positions, axis=0)
    assert extent.max() < 1200 and extent.min() > 0.8 * extent.max()  # a disc, not a row
    # The next ones continue the same spiral, around another centre if asked.
    assert np.allclose(spiral_positions(150, 50), positions[150:])
    assert np.allclose(spiral_positions(0, 3, centre=(10, 20))[0], [10, 20])


def test_pending_tasks_sit_beside_related_tasks_or_inside_the_map():
    placed = np.array([[0.0, 0.0], [10.0, 0.0], [100.0, 100.0]])
    placed_tags = [["home"], ["home"], ["work"]]
    keys = ["p1", "p2", "p3", "p4"]
    tags = [["home"], ["nothing"], [], ["work", "home"]]
    positions = place_without_embedding(keys, tags, placed, placed_tags)
    assert np.linalg.norm(positions[0] - [5.0, 0.0]) <= SCALE * 0.25 + 1e-9
    unrelated = positions[[1, 2]]
    centre = placed.mean(axis=0)
    radius = np.linalg.norm(placed - centre, axis=1).max()
    assert (np.linalg.norm(unrelated - centre, axis=1) <= radius).all()  # inside the map
    assert not np.allclose(unrelated[0], unrelated[1])  # never stacked
    assert np.array_equal(positions, place_without_embedding(keys, tags, placed, placed_tags))


def test_clusters_are_found_and_named(rng):
    blobs = np.vstack([rng.normal(c, 2.0, (30, 2)) for c in [(-80, 0), (80, 0), (0, 90)]])
    labels = cluster(blobs)
    assert len(set(labels.tolist())) == 3
    for block in range(3):
        assert len(set(labels[block * 30 : (block + 1) * 30].tolist())) == 1
    tags = [["a", "x"]] * 30 + [["b"]] * 30 + [[]] * 30
    described = describe_clusters(labels, blobs, tags)
    names = {d["name"] for d in described}
    assert "a, x" in names and "b" in names and any(n.startswith("Cluster ") for n in names)
    assert sum(d["size"] for d in described) == 90


def test_no_structure_is_one_cluster(rng):
    assert set(cluster(rng.uniform(-1, 1, (200, 2))).tolist()) == {0}
    assert cluster(np.zeros((2, 2))).tolist() == [0, 0]


def test_binary_copy_parser_refuses_other_input():
    with pytest.raises(ValueError, match="not a PostgreSQL binary COPY"):
        parse_id_vectors(b"garbage", 3)


def degenerate_topics(rng, dim=768):
    """Four equal topics: the 2nd and 3rd principal variances are nearly equal, so PCA's plane
    swings when 5 tasks join one topic."""
    centres = rng.standard_normal((4, dim))
    data = np.vstack([c + 0.4 * rng.standard_normal((50, dim)) for c in centres])
    extra = centres[2] + 0.4 * rng.standard_normal((5, dim))
    normalise = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    return normalise(data), normalise(extra)


def test_an_ill_defined_plane_is_kept_not_swapped():
    data, extra = degenerate_topics(np.random.default_rng(1))
    old_coords, basis = fit_layout(data)
    grown = np.vstack([data, extra])
    stable, _ = fit_layout(grown, basis)
    assert median_displacement_ratio(old_coords, stable[:200]) < 0.05
    swung, _ = fit_layout(grown, basis, keep_plane=2.0)  # never keep: Procrustes alone
    assert median_displacement_ratio(old_coords, swung[:200]) > 0.10


def test_a_clearly_better_plane_is_adopted(rng):
    before = rng.standard_normal((200, 16)) * np.r_[[5.0, 4.0], np.full(14, 0.1)]
    _, basis = fit_layout(before)
    after = rng.standard_normal((200, 16)) * np.r_[[0.1, 0.1, 5.0, 4.0], np.full(12, 0.1)]
    coords, new_basis = fit_layout(after, basis)
    # The map now shows dimensions 2 and 3, where the data varies, at the usual scale.
    weights = np.column_stack([new_basis.wx, new_basis.wy])
    assert np.abs(weights[2:4]).sum() > 10 * np.abs(weights[:2]).sum()
    total_variance = (np.linalg.norm(coords - coords.mean(axis=0), axis=0) ** 2 / 200).sum()
    # A rotation keeps the total: 2 * scale**2, the scale that spaces these tasks for the PWA.
    assert total_variance >= 2 * SCALE**2
    assert median_neighbour_distance(coords) >= MIN_NEIGHBOUR_DISTANCE


def test_a_degenerate_axis_is_not_stretched_to_infinity():
    """Found by the isolation property test: with two tasks the second axis has a rounding-error
    spread, and a new task projected with that basis landed at y = 1.6e16 (a 500 on save)."""
    rng = np.random.default_rng(3)
    two = rng.normal(size=(2, 768))
    two /= np.linalg.norm(two, axis=1, keepdims=True)
    coords, basis = fit_layout(two)
    assert np.isfinite(coords).all() and np.abs(coords).max() <= 40.0 + 1e-6
    newcomer = rng.normal(size=(1, 768))
    newcomer /= np.linalg.norm(newcomer)
    placed = basis.project(newcomer)
    assert np.abs(placed).max() < 40.0 * 100 * 3
