"""The short stable hash that names configurations, k-fold sets and splits in the results store."""
from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(obj: Any) -> str:
    """The first 12 hex digits of the sha256 of ``obj`` as canonical JSON (sorted keys; values JSON
    cannot encode, such as paths, by their ``str``): equal objects get equal hashes in every
    process and on every machine."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]
