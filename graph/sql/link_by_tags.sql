-- Bounded auto-links, in one statement (its last lines are in graph.services). Each task *chooses*
-- at most K (LINKDO_AUTOLINKS_PER_TASK; NULL: all) of the live tasks sharing a tag with it:
-- highest weight (|common| / max(|a|, |b|), rounded to 2 places) first, then the most similar by
-- embedding, the most recently changed, the client id. An auto edge lives while at least one of
-- its ends chooses it (chosen_by_source / chosen_by_target). Choosing again: the given tasks
-- (created, retagged) and every task that had chosen one of them which is now deleted or no longer
-- shares a tag ("refill"); a new task never rewires the others. Pairs with a manual edge (live, or
-- deleted by the user) are neither linked nor counted. Rows whose visible state (alive, weight)
-- changes take `version`. Every read of the task, embedding and edge tables names the workspace:
-- with nested loops off, a join by id alone hashed the whole table, every workspace's rows.
--
-- Parameters: ws (workspace id), ids (the given task ids), version, k (LINKDO_AUTOLINKS_PER_TASK or
-- NULL), exact (rank every chooser against every tag-mate).
-- The ids as a set: `= ANY(array)` compared every row with the whole array; IN (SELECT ...) hashes.
WITH ids AS MATERIALIZED (SELECT DISTINCT unnest(%(ids)s::bigint[]) AS id),
-- The given tasks, and whether each is deleted (its auto edges go, its choosers choose again).
changed AS MATERIALIZED (
    SELECT t.id, t.tags, t.deleted_at IS NOT NULL AS gone
    FROM {task} t JOIN ids ON ids.id = t.id WHERE t.workspace_id = %(ws)s
),
-- Auto edges of the changed tasks (those tombstoned by this very change included: a deleted task's
-- edges go first), seen from the changed end c and the other end o.
touching AS MATERIALIZED (
    SELECT e.source_id AS c_id, e.target_id AS o_id, e.chosen_by_target AS o_chose
    FROM {edge} e JOIN changed c ON c.id = e.source_id
    WHERE e.workspace_id = %(ws)s AND e.origin = 'auto'
      AND (e.deleted_at IS NULL OR e.version = %(version)s)
    UNION ALL
    SELECT e.target_id, e.source_id, e.chosen_by_source
    FROM {edge} e JOIN changed c ON c.id = e.target_id
    WHERE e.workspace_id = %(ws)s AND e.origin = 'auto'
      AND (e.deleted_at IS NULL OR e.version = %(version)s)
),
-- Who chooses now: the given live tasks, and every task that had chosen one of them which is now
-- deleted or no longer shares a tag with it ("refill").
choosers AS MATERIALIZED (
    SELECT id FROM changed WHERE NOT gone
    UNION
    SELECT t.o_id FROM touching t
    JOIN changed c ON c.id = t.c_id
    JOIN {task} o ON o.id = t.o_id AND o.workspace_id = %(ws)s
    WHERE t.o_chose AND o.deleted_at IS NULL AND (c.gone OR NOT (o.tags && c.tags))
),
-- A chooser with an embedding ranks equal weights by similarity: it is ranked against every
-- tag-mate ("exact"). One without (a task a push just stored: its embedding comes later) ranks
-- equal weights by recency, so per tag set only its few most recent tasks can be chosen ("fast").
-- Every edge with a chooser at one end, in one pass over the workspace's edges (two hashed
-- subplans): all the edges the statement may read or change, as a chosen pair has its chooser at
-- one end; manual ones included (they are neither linked nor counted). Every later step reads
-- this; before, four more passes, and two over the whole table (all workspaces) with nested
-- loops off.
chooser_edges AS MATERIALIZED (
    SELECT e.id, e.origin, e.source_id, e.target_id, e.chosen_by_source, e.chosen_by_target,
           LEAST(e.source_id, e.target_id) AS lo, GREATEST(e.source_id, e.target_id) AS hi
    FROM {edge} e
    WHERE e.workspace_id = %(ws)s
      AND (e.source_id IN (SELECT id FROM choosers) OR e.target_id IN (SELECT id FROM choosers))
),
-- Each chooser's tags, and whether it ranks the fast way (no embedding yet, K bounded, not exact).
chooser_rows AS MATERIALIZED (
    SELECT t.id, t.tags,
           %(k)s::int IS NOT NULL AND NOT %(exact)s AND e.task_id IS NULL AS fast
    FROM {task} t JOIN choosers ch ON ch.id = t.id AND t.workspace_id = %(ws)s
    LEFT JOIN {embedding} e ON e.task_id = t.id AND e.workspace_id = %(ws)s
),
-- MATERIALIZED: inlined, the unnest ran once per chooser (a nested loop, O(n^2)).
-- The exact choosers' tags, one row per tag.
chooser_tags AS MATERIALIZED (
    SELECT id, unnest(tags) AS tag, cardinality(tags) AS size FROM chooser_rows WHERE NOT fast
),
-- Every live task's tags, one row per tag: the exact choosers' candidates.
workspace_tags AS MATERIALIZED (
    SELECT id, unnest(tags) AS tag, cardinality(tags) AS size
    FROM {task} WHERE workspace_id = %(ws)s AND deleted_at IS NULL
),
-- Exact: each (chooser, tag-mate) pair with its weight, |common tags| / max(|a|, |b|).
shared AS (
    -- tags are de-duplicated per task, so the number of matching tags is |common tags|
    SELECT c.id AS chooser, o.id AS other,
           round(count(*)::numeric / GREATEST(max(c.size), max(o.size)), 2)::float8 AS weight
    FROM chooser_tags c JOIN workspace_tags o ON o.tag = c.tag AND o.id <> c.id
    GROUP BY c.id, o.id
),
-- Pairs the user linked (or unlinked) by hand: never auto-linked.
manual AS MATERIALIZED (SELECT lo, hi FROM chooser_edges WHERE origin = 'manual'),
-- Exact: each chooser's tag-mates in the order of choice (weight, similarity, recency, id).
ranked AS (
    SELECT s.chooser, s.other, s.weight, row_number() OVER (
        PARTITION BY s.chooser
        ORDER BY s.weight DESC, (ec.vector <=> eo.vector) ASC NULLS LAST, o.updated_at DESC,
                 o.client_id
    ) AS rank
    FROM shared s
    JOIN {task} o ON o.id = s.other AND o.workspace_id = %(ws)s
    LEFT JOIN {embedding} ec ON ec.task_id = s.chooser AND ec.workspace_id = %(ws)s
    LEFT JOIN {embedding} eo ON eo.task_id = s.other AND eo.workspace_id = %(ws)s
    -- NOT IN over two non-null columns runs as a hashed subplan, not a loop per pair
    WHERE (LEAST(s.chooser, s.other), GREATEST(s.chooser, s.other))
          NOT IN (SELECT lo, hi FROM manual)
),
-- Fast: a candidate's weight depends only on its tag set, and among equal weights the most
-- recent win, so of each tag set only the `depth` most recent tasks can be chosen: K, plus the
-- chooser itself, plus the most manual partners (excluded) any fast chooser has.
manual_degree AS (
    SELECT count(*) AS n
    FROM (SELECT lo AS id FROM manual UNION ALL SELECT hi FROM manual) m
    JOIN chooser_rows c ON c.id = m.id AND c.fast
    GROUP BY m.id
),
depth AS MATERIALIZED (
    SELECT %(k)s::int + 1 + coalesce((SELECT max(n) FROM manual_degree), 0) AS n
),
-- Only tag sets sharing a tag with a fast chooser can be chosen by one: a create with rare tags
-- does not sort the whole workspace.
fast_tags AS MATERIALIZED (
    SELECT array_agg(DISTINCT tag) AS tags
    FROM chooser_rows c, unnest(c.tags) AS tag WHERE c.fast
),
-- The `depth` most recent live tasks of each tag set that shares a tag with a fast chooser.
members AS MATERIALIZED (
    SELECT tags, id, updated_at, client_id FROM (
        SELECT tags, id, updated_at, client_id, row_number() OVER (
            PARTITION BY tags ORDER BY updated_at DESC, client_id
        ) AS rn
        FROM {task}
        WHERE workspace_id = %(ws)s AND deleted_at IS NULL AND cardinality(tags) > 0
          AND EXISTS (SELECT 1 FROM chooser_rows WHERE fast)
          AND tags && (SELECT tags FROM fast_tags)
    ) m WHERE rn <= (SELECT n FROM depth)
),
-- Tag sets get integer ids: sorting and grouping tens of thousands of (set, set) pairs by their
-- arrays took 400 ms a push of 1,000.
tag_sets AS MATERIALIZED (
    SELECT row_number() OVER () AS sid, tags, members
    FROM (SELECT tags, count(*)::int AS members FROM members GROUP BY tags) g
),
-- Each member with its set's id and its place in the order of equal weights (the most recently
-- changed first, then the client id).
ranked_members AS MATERIALIZED (
    SELECT ts.sid, m.id, row_number() OVER (ORDER BY m.updated_at DESC, m.client_id) AS recency
    FROM members m JOIN tag_sets ts ON ts.tags = m.tags
),
-- A chooser tag set whose own set has `depth` members needs no other: only an identical set
-- weighs 1.00 (with at most tasks.models.MAX_TAGS tags, c/m rounds to 1.00 only when c = m),
-- and its `depth` members are the best candidates. Only the other sets are paired below; in a
-- first sync, more than half of a push's choosers have such a set.
chooser_sets AS MATERIALIZED (
    SELECT row_number() OVER () AS aid, d.tags, own.sid AS own,
           coalesce(own.members >= (SELECT n FROM depth), false) AS settled
    FROM (SELECT DISTINCT tags FROM chooser_rows WHERE fast) d
    LEFT JOIN tag_sets own ON own.tags = d.tags
),
-- Weights in hundredths as integers: round(common / max size, 2) without numeric arithmetic on
-- tens of thousands of pairs (it rounds half up, as round() does).
set_pairs AS MATERIALIZED (
    SELECT a.aid, s.sid, max(s.members) AS members,
           (200 * count(*) + GREATEST(max(a.size), max(s.size)))
           / (2 * GREATEST(max(a.size), max(s.size))) AS weight
    FROM (SELECT aid, cardinality(tags) AS size, unnest(tags) AS tag
          FROM chooser_sets WHERE NOT settled) a
    JOIN (SELECT sid, members, cardinality(tags) AS size, unnest(tags) AS tag FROM tag_sets) s
      ON s.tag = a.tag
    GROUP BY a.aid, s.sid
),
-- Per chooser tag set, the weight tiers down to the one where `depth` candidates are reached
-- (the tiers are few: summed first, so that only they are sorted).
tier_sizes AS (SELECT aid, weight, sum(members) AS members FROM set_pairs GROUP BY aid, weight),
-- Per chooser set, the lowest weight that is still needed.
cutoffs AS MATERIALIZED (
    SELECT aid, min(weight) AS weight FROM (
        SELECT aid, weight,
               sum(members) OVER (PARTITION BY aid ORDER BY weight DESC) - members AS above
        FROM tier_sizes
    ) t WHERE above < (SELECT n FROM depth)
    GROUP BY aid
),
-- The (chooser set, tag set) pairs down to each cutoff, and each settled set with its own set.
tiers AS MATERIALIZED (
    SELECT p.aid, p.sid, p.weight FROM set_pairs p JOIN cutoffs c ON c.aid = p.aid
    WHERE p.weight >= c.weight
    UNION ALL
    SELECT aid, own, 100 FROM chooser_sets WHERE settled
),
-- Per chooser tag set, its `depth` best candidates: one list for all the choosers of the set
-- (ranking every chooser's candidates sorted three times as many rows).
set_ranked AS MATERIALIZED (
    SELECT aid, id, weight, rank FROM (
        SELECT t.aid, m.id, t.weight, row_number() OVER (
            PARTITION BY t.aid ORDER BY t.weight DESC, m.recency
        ) AS rank
        FROM tiers t JOIN ranked_members m ON m.sid = t.sid
    ) r WHERE rank <= (SELECT n FROM depth)
),
-- Fast: each chooser's candidates, from its tag set's list (itself and manual pairs left out).
fast_ranked AS (
    SELECT c.id AS chooser, s.id AS other, s.weight / 100.0::float8 AS weight,
           row_number() OVER (PARTITION BY c.id ORDER BY s.rank) AS rank
    FROM chooser_rows c
    JOIN chooser_sets cs ON cs.tags = c.tags
    JOIN set_ranked s ON s.aid = cs.aid AND s.id <> c.id
    WHERE c.fast AND (LEAST(c.id, s.id), GREATEST(c.id, s.id)) NOT IN (SELECT lo, hi FROM manual)
),
-- The first K of each chooser, exact and fast together.
chosen AS MATERIALIZED (
    SELECT chooser, other, weight FROM ranked WHERE %(k)s::int IS NULL OR rank <= %(k)s::int
    UNION ALL
    SELECT chooser, other, weight FROM fast_ranked WHERE rank <= %(k)s::int
),
-- Every pair whose choices may change: the chosen ones and the auto edges of the choosers.
pairs AS MATERIALIZED (
    SELECT LEAST(chooser, other) AS lo, GREATEST(chooser, other) AS hi FROM chosen
    UNION
    SELECT lo, hi FROM chooser_edges WHERE origin = 'auto'
),
-- Per pair: does each end choose it now, and at which weight.
decided AS MATERIALIZED (
    SELECT p.lo, p.hi,
           coalesce(bool_or(c.chooser = p.lo), false) AS lo_chooses,
           coalesce(bool_or(c.chooser = p.hi), false) AS hi_chooses,
           max(c.weight) AS weight -- a chosen pair's weight, as ranked
    FROM pairs p LEFT JOIN chosen c
      ON LEAST(c.chooser, c.other) = p.lo AND GREATEST(c.chooser, c.other) = p.hi
    GROUP BY p.lo, p.hi
),
-- Per pair of live tasks: the choices, whether each end decided now (was a chooser), the weight.
flags AS MATERIALIZED (
    SELECT d.lo, d.hi, d.lo_chooses, d.hi_chooses,
           lc.id IS NOT NULL AS lo_decides, hc.id IS NOT NULL AS hi_decides,
           -- A pair chosen now has the weight it was ranked by; the tags are read only for an
           -- edge that stays by its other end's earlier choice (its tags may have changed).
           coalesce(d.weight, round(
               (SELECT count(*) FROM unnest(a.tags) AS tag WHERE tag = ANY(b.tags))::numeric
               / GREATEST(cardinality(a.tags), cardinality(b.tags), 1), 2)::float8) AS weight
    FROM decided d
    -- an edge of a deleted task is never chosen nor revived (it is tombstoned with its task)
    JOIN {task} a ON a.id = d.lo AND a.workspace_id = %(ws)s AND a.deleted_at IS NULL
    JOIN {task} b ON b.id = d.hi AND b.workspace_id = %(ws)s AND b.deleted_at IS NULL
    LEFT JOIN choosers lc ON lc.id = d.lo LEFT JOIN choosers hc ON hc.id = d.hi
),
-- The new choices of each existing auto edge, in its own source/target order.
next AS MATERIALIZED (
    SELECT e.id, f.weight,
        CASE WHEN e.source_id = f.lo
             THEN CASE WHEN f.lo_decides THEN f.lo_chooses ELSE e.chosen_by_source END
             ELSE CASE WHEN f.hi_decides THEN f.hi_chooses ELSE e.chosen_by_source END
        END AS by_source,
        CASE WHEN e.target_id = f.lo
             THEN CASE WHEN f.lo_decides THEN f.lo_chooses ELSE e.chosen_by_target END
             ELSE CASE WHEN f.hi_decides THEN f.hi_chooses ELSE e.chosen_by_target END
        END AS by_target
    FROM flags f JOIN chooser_edges e ON e.lo = f.lo AND e.hi = f.hi
    WHERE e.origin = 'auto'
),
-- Existing auto edges take their new choices: revived, re-weighted or tombstoned (a new version
-- only when what a client sees changes).
updated AS (
    UPDATE {edge} e SET
        chosen_by_source = n.by_source, chosen_by_target = n.by_target,
        weight = CASE WHEN n.by_source OR n.by_target THEN n.weight ELSE e.weight END,
        deleted_at = CASE WHEN n.by_source OR n.by_target THEN NULL
                          ELSE coalesce(e.deleted_at, %(now)s) END,
        version = CASE WHEN (n.by_source OR n.by_target) IS DISTINCT FROM (e.deleted_at IS NULL)
                         OR ((n.by_source OR n.by_target) AND e.weight IS DISTINCT FROM n.weight)
                       THEN %(version)s ELSE e.version END,
        updated_at = %(now)s
    FROM next n
    WHERE e.id = n.id AND e.workspace_id = %(ws)s AND (
        (e.chosen_by_source, e.chosen_by_target) IS DISTINCT FROM (n.by_source, n.by_target)
        OR ((n.by_source OR n.by_target)
            AND (e.deleted_at IS NOT NULL OR e.weight IS DISTINCT FROM n.weight))
    )
),
-- New auto edges: pairs chosen now that have no edge yet. The chooser is the source (as the PWA
-- draws it: from the task that was linked). No ON CONFLICT where they are inserted: every caller
-- holds the workspace's lock, and chooser_edges has every edge with a chooser at one end
-- (tombstones too), so NOT EXISTS is exact; speculative insertion made the statement 8 percent
-- slower (docs/PERFORMANCE.md).
new_edges AS (
    SELECT CASE WHEN f.flip THEN f.hi ELSE f.lo END AS source_id,
           CASE WHEN f.flip THEN f.lo ELSE f.hi END AS target_id,
           f.weight,
           CASE WHEN f.flip THEN f.hi_chooses ELSE f.lo_chooses END AS chosen_by_source,
           CASE WHEN f.flip THEN f.lo_chooses ELSE f.hi_chooses END AS chosen_by_target
    FROM (SELECT *, hi_chooses AND NOT lo_chooses AS flip FROM flags) f
    WHERE (f.lo_chooses OR f.hi_chooses)
      AND NOT EXISTS (SELECT 1 FROM chooser_edges e WHERE e.lo = f.lo AND e.hi = f.hi)
)
-- The statement ends in graph.services: on one PostgreSQL the new edges are inserted here; on
-- Citus they are selected, and inserted by a statement of their own.
