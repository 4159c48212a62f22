"""Request and response shapes, one module per resource; the OpenAPI document is built from them.

A handler module imports the shapes of its resource from the module of the same name; shapes that
several resources nest (a client's cases, a consultation's referrals) live with the resource they
describe and are imported from there.
"""
