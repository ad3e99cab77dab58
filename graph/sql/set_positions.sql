-- An arrangement's places and clusters, from the temporary table incoming_positions.
-- Rows whose place did not change are not written: a re-arrange of an unchanged map writes nothing.
-- A move below POSITION_TOLERANCE is no move: the same map fitted again lands its tasks a few
-- millionths of a unit away (floating-point noise), and writing that gave x and y a new field
-- version, so a device's later move of the task, made against an older version, came back as a
-- conflict with its y dropped. Only the fields that changed take the new field version.
--
-- Parameters: ws (workspace id), version, tol (POSITION_TOLERANCE), and x_version, y_version,
-- cluster_version: the jsonb object of that one field and the version, made by the caller (Citus
-- refuses jsonb_build_object, which is not immutable, inside a CASE it runs on a worker).
-- Each task's move, per axis, and whether its cluster changed.
WITH moves AS (
    SELECT v.id, abs(t.x - v.x) > %(tol)s AS moved_x, abs(t.y - v.y) > %(tol)s AS moved_y,
        t.cluster IS DISTINCT FROM NULLIF(v.cluster, -1) AS new_cluster, v.x, v.y,
        NULLIF(v.cluster, -1) AS cluster
    FROM incoming_positions v JOIN {task} t ON t.id = v.id AND t.workspace_id = %(ws)s
)
UPDATE {task} AS t SET
    x = CASE WHEN m.moved_x THEN m.x ELSE t.x END,
    y = CASE WHEN m.moved_y THEN m.y ELSE t.y END,
    cluster = m.cluster, version = %(version)s,
    field_versions = t.field_versions
        || CASE WHEN m.moved_x THEN %(x_version)s::jsonb ELSE '{{}}'::jsonb END
        || CASE WHEN m.moved_y THEN %(y_version)s::jsonb ELSE '{{}}'::jsonb END
        || CASE WHEN m.new_cluster THEN %(cluster_version)s::jsonb ELSE '{{}}'::jsonb END
FROM moves m
WHERE t.id = m.id AND t.workspace_id = %(ws)s AND (m.moved_x OR m.moved_y OR m.new_cluster)
