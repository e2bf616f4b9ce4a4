"""The two exceptions of stack configuration: one for the user (every bad key), one for a validator to blame a key."""

from __future__ import annotations

import pulumi


class StackConfigError(pulumi.RunError):
    """A user mistake in a stack file: one line per bad key, reported without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(problems))


class FieldError(ValueError):
    """Raised by a model validator to blame one field (dotted path relative to the model)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)
