"""A ``SECRET_KEY`` for local runs, generated once and kept in a private file.

The example never falls back to a constant key: a key everybody can read in
the repository would let anyone forge sessions and password-reset links.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.management.utils import get_random_secret_key

__all__ = ["load_or_create_secret_key"]


def load_or_create_secret_key(path: Path) -> str:
    """The key stored at ``path``; on first use, a new random key written there.

    The file is readable by its owner only (0600). It appears whole or not at
    all (written aside, then hard-linked into place), so processes starting
    together agree on one key.
    """
    if not path.exists():
        descriptor, scratch = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(get_random_secret_key() + "\n")
            os.link(scratch, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            os.unlink(scratch)
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ValueError(
            f"{path} is empty: delete it to get a new key, or set DJANGO_SECRET_KEY"
        )
    return key
