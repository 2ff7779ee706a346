"""What every component uses: the server's shared objects, polling, page entry, formatting, the
chart cache.
"""
