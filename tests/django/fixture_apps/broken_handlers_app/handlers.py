"""A handlers module whose own import fails: the error must not be swallowed."""

from __future__ import annotations

import a_module_that_does_not_exist  # type: ignore[import-not-found]  # noqa: F401
