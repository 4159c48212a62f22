"""Domain errors: the services say what went wrong, the API layer picks the HTTP status."""


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: dict | None = None, extra: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Invalid(DomainError):
    status = 422
    title = "Unprocessable content"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
