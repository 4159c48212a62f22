"""Request and response shapes, one module per resource; the OpenAPI document is built from them.

A handler module imports the shapes of its resource from the module of the same name; shapes that
several resources nest (a client's cases, a consultation's referrals) live with the resource they
describe and are imported from there.
"""

from caseapp.api.schemas import messages as _messages

# Before any schema module is imported: a field copies its class's messages when it is made.
_messages.install()
