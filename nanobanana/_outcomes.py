"""How a client's task handles ended, kept by the client (its poll scheduler).

``nb.as_completed`` yields a handle once its task has ended; ``await task`` right after
must give that outcome without another status request, and a handle waited for twice
must not poll twice. A handle is frozen, so the client keeps the outcome, per handle and
for as long as the handle lives (weakly keyed: a batch's thousands of finished handles
are not retained). A timeout, or the error a fan-in's poll of the task ended in, is kept
until it has been reported once: the task may still end (or the error pass), and the next
wait polls for it again.
"""

from __future__ import annotations

import threading
import weakref

from ._exceptions import NanoBananaError
from ._models import ImageStatus, VideoStatus

__all__ = ["Outcome", "Outcomes"]

Outcome = ImageStatus | VideoStatus | NanoBananaError
"""A final status; or the timeout a fan-in saw before the task ended, or the error its
poll of the task failed with (a 404, an answer that does not decode)."""


class Outcomes:
    """The outcome of each live task handle that has one. Thread-safe."""

    __slots__ = ("_lock", "_outcomes")

    def __init__(self) -> None:
        self._outcomes: weakref.WeakKeyDictionary[object, Outcome] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def put(self, handle: object, outcome: Outcome) -> None:
        """Keep how the handle's task ended (kept while the handle lives)."""
        with self._lock:
            self._outcomes[handle] = outcome

    def known(self, handle: object) -> bool:
        """True when the handle's outcome is here (waiting on it sends no request)."""
        with self._lock:
            return handle in self._outcomes

    def take(self, handle: object) -> Outcome | None:
        """The handle's outcome, or None. A final status stays; an error is removed."""
        with self._lock:
            found = self._outcomes.get(handle)
            if isinstance(found, NanoBananaError):
                del self._outcomes[handle]
            return found
