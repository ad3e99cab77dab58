"""Strict parsers for environment variables: a malformed value stops the process with a clear message."""

import ipaddress
import math
import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, got {raw!r}.")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if minimum is None and maximum is None:
        accepted = "a whole number"
    elif maximum is None:
        accepted = f"a whole number >= {minimum}"
    elif minimum is None:
        accepted = f"a whole number <= {maximum}"
    else:
        accepted = f"a whole number between {minimum} and {maximum}"
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {accepted}, got {raw!r}.") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name} must be {accepted}, got {value}.")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}.") from None
    if not math.isfinite(value) or value < minimum:
        raise ImproperlyConfigured(f"{name} must be a finite number >= {minimum}, got {raw!r}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = os.environ.get(name, "").strip() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(choices)}, got {value!r}.")
    return value


_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str | None:
    """A DRF throttle rate such as `600/min`; `off` turns the limit off (None)."""
    value = os.environ.get(name, "").strip() or default
    if value.lower() == "off":
        return None
    if not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name} must look like 600/min (per s, min, hour or day) or be off, got {value!r}."
        )
    return value


def env_count_or_all(name: str, default: int) -> int | None:
    """A whole number >= 0, or `all` (None: no bound)."""
    raw = os.environ.get(name, "").strip()
    if raw.lower() == "all":
        return None
    if raw and not raw.isdigit():
        raise ImproperlyConfigured(f"{name} must be a whole number >= 0 or all, got {raw!r}.")
    return int(raw) if raw else default


def env_count_or_off(name: str, default: int) -> int | None:
    """A whole number >= 1, or `off` (None: no limit)."""
    raw = os.environ.get(name, "").strip()
    if raw.lower() == "off":
        return None
    if raw and (not raw.isdigit() or int(raw) < 1):
        raise ImproperlyConfigured(f"{name} must be a whole number >= 1 or off, got {raw!r}.")
    return int(raw) if raw else default


def env_networks(name: str, default: list[str]) -> list:
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be a comma-separated list of addresses or networks, got {item!r}."
            ) from None
    return networks
