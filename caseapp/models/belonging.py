"""Markers saying whose a row is: the municipality boundary filters each kind with one rule.

A row carries its municipality itself, or hangs from a client, case, consultation or referral
that does, or lies in an area. The boundary (``services/core/scope.py``) names these markers,
not every table, so a query pays for a dozen rules instead of one per table.

Each marker names its column once (SQLAlchemy reads the rule's lambda against the marker);
every table declares that column itself, which wins over the marker's.
"""

from sqlalchemy import Column, Integer


class Municipal:
    """Carries ``municipality_id``."""

    municipality_id = Column(Integer)


class OfClient:
    """Hangs from a client (``client_id``)."""

    client_id = Column(Integer)


class OfCase:
    """Hangs from a case (``case_id``)."""

    case_id = Column(Integer)


class OfConsultation:
    """Hangs from a consultation (``consultation_id``)."""

    consultation_id = Column(Integer)


class OfReferral:
    """Hangs from a referral (``referral_id``)."""

    referral_id = Column(Integer)


class InArea:
    """Lies in an area (``area_id``)."""

    area_id = Column(Integer)
