"""Loading one row by its id, or saying it is not there."""

from typing import TypeVar

from sqlalchemy.orm import Session

from caseapp.services.core.errors import NotFound

Row = TypeVar("Row")


def get_or_404(session: Session, model: type[Row], ident: int, **options) -> Row:
    """The row with this id, or :class:`NotFound` naming it ("case 7 not found").

    ``options`` go to :meth:`Session.get` (``with_for_update``, ``populate_existing``, ...).
    """
    row = session.get(model, ident, **options)
    if row is None:
        raise NotFound(f"{model.__name__.lower()} {ident} not found")
    return row
