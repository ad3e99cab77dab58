"""The flows that need tasks and edges together: the task API's writes (create -> link -> place),
offline sync, export/import, the background embedding worker, the workspace admin page and the
operators' commands over both."""
