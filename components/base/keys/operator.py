"""The operator's session-state keys: this browser session presented the operator key (in
the address or, after a reload or in a new tab, from the browser's cookie)."""

KEY_OK = "operator_key_ok"  # True once the session showed the server's operator key
KEY_HELD = "operator_key_held"  # the key itself, which the browser's cookie keeps
COOKIE_SENT = "operator_cookie_sent"  # (present once read) the cookie as sent at the start
