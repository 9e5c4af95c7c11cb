"""One module per page; each defines ``router`` and ``PAGE`` (see api/web/README.md)."""
