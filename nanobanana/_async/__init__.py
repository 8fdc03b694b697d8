"""The hand-written async I/O layer. ``nanobanana._sync`` is generated from it."""
