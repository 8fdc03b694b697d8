"""The simulator's core: state plus a pure, synchronous request handler.

``Service.handle`` takes a request already read off the wire (method, route or path,
query, headers, body) and returns an ``Outcome``: what to answer, after how much API
time, or which connection failure to play. Front ends (the in-process httpx transport
and the ASGI app) only carry bytes. One ``threading.RLock`` guards the state, so sync
clients, async clients and threads can share one simulator.

Tasks are computed lazily from their start time and drawn duration: no background work.
"""

from __future__ import annotations

import json
import math
import random
import string
import threading
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal, Protocol, TypeAlias

import attrs

from nanobanana import _catalog
from nanobanana._config import key_fingerprint
from nanobanana._exceptions import InvalidParameterError

from . import _media, _pricing
from ._faults import Fault, FaultHandle, FaultSet
from ._records import Account, Charge, RequestRecord, TaskInfo

__all__ = ["ClockLike", "Distribution", "Outcome", "Reply", "Service"]


class ClockLike(Protocol):
    """What the simulator needs of a clock (``nanobanana._clock.Clock`` is one)."""

    def now(self) -> float: ...
    def to_real(self, seconds: float) -> float: ...
    async def asleep(self, seconds: float) -> None: ...
    def sleep(self, seconds: float) -> None: ...


Distribution: TypeAlias = float | tuple[float, float] | Callable[[random.Random], float]
"""A task duration in API seconds: a fixed number, a (low, high) uniform range, or a
callable drawing from the simulator's seeded ``random.Random``."""

DEFAULT_DURATIONS: Mapping[str, Distribution] = {
    "image": (10.0, 20.0),
    "video": (60.0, 300.0),
}

Action = Literal["respond", "connection_refused", "reset_before", "reset_after", "hang"]

API_PREFIX = "/api/v1/"
JSON = "application/json"


@attrs.frozen
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@attrs.frozen
class Outcome:
    """What a front end does: after ``delay`` API seconds, ``action`` (with ``reply``)."""

    action: Action
    reply: Reply | None = None
    delay: float = 0.0


def _json_reply(status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, (("content-type", JSON), *headers), body)


def ok(data: Any) -> Reply:
    return _json_reply(200, {"success": True, "data": data})


def error(status: int, code: str, message: str, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    return _json_reply(
        status, {"success": False, "error": {"code": code, "message": message}}, headers
    )


def _seconds_header(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)

_IMAGE_FIELDS = frozenset(
    {
        "prompt",
        "mode",
        "model",
        "image_url",
        "aspect_ratio",
        "resolution",
        "num_images",
        "quality",
        "output_format",
    }
)
_VIDEO_FIELDS = frozenset(
    {
        "prompt",
        "model_id",
        "aspect_ratio",
        "duration",
        "resolution",
        "image_url",
        "generate_audio",
        "negative_prompt",
    }
)
_COST_FIELDS = frozenset(
    {
        "type",
        "mode",
        "model",
        "num_images",
        "resolution",
        "quality",
        "aspect_ratio",
        "duration",
        "generate_audio",
    }
)
_GENERATE_ROUTES = frozenset({"images/generate", "videos/generate"})
_ROUTE_METHODS: Mapping[str, str] = {
    "images/generate": "POST",
    "images/status": "GET",
    "videos/generate": "POST",
    "videos/status": "GET",
    "account/credits": "GET",
    "account/calculate-cost": "POST",
    "models": "GET",
}

_VIDEO_SIZES: Mapping[str, int] = {"480p": 480, "720p": 720, "1080p": 1080}


class _Refusal(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _refuse(status: int, code: str, message: str) -> _Refusal:
    return _Refusal(error(status, code, message))


_MESSAGE_LIMIT = 300
"""Longest error message echoed back: a huge value in a body must not make a huge answer."""


def _clip(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


def _invalid(exc: InvalidParameterError) -> _Refusal:
    if exc.parameter == "prompt":
        return _refuse(400, "INVALID_PROMPT", "Prompt is empty or invalid")
    if exc.parameter == "model":
        return _refuse(400, "INVALID_MODEL", _clip(f"Invalid model ID: {exc}"))
    return _refuse(400, "INVALID_REQUEST", _clip(str(exc)))


def _known_model(value: Any, table: Mapping[str, Any]) -> str:
    """The body's model id when the tables have it; INVALID_MODEL otherwise."""
    if not isinstance(value, str) or value not in table:
        raise _refuse(400, "INVALID_MODEL", _clip(f"Unknown model ID: {value!r}"))
    return value


def video_size(aspect_ratio: str | None, resolution: str) -> tuple[int, int]:
    short = _VIDEO_SIZES.get(resolution, 720)
    w_text, _, h_text = (aspect_ratio or "16:9").partition(":")
    try:
        w, h = int(w_text), int(h_text)
    except ValueError:
        w, h = 16, 9
    if w >= h:
        return round(short * w / h) // 2 * 2, short
    return short, round(short * h / w) // 2 * 2


@lru_cache(maxsize=32)
def _render(extension: str, width: int, height: int, seed: int, duration: int) -> bytes:
    if extension == "png":
        return _media.png_bytes(width, height, seed)
    if extension == "jpg":
        return _media.jpeg_bytes(width, height, seed)
    return _media.mp4_bytes(width, height, duration, seed)


_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "mp4": "video/mp4"}


class Service:
    """State and handlers of the simulated API. Thread-safe; never does I/O."""

    def __init__(
        self,
        *,
        clock: ClockLike,
        rate_limit: tuple[int, float] | None,
        seed: int | None,
        durations: Mapping[str, Distribution] | None,
        failure_rate: float | Mapping[str, float],
        content_filter: Sequence[str],
        result_ttl: float | None,
        start: datetime | None,
        request_log: int | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.rate_limit = rate_limit
        self.durations: dict[str, Distribution] = {**DEFAULT_DURATIONS, **(durations or {})}
        self.failure_rate = failure_rate
        self.content_filter: tuple[str, ...] = tuple(content_filter)
        self.result_ttl = result_ttl
        self.t0 = clock.now()
        self.epoch = start or datetime.now(timezone.utc).replace(microsecond=0)
        self.faults = FaultSet(seed)
        self._seed = seed
        self._task_rng = random.Random(seed)
        # Ids and keys: reproducible with a seed; otherwise seeded from os.urandom, so two
        # simulators (two runs of `nanobanana --fake`, two processes) never hand out the
        # same task id and a rerun never overwrites the files of an earlier one.
        self._id_rng = random.Random(None if seed is None else seed + 1)
        self.accounts: dict[str, Account] = {}
        self.windows: dict[str, deque[float]] = {}
        self.tasks: dict[str, TaskInfo] = {}
        # ``request_log=N`` keeps the last N records only: a long-running fake (a demo, a
        # benchmark of thousands of tasks) need not hold every request it ever saw.
        self.requests: deque[RequestRecord] = deque(maxlen=request_log)
        self.api_request_count = 0
        self.charges: list[Charge] = []
        self.on_task: Callable[[TaskInfo], None] | None = None
        """Called (under the lock) with every task a generate request creates."""

    # -- time --------------------------------------------------------------------------

    def wall(self, t: float) -> datetime:
        """The UTC date-time a simulated instant stands for."""
        return self.epoch + timedelta(seconds=t - self.t0)

    def _iso(self, t: float) -> str:
        return self.wall(t).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- keys --------------------------------------------------------------------------

    def new_key(self) -> str:
        return "nb_sk_fake_" + _draw_chars(self._id_rng, 24)

    def add_account(self, key: str, account: Account) -> None:
        with self.lock:
            self.accounts[key_fingerprint(key)] = account

    def reset(self) -> None:
        with self.lock:
            self.windows.clear()
            self.tasks.clear()
            self.requests.clear()
            self.api_request_count = 0
            self.charges.clear()
        self.faults.clear()

    # -- the entry points ----------------------------------------------------------------

    def handle_api(
        self,
        method: str,
        host: str,
        route: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        *,
        asset_base: str,
    ) -> Outcome:
        """One API request (``route`` relative to ``/api/v1/``)."""
        now = self.clock.now()
        latency, fault = self.faults.pick(route)
        kind = fault.kind if fault is not None else None
        if kind in (Fault.CONNECTION_REFUSED, Fault.RESET_BEFORE):
            return Outcome(
                "connection_refused" if kind == Fault.CONNECTION_REFUSED else "reset_before",
                None,
                latency,
            )
        parsed = _parse_body(body)
        key_hash = _bearer_hash(headers)
        with self.lock:
            if fault is not None and not fault.processed:
                outcome = _fault_outcome(fault, None, latency)
                processed = False
            else:
                reply = self._api(
                    method, route, query, headers, parsed, body, key_hash, now, asset_base
                )
                outcome = (
                    _fault_outcome(fault, reply, latency)
                    if fault is not None
                    else Outcome("respond", reply, latency)
                )
                processed = True
            self.api_request_count += 1
            self.requests.append(
                RequestRecord(
                    method=method,
                    host=host,
                    path=API_PREFIX + route,
                    route=route,
                    query=dict(query),
                    body=parsed if parsed is not _BAD_JSON else None,
                    time=now,
                    key_hash=key_hash,
                    headers=_redacted(headers),
                    status=outcome.reply.status if outcome.reply is not None else None,
                    fault=kind,
                    processed=processed,
                )
            )
        return outcome

    def handle_asset(
        self,
        method: str,
        host: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> Outcome:
        """One download from the asset host."""
        now = self.clock.now()
        latency, fault = self.faults.pick(None)
        kind = fault.kind if fault is not None else None
        if kind in (Fault.CONNECTION_REFUSED, Fault.RESET_BEFORE):
            return Outcome(
                "connection_refused" if kind == Fault.CONNECTION_REFUSED else "reset_before",
                None,
                latency,
            )
        with self.lock:
            found = self._asset_lookup(method, path, query, now)
        if isinstance(found, Reply):
            reply = found
        else:
            extension, width, height, seed, duration = found
            content = _render(extension, width, height, seed, duration)
            reply = Reply(
                200,
                (
                    ("content-type", _CONTENT_TYPES[extension]),
                    ("content-length", str(len(content))),
                    ("cache-control", "private, max-age=300"),
                ),
                b"" if method == "HEAD" else content,
            )
        outcome = (
            _fault_outcome(fault, reply if fault is None or fault.processed else None, latency)
            if fault is not None
            else Outcome("respond", reply, latency)
        )
        with self.lock:
            self.requests.append(
                RequestRecord(
                    method=method,
                    host=host,
                    path=path,
                    route=None,
                    query=dict(query),
                    body=None,
                    time=now,
                    key_hash=_bearer_hash(headers),
                    headers=_redacted(headers),
                    status=outcome.reply.status if outcome.reply is not None else None,
                    fault=kind,
                )
            )
        return outcome

    # -- API ---------------------------------------------------------------------------

    def _api(
        self,
        method: str,
        route: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        parsed: Any,
        raw: bytes,
        key_hash: str | None,
        now: float,
        asset_base: str,
    ) -> Reply:
        expected = _ROUTE_METHODS.get(route)
        if expected is None:
            return error(404, "NOT_FOUND", f"No such endpoint: /api/v1/{route}")
        if method != expected:
            return error(405, "METHOD_NOT_ALLOWED", f"Use {expected} for /api/v1/{route}")
        account = self.accounts.get(key_hash) if key_hash is not None else None
        if key_hash is None or account is None:
            return error(401, "UNAUTHORIZED", "Missing or invalid API key")
        if account.state == "disabled":
            return error(403, "FORBIDDEN", "API key disabled")
        if account.state == "expired":
            return error(403, "FORBIDDEN", "API key expired")
        limit = account.rate_limit or self.rate_limit
        if limit is not None:
            refused = self._admit(key_hash, limit, now)
            if refused is not None:
                return refused
        if account.state == "missing_scope" and route in _GENERATE_ROUTES:
            return error(403, "FORBIDDEN", "API key lacks required scope: generate")
        try:
            if route == "images/generate":
                return self._image_generate(parsed, account, key_hash, now)
            if route == "videos/generate":
                return self._video_generate(parsed, account, key_hash, now)
            if route == "images/status":
                return self._status("image", query, key_hash, now, asset_base)
            if route == "videos/status":
                return self._status("video", query, key_hash, now, asset_base)
            if route == "account/credits":
                return ok(self._credits(account, now))
            if route == "account/calculate-cost":
                return ok(self._cost(parsed))
            return ok(_models())
        except _Refusal as refusal:
            return refusal.reply

    def _admit(self, key_hash: str, limit: tuple[int, float], now: float) -> Reply | None:
        """The strict sliding window: at most N admitted requests in any W seconds.

        Refused requests do not count. Retry-After: whole seconds until a slot frees.
        """
        n, per = limit
        window = self.windows.setdefault(key_hash, deque())
        while window and window[0] <= now - per:
            window.popleft()
        if len(window) >= n:
            wait = max(1, math.ceil(window[-n] + per - now - 1e-9)) if n > 0 else math.ceil(per)
            return error(
                429,
                "RATE_LIMIT_EXCEEDED",
                f"Too many requests: at most {n} per {per:g} seconds",
                (("retry-after", str(wait)),),
            )
        window.append(now)
        return None

    def _has_plan(self, account: Account, now: float) -> bool:
        plan = account.subscription
        if plan is None:
            return False
        return plan.end_date is None or plan.end_date > self.wall(now)

    def _check_filter(self, *texts: Any) -> None:
        for text in texts:
            if not isinstance(text, str):
                continue
            lowered = text.lower()
            for term in self.content_filter:
                if term.lower() in lowered:
                    raise _refuse(451, "CONTENT_FILTERED", "Content was rejected by safety filters")

    def _charge(self, account: Account, price: int) -> None:
        if account.credits < price:
            raise _refuse(
                402,
                "INSUFFICIENT_CREDITS",
                f"Not enough credits: {price} needed, {account.credits} available",
            )
        account.credits -= price

    def _image_generate(self, body: Any, account: Account, key_hash: str, now: float) -> Reply:
        fields = _object(body, _IMAGE_FIELDS)
        model = _known_model(
            fields.get("model", _catalog.DEFAULT_IMAGE_MODEL), _catalog.IMAGE_MODELS
        )
        params = {k: v for k, v in fields.items() if k not in ("prompt", "model")}
        try:
            # The model goes in even when the body names none: a request without a model
            # is a request for the default one, and its row applies (no 21:9, no 4K).
            checked = _catalog.image_body(fields.get("prompt"), model=model, **params)
        except InvalidParameterError as exc:
            raise _invalid(exc) from None
        spec = _catalog.IMAGE_MODELS[model]
        if spec.subscription_required and not self._has_plan(account, now):
            raise _refuse(403, "FORBIDDEN", f"Model {model} requires an active subscription")
        self._check_filter(checked["prompt"])
        price = _pricing.image_price(
            model,
            mode=checked["mode"],
            resolution=checked.get("resolution"),
            quality=checked.get("quality"),
            num_images=checked.get("num_images"),
        )
        self._charge(account, price)
        task = self._new_task(
            "image",
            model,
            key_hash,
            now,
            price,
            checked,
            outputs=int(checked.get("num_images", 1)),
            extension="jpg" if checked.get("output_format") == "jpeg" else "png",
        )
        self.charges.append(
            Charge(task.task_id, price, key_hash, now, "image", model, _canonical(body))
        )
        return ok(
            {
                "task_id": task.task_id,
                "status": "pending",
                "credits_used": price,
                "credits_remaining": account.credits,
            }
        )

    def _video_generate(self, body: Any, account: Account, key_hash: str, now: float) -> Reply:
        fields = _object(body, _VIDEO_FIELDS)
        model = _known_model(
            fields.get("model_id", _catalog.DEFAULT_VIDEO_MODEL), _catalog.VIDEO_MODELS
        )
        params = {k: v for k, v in fields.items() if k not in ("prompt", "model_id")}
        try:
            # As for images: the default model's row applies when the body names none.
            checked = _catalog.video_body(fields.get("prompt"), model=model, **params)
        except InvalidParameterError as exc:
            raise _invalid(exc) from None
        self._check_filter(checked["prompt"], checked.get("negative_prompt"))
        price = _pricing.video_price(
            model,
            resolution=checked.get("resolution"),
            duration=checked.get("duration"),
            generate_audio=checked.get("generate_audio"),
        )
        self._charge(account, price)
        resolution, duration, audio = _pricing.video_defaults(
            model,
            resolution=checked.get("resolution"),
            duration=checked.get("duration"),
            generate_audio=checked.get("generate_audio"),
        )
        task = self._new_task(
            "video",
            model,
            key_hash,
            now,
            price,
            {**checked, "resolution": resolution, "duration": duration, "generate_audio": audio},
            outputs=1,
            extension="mp4",
        )
        self.charges.append(
            Charge(task.task_id, price, key_hash, now, "video", model, _canonical(body))
        )
        return ok(
            {
                "task_id": task.task_id,
                "status": "processing",
                "credits_used": price,
                "credits_remaining": account.credits,
                "provider": "wavespeed",
            }
        )

    def _draw(self, dist: Distribution) -> float:
        if callable(dist):
            value = float(dist(self._task_rng))
        elif isinstance(dist, tuple):
            low, high = dist
            value = self._task_rng.uniform(float(low), float(high))
        else:
            value = float(dist)
        return max(0.0, value)

    def _failure_rate(self, kind: str, model: str) -> float:
        rate = self.failure_rate
        if isinstance(rate, Mapping):
            return float(rate.get(model, rate.get(kind, 0.0)))
        return float(rate)

    def _new_task(
        self,
        kind: Literal["image", "video"],
        model: str,
        key_hash: str,
        now: float,
        price: int,
        params: Mapping[str, Any],
        *,
        outputs: int,
        extension: str,
    ) -> TaskInfo:
        duration = self._draw(self.durations.get(model, self.durations[kind]))
        rate = self._failure_rate(kind, model)
        fails = rate > 0 and self._task_rng.random() < rate
        final_progress = 100
        if fails:
            share = self._task_rng.uniform(0.3, 1.0)
            duration *= share
            final_progress = min(99, int(100 * share))
        task_id = self._new_id()
        token = _draw_chars(self._id_rng, 16)
        task = TaskInfo(
            task_id=task_id,
            kind=kind,
            model=model,
            key_hash=key_hash,
            created=now,
            duration=duration,
            fails=fails,
            error=(
                "Generation failed: the provider returned an error (simulated)" if fails else None
            ),
            credits=price,
            params=dict(params),
            outputs=outputs,
            extension=extension,
            token=token,
            final_progress=final_progress,
        )
        self.tasks[task_id] = task
        if self.on_task is not None:
            self.on_task(task)
        return task

    def _new_id(self) -> str:
        """A task id unknown to this simulator (a seeded one may have loaded a state file
        written by a run with the same seed)."""
        while True:
            task_id = "clx" + _draw_chars(self._id_rng, 22)
            if task_id not in self.tasks:
                return task_id

    def asset_urls(self, task: TaskInfo, asset_base: str) -> list[str]:
        expires = ""
        if self.result_ttl is not None:
            expires = f"&expires={int(self.wall(task.ends + self.result_ttl).timestamp())}"
        return [
            f"{asset_base}/files/{task.task_id}-{i}.{task.extension}?token={task.token}{expires}"
            for i in range(task.outputs)
        ]

    def _status(
        self,
        kind: Literal["image", "video"],
        query: Mapping[str, str],
        key_hash: str,
        now: float,
        asset_base: str,
    ) -> Reply:
        task_id = query.get("task_id")
        if not task_id:
            raise _refuse(400, "INVALID_REQUEST", "task_id is required")
        task = self.tasks.get(task_id)
        if task is None or task.kind != kind or task.key_hash != key_hash:
            raise _refuse(404, "TASK_NOT_FOUND", "Generation task does not exist")
        return ok(self.status_data(task, now, asset_base))

    def status_data(self, task: TaskInfo, now: float, asset_base: str) -> dict[str, Any]:
        url_key = "image_url" if task.kind == "image" else "video_url"
        if now < task.ends:
            elapsed = max(0.0, now - task.created)
            progress = min(99, int(100 * elapsed / task.duration)) if task.duration > 0 else 99
            return {
                "task_id": task.task_id,
                "status": "pending" if task.kind == "image" else "processing",
                "progress": progress,
                url_key: None,
                "completed_at": None,
            }
        if task.fails:
            return {
                "task_id": task.task_id,
                "status": "failed",
                "progress": task.final_progress,
                url_key: None,
                "completed_at": self._iso(task.ends),
                "error": task.error,
            }
        urls = self.asset_urls(task, asset_base)
        data: dict[str, Any] = {
            "task_id": task.task_id,
            "status": "completed" if task.kind == "image" else "succeeded",
            "progress": 100,
            url_key: urls[0],
            "completed_at": self._iso(task.ends),
        }
        if len(urls) > 1:
            data["image_urls"] = urls
        return data

    def _credits(self, account: Account, now: float) -> dict[str, Any]:
        plan = account.subscription
        return {
            "credits": account.credits,
            "total_credits": account.total_credits,
            "subscription": None
            if plan is None
            else {
                "plan": plan.plan,
                "end_date": None
                if plan.end_date is None
                else plan.end_date.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "is_vip": account.is_vip,
        }

    def _cost(self, body: Any) -> dict[str, Any]:
        fields = _object(body, _COST_FIELDS)
        kind = fields.get("type")
        if kind not in _catalog.COST_TYPES:
            raise _refuse(400, "INVALID_REQUEST", "type must be 'image' or 'video'")
        if kind == "image":
            model = _known_model(
                fields.get("model", _catalog.DEFAULT_IMAGE_MODEL), _catalog.IMAGE_MODELS
            )
        else:
            model = _known_model(
                fields.get("model", _catalog.DEFAULT_VIDEO_MODEL), _catalog.VIDEO_MODELS
            )
        params = {k: v for k, v in fields.items() if k not in ("type", "model")}
        try:
            checked = _catalog.cost_body(kind, model=model, **params)
        except InvalidParameterError as exc:
            raise _invalid(exc) from None
        if kind == "image":
            price = _pricing.image_price(
                model,
                mode=checked.get("mode", "text"),
                resolution=checked.get("resolution"),
                quality=checked.get("quality"),
                num_images=checked.get("num_images"),
            )
        else:
            price = _pricing.video_price(
                model,
                resolution=checked.get("resolution"),
                duration=checked.get("duration"),
                generate_audio=checked.get("generate_audio"),
            )
        return {"type": kind, "credits_needed": price}

    # -- assets ------------------------------------------------------------------------

    def _asset_lookup(
        self, method: str, path: str, query: Mapping[str, str], now: float
    ) -> Reply | tuple[str, int, int, int, int]:
        if method not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed")
        parts = path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "files":
            return _text(404, "Not Found")
        stem, _, extension = parts[1].partition(".")
        task_id, _, name = stem.rpartition("-")
        task = self.tasks.get(task_id)
        if (
            task is None
            or not (name.isascii() and name.isdigit())
            or int(name) >= task.outputs
            or extension != task.extension
            or query.get("token") != task.token
            or now < task.ends
            or task.fails
        ):
            return _text(404, "Not Found")
        if self.result_ttl is not None and now > task.ends + self.result_ttl:
            return Reply(
                403,
                (("content-type", "application/xml"),),
                b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                b"<Message>Request has expired</Message></Error>",
            )
        seed = zlib.crc32(task.task_id.encode()) + int(name)
        if task.kind == "image":
            width, height = _media.image_size(
                task.params.get("aspect_ratio"), task.params.get("resolution")
            )
            return extension, width, height, seed % 997, 0
        width, height = video_size(task.params.get("aspect_ratio"), str(task.params["resolution"]))
        return extension, width, height, seed % 997, int(task.params["duration"])

    # -- ledger ------------------------------------------------------------------------

    def double_charges(self, window: float) -> list[Charge]:
        with self.lock:
            charges = list(self.charges)
        seen: dict[tuple[str, str], float] = {}
        doubles: list[Charge] = []
        for charge in charges:
            key = (charge.key_hash, charge.request)
            last = seen.get(key)
            if last is not None and charge.time - last <= window:
                doubles.append(charge)
            seen[key] = charge.time
        return doubles


# -- helpers ---------------------------------------------------------------------------

_BAD_JSON: Any = object()


def _parse_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # ValueError covers bad UTF-8 and huge integers
        return _BAD_JSON


def _object(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if body is _BAD_JSON:
        raise _refuse(400, "INVALID_REQUEST", "The request body is not valid JSON")
    if not isinstance(body, dict):
        raise _refuse(400, "INVALID_REQUEST", "The request body must be a JSON object")
    fields: dict[str, Any] = dict(body)  # pyright: ignore[reportUnknownArgumentType]
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise _refuse(400, "INVALID_REQUEST", f"Unknown field(s): {', '.join(unknown)}")
    return {k: v for k, v in fields.items() if v is not None}


_ID_ALPHABET = string.ascii_lowercase + string.digits


def _draw_chars(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(n))


def _canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _bearer_hash(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return key_fingerprint(token.strip())


def _redacted(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        k.lower(): ("<redacted>" if k.lower() == "authorization" else v) for k, v in headers.items()
    }


def _text(status: int, text: str) -> Reply:
    return Reply(status, (("content-type", "text/plain; charset=utf-8"),), text.encode())


def _models() -> dict[str, Any]:
    def entry(model_id: str, name: str, default: str) -> dict[str, Any]:
        item: dict[str, Any] = {"id": model_id, "name": name}
        if model_id == default:
            item["is_default"] = True
        return item

    return {
        "image_models": [
            entry(s.id, s.name, _catalog.DEFAULT_IMAGE_MODEL)
            for s in _catalog.IMAGE_MODELS.values()
        ],
        "video_models": [
            entry(s.id, s.name, _catalog.DEFAULT_VIDEO_MODEL)
            for s in _catalog.VIDEO_MODELS.values()
        ],
    }


def _fault_outcome(fault: FaultHandle, reply: Reply | None, latency: float) -> Outcome:
    """The answer an acting fault gives; ``reply`` is the real one when it was processed."""
    kind = fault.kind
    if kind == Fault.RESET_AFTER:
        return Outcome("reset_after", None, latency)
    if kind == Fault.READ_TIMEOUT:
        return Outcome("hang", None, latency)
    if kind == Fault.HTTP_500:
        return Outcome(
            "respond",
            error(500, "INTERNAL_ERROR", "Server error, please retry (simulated)"),
            latency,
        )
    if kind == Fault.HTTP_502_HTML:
        return Outcome("respond", Reply(502, (("content-type", "text/html"),), _HTML_502), latency)
    if kind == Fault.HTTP_503:
        headers: tuple[tuple[str, str], ...] = ()
        if fault.retry_after is not None:
            headers = (("retry-after", _seconds_header(fault.retry_after)),)
        return Outcome(
            "respond",
            error(
                503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable (simulated)", headers
            ),
            latency,
        )
    if kind == Fault.HTTP_429:
        headers = ()
        if fault.retry_after is not None:
            headers = (("retry-after", _seconds_header(fault.retry_after)),)
        return Outcome(
            "respond",
            error(429, "RATE_LIMIT_EXCEEDED", "Too many requests per minute (simulated)", headers),
            latency,
        )
    # malformed JSON: a 200 whose body is cut short
    full = reply.body if reply is not None else b'{"success":true,"data":{"task_id":"clx'
    return Outcome(
        "respond", Reply(200, (("content-type", JSON),), full[: max(1, len(full) // 2)]), latency
    )
