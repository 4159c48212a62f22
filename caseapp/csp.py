"""The Content-Security-Policy of every HTML page (console, /ack and the ack link's pages).

Scripts, styles and requests from this server only; nothing inline. Shared by the web layer
and the API's HTML answers, which may not import each other.
"""

CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
               "frame-ancestors 'none'")
