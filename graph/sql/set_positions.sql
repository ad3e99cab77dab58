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
-- One UPDATE ... FROM, no CTE: on Citus the temporary table is copied to the workspace's worker
-- and the statement runs there whole (a CTE joining it was one round trip more, its rows copied
-- back). A SET expression reads the row as it was, so each move is the old place against the new.
UPDATE {task} AS t SET
    x = CASE WHEN abs(t.x - v.x) > %(tol)s THEN v.x ELSE t.x END,
    y = CASE WHEN abs(t.y - v.y) > %(tol)s THEN v.y ELSE t.y END,
    cluster = NULLIF(v.cluster, -1), version = %(version)s,
    field_versions = t.field_versions
        || CASE WHEN abs(t.x - v.x) > %(tol)s THEN %(x_version)s::jsonb ELSE '{{}}'::jsonb END
        || CASE WHEN abs(t.y - v.y) > %(tol)s THEN %(y_version)s::jsonb ELSE '{{}}'::jsonb END
        || CASE WHEN t.cluster IS DISTINCT FROM NULLIF(v.cluster, -1)
                THEN %(cluster_version)s::jsonb ELSE '{{}}'::jsonb END
FROM incoming_positions v
WHERE t.id = v.id AND t.workspace_id = %(ws)s
  AND (abs(t.x - v.x) > %(tol)s OR abs(t.y - v.y) > %(tol)s
       OR t.cluster IS DISTINCT FROM NULLIF(v.cluster, -1))
