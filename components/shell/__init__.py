"""Around every page: the sidebar, the deep-link guard, projector view."""
