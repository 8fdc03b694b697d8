"""The async I/O layer, written by hand. ``nanobanana._sync`` is generated from it."""
