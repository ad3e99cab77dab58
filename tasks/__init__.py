"""Tasks and their embeddings: the model, the one write path of a task's fields, reads, the
embedding store, and the task reads of the API. Knows nothing of edges or the map."""
