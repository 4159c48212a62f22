"""Answers that carry more than a row: the row, plus what the use case found out beside it."""

from dataclasses import fields


class ReadsThrough:
    """Mixin for a dataclass whose first field is the row the answer is about.

    Attributes the answer does not have itself are read from that row, so the row's response
    schema, extended by the extra fields, renders the answer as it stands; nothing is ever
    attached to the ORM object.
    """

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        row = vars(self).get(fields(self)[0].name)  # type: ignore[arg-type]
        if row is None:
            raise AttributeError(name)
        return getattr(row, name)
