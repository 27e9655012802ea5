"""Glue for other frameworks' environment APIs (imports none of them itself)."""
