"""Offline tag suggestions measured on a labelled set (tests/tags/labelled_tasks.py): precision of
the first three suggestions, the figure docs/PERFORMANCE.md reports."""

import pytest
from django.core.cache import cache

from tests.tags.labelled_tasks import precision_at_3, split

pytestmark = pytest.mark.django_db


def offline_precision(client) -> dict:
    cache.clear()
    known, asked = split()
    for i, (title, tags) in enumerate(known):
        response = client.post("/api/tasks", {"id": f"k{i}", "title": title, "tags": tags})
        assert response.status_code == 201

    def suggest(title):
        response = client.post("/api/tags/suggest-tags", {"title": title})
        assert response.status_code == 200
        assert response.json()["source"] == "similar"
        return response.json()["tags"]

    return precision_at_3(suggest, asked)


def test_offline_suggestions_are_precise_on_the_labelled_set(client_a):
    result = offline_precision(client_a)
    print("offline tag suggestions:", result)
    assert result["precision_at_3"] >= 0.7
    assert result["coverage"] >= 0.8  # cautious, not silent
