from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the services and the audit log need to know it."""

    user_id: int | None
    name: str
    role: str
    partner_id: int | None = None
    source_ip: str | None = None
    # The municipality a staff user works for; None for partners and the system.
    municipality_id: int | None = None

    @property
    def label(self) -> str:
        return self.name


SYSTEM = Actor(user_id=None, name="system", role="system")
