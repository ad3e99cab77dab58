"""The web process's long-lived objects, kept out of the garbage collector's full passes."""

import gc
from importlib import import_module

from django.conf import settings


def freeze_loaded_objects() -> int:
    """Import every view (the URL conf is otherwise imported by the first request), collect, and
    move every object alive now into the collector's permanent generation. A full collection then
    no longer walks the ~230,000 objects of Django, DRF, numpy and scikit-learn: 134-207 ms each,
    about one per first sync of 5,000 tasks (docs/PERFORMANCE.md). Forked workers also stop
    writing to those objects' pages, so the pages stay shared. gunicorn's master calls this before
    it forks the workers (deploy/gunicorn.conf.py). Returns how many objects are frozen."""
    import_module(settings.ROOT_URLCONF)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
