"""Response models: frozen attrs classes, decoded by the one converter in ``_converter``.

Fields follow the wire names. ``status`` stays a plain ``str`` so a value the provider
adds tomorrow survives decoding; ``TaskStatus`` names the ones we know. Likewise a field
the SDK does not know yet is kept in the model's ``extra`` mapping, and every model turns
into JSON-safe data and back (``to_dict``, ``to_json``, ``from_dict``) for logs and caches.
"""

from __future__ import annotations

import enum
import json
import reprlib
from collections.abc import ItemsView, Iterable, Iterator, Mapping, ValuesView
from datetime import datetime
from typing import Any, TypeVar

import attrs

__all__ = [
    "CostEstimate",
    "Credits",
    "ImageStatus",
    "ModelCatalog",
    "ModelInfo",
    "Subscription",
    "TaskStatus",
    "VideoStatus",
]


class TaskStatus(str, enum.Enum):
    """The status strings the API and its video provider are known to use (NOTES.md §1)."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CANCELED = "canceled"
    TIMEOUT = "timeout"

    def __str__(self) -> str:
        return self.value


SUCCESS_STATES = frozenset({"completed", "succeeded"})
FAILURE_STATES = frozenset({"failed", "cancelled", "canceled", "timeout"})
KNOWN_STATES = frozenset(s.value for s in TaskStatus)


def status_outcome(status: str) -> str:
    """Normalise a status string: ``"succeeded"``, ``"failed"`` or ``"running"``."""
    s = status.strip().lower()
    if s in SUCCESS_STATES:
        return "succeeded"
    if s in FAILURE_STATES:
        return "failed"
    return "running"


T = TypeVar("T")
M = TypeVar("M", bound="Model")


class Extra(Mapping[str, Any]):
    """The fields of an answer that its model does not declare: a read-only mapping.

    (Not ``types.MappingProxyType``: a model must stay picklable.) The values are what the
    JSON held; ``to_dict()`` puts them back among the declared fields.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data) if data else {}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def items(self) -> ItemsView[str, Any]:
        """The fields and their values (the dict's own view: Mapping's reads each key)."""
        return self._data.items()

    def values(self) -> ValuesView[Any]:
        """The values (the dict's own view: Mapping's reads each key)."""
        return self._data.values()

    def __repr__(self) -> str:
        return _EXTRA_REPR.repr(self._data)

    def __reduce__(self) -> tuple[type[Extra], tuple[dict[str, Any]]]:
        return (Extra, (self._data,))


_EXTRA_REPR = reprlib.Repr()
_EXTRA_REPR.maxlevel, _EXTRA_REPR.maxstring, _EXTRA_REPR.maxother = 4, 120, 80
_EXTRA_REPR.maxdict = _EXTRA_REPR.maxlist = 20

NO_EXTRA = Extra()
"""The ``extra`` of a model whose answer had no unknown field (shared: it is read-only)."""


def _extra(cls: type[Model], value: Any) -> Extra:
    """``value`` as a model's ``extra``: a mapping of str keys that are not its fields."""
    if not isinstance(value, Mapping):
        raise TypeError(f"extra must be a mapping, got {type(value).__name__}")
    if not value:
        return NO_EXTRA
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"the keys of extra are field names (str), got {key!r}")
    declared = sorted(declared_fields(cls).intersection(value))
    if declared:
        raise ValueError(
            f"extra holds fields {cls.__name__} declares: {', '.join(declared)}; "
            "pass them as arguments"
        )
    return value if isinstance(value, Extra) else Extra(value)


_DECLARED: dict[type[Any], frozenset[str]] = {}


def declared_fields(cls: type[Model]) -> frozenset[str]:
    """The wire names of the fields ``cls`` declares (``extra`` is not one)."""
    found = _DECLARED.get(cls)
    if found is None:
        found = frozenset(a.name for a in attrs.fields(cls) if a.name != "extra")
        _DECLARED[cls] = found
    return found


@attrs.frozen(repr=False)
class Model:
    """What every response model shares: ``extra``, ``to_dict``, ``to_json``, ``from_dict``.

    ``extra`` holds the fields of the answer that the model does not declare, so a field
    the provider adds is visible before the SDK learns it (``status.extra["seed"]``). It is
    compared by ``==`` but not hashed, and shown by ``repr`` only when it is not empty.
    """

    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, kw_only=True, hash=False)
    """The answer's fields this model does not declare, by wire name (read-only)."""

    def __attrs_post_init__(self) -> None:
        if self.extra is not NO_EXTRA:
            object.__setattr__(self, "extra", _extra(type(self), self.extra))

    def __repr__(self) -> str:
        fields = [a.name for a in attrs.fields(type(self)) if a.name != "extra"]
        parts = [f"{name}={getattr(self, name)!r}" for name in fields]
        if self.extra:
            parts.append(f"extra={self.extra!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """The model as the API would send it: JSON-safe, ``json.dumps`` never fails on it.

        Declared fields by their wire names (None ones included), times as ISO-8601 with
        their offset (a naive time is taken as UTC, as the decoder reads one), tuples as
        lists, nested models as dicts, and the ``extra`` fields beside the declared ones.
        A value JSON cannot hold (only a hand-built model has one) becomes text: a
        non-finite float ``"nan"``/``"inf"``, any other object ``str(value)``, keys
        ``str(key)``; nesting deeper than 100 levels is cut to a short text.
        ``type(m).from_dict(m.to_dict()) == m`` for any model whose values JSON can hold
        (every model read from the API).

        Returns:
            A new dict of JSON types (str, int, float, bool, None, lists, dicts).
        """
        from ._converter import unstructure

        return unstructure(self)

    def to_json(self, **json_kwargs: Any) -> str:
        """The model as a JSON text: ``json.dumps(self.to_dict(), **json_kwargs)``.

        Args:
            **json_kwargs: Passed to ``json.dumps`` (``indent=2``, ``sort_keys=True``...).

        Returns:
            The JSON text; ``from_dict(json.loads(text))`` gives the model back.
        """
        return json.dumps(self.to_dict(), **json_kwargs)

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        """The model back from ``to_dict()`` (or from the API's JSON).

        Read by the decoder's rules (a count may be ``"2"``, a time epoch seconds), so
        JSON you kept from the API reads too; unknown fields are kept in ``extra``.

        Args:
            data: What ``to_dict()`` (or the API's ``data`` object) gave.

        Returns:
            A model of this class.

        Raises:
            InvalidParameterError: The data does not decode (also a ``ValueError``); the
                message names the field: ``data.subscription.end_date: ...``.
        """
        from ._converter import structure

        return structure(cls, data)


def _urls(value: str | Iterable[str]) -> tuple[str, ...]:
    """``image_urls`` as a tuple. A bare string is one URL, never a sequence of characters."""
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    return _items(value)


def _items(value: Iterable[T]) -> tuple[T, ...]:
    """A tuple field from any iterable but a string, bytes or a mapping (which would be
    read character by character, or key by key)."""
    if isinstance(value, (str, bytes, dict)):
        raise TypeError(f"expected a sequence, got {type(value).__name__}")
    return tuple(value)


class _StatusMixin:
    """Shared properties of task status models (a plain mixin: attrs builds the subclasses)."""

    __slots__ = ()

    @property
    def done(self) -> bool:
        """True once the task has ended, in success or failure."""
        return status_outcome(self.status) != "running"  # type: ignore[attr-defined]

    @property
    def succeeded(self) -> bool:
        """True when the task ended with a result."""
        return status_outcome(self.status) == "succeeded"  # type: ignore[attr-defined]

    @property
    def failed(self) -> bool:
        """True when the task ended without a result (failed, cancelled, timeout)."""
        return status_outcome(self.status) == "failed"  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        """The status in a notebook: the result once it succeeded, the error once it
        failed, a one-line status while it runs (``nanobanana._gallery``)."""
        from ._gallery import status_html

        return status_html(self)  # type: ignore[arg-type]


@attrs.frozen(repr=False)
class ImageStatus(_StatusMixin, Model):
    """The state of an image task. ``image_urls`` holds every result, ``image_url`` included.

    That holds for every ``ImageStatus``, a hand-built one too: ``image_url`` missing from
    ``image_urls`` is put first in it, and a missing ``image_url`` is the first of
    ``image_urls``. (So ``to_dict`` and ``from_dict`` give back the same status.)
    """

    task_id: str
    """The task's id."""
    status: str
    """The API's status string (``TaskStatus`` names the known ones); a new one survives."""
    progress: int | None = None
    """Percent done, 0 to 100, when the API says."""
    image_url: str | None = None
    """The first result's URL, once the task succeeded."""
    image_urls: tuple[str, ...] = attrs.field(default=(), converter=_urls)
    """Every result's URL, ``image_url`` first."""
    completed_at: datetime | None = None
    """When the task ended (timezone-aware)."""
    error: str | None = None
    """Why the task failed, when it did and the API says."""

    def __attrs_post_init__(self) -> None:
        url, urls = self.image_url, self.image_urls
        if url is None:
            if urls:
                object.__setattr__(self, "image_url", urls[0])
        elif url not in urls:
            object.__setattr__(self, "image_urls", (url, *urls))
        if self.extra is not NO_EXTRA:  # Model's check, inline: this runs on every poll
            object.__setattr__(self, "extra", _extra(type(self), self.extra))

    @property
    def urls(self) -> tuple[str, ...]:
        """Every result URL (same as ``image_urls``)."""
        return self.image_urls


@attrs.frozen(repr=False)
class VideoStatus(_StatusMixin, Model):
    """The state of a video task."""

    task_id: str
    """The task's id."""
    status: str
    """The API's status string (``TaskStatus`` names the known ones); a new one survives."""
    progress: int | None = None
    """Percent done, 0 to 100, when the API says."""
    video_url: str | None = None
    """The video's URL, once the task succeeded."""
    completed_at: datetime | None = None
    """When the task ended (timezone-aware)."""
    error: str | None = None
    """Why the task failed, when it did and the API says."""

    @property
    def urls(self) -> tuple[str, ...]:
        """Every result URL: the video, when there is one."""
        return (self.video_url,) if self.video_url else ()


@attrs.frozen(repr=False)
class Subscription(Model):
    """The account's plan."""

    plan: str
    """The plan's name, e.g. ``"pro"``."""
    end_date: datetime | None = None
    """When the plan ends (timezone-aware); None when the API gives no date."""


@attrs.frozen(repr=False)
class Credits(Model):
    """The account's balance and subscription."""

    credits: int
    """The balance: what generations can still spend."""
    total_credits: int | None = None
    """The credits the account was given in all, when the API says."""
    subscription: Subscription | None = None
    """The current plan; None without one."""
    is_vip: bool = False
    """Whether the account is a VIP one (False when the API leaves it out)."""


@attrs.frozen(repr=False)
class CostEstimate(Model):
    """What the server says a generation would cost."""

    type: str
    """What was priced: ``"image"`` or ``"video"``."""
    credits_needed: int
    """The credits the generation would cost."""


@attrs.frozen(repr=False)
class ModelInfo(Model):
    """One model of the catalog. ``is_default`` is False when the server leaves it out."""

    id: str
    """The model id to pass as ``model=``, e.g. ``"nano-banana-pro"``."""
    name: str
    """Its display name."""
    is_default: bool = False
    """Whether the server uses it when no model is given."""


@attrs.frozen(repr=False)
class ModelCatalog(Model):
    """Every model the server offers."""

    image_models: tuple[ModelInfo, ...] = attrs.field(default=(), converter=_items)
    """The image models."""
    video_models: tuple[ModelInfo, ...] = attrs.field(default=(), converter=_items)
    """The video models."""


@attrs.frozen(repr=False)
class TaskCreated(Model):
    """The data of a generate response (private: users get a task handle)."""

    task_id: str
    status: str
    credits_used: int | None = None
    credits_remaining: int | None = None
    provider: str | None = None
