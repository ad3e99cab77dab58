import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run Python code in a fresh process with Django set up under the given environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    full_env.update(env)
    full_env.setdefault("DJANGO_SETTINGS_MODULE", "linkdo.settings")
    script = "import django\ndjango.setup()\n" + code
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


TITLE_WORDS = [
    "garden",
    "taxes",
    "report",
    "piano",
    "kitchen",
    "bike",
    "doctor",
    "trip",
    "invoice",
    "laundry",
    "email",
    "budget",
    "flight",
    "hotel",
    "dentist",
    "groceries",
    "vacuum",
    "meeting",
    "slides",
    "review",
    "deploy",
    "server",
    "backup",
    "painting",
    "birthday",
    "gift",
    "recipe",
    "bakery",
    "running",
    "swimming",
    "guitar",
    "novel",
    "museum",
    "insurance",
    "passport",
]


def random_titles(count: int, seed: int) -> list[str]:
    """Titles of three different words each: varied texts, as a real workspace has."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(TITLE_WORDS, size=3, replace=False)) for _ in range(count)]
