"""The operator's session-state key: this browser session presented the operator key."""

KEY_OK = "operator_key_ok"  # True once the session showed the server's operator key
