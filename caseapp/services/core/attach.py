"""Rows read or written with Core statements, made into the session's objects without SQL."""

from sqlalchemy.orm import Session, make_transient_to_detached


def attached(session: Session, model, values: dict):
    """The session's object for this row: the one it holds already, or one made from
    ``values`` (the row's columns; any left out load when first read) and added as persistent.

    An ORM query building the object costs several times the Core statement that read or
    wrote the row; this costs a dictionary update.
    """
    held = session.identity_map.get(session.identity_key(model, values["id"]))
    if held is not None:
        return held
    obj = model._sa_class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
