"""The command line's request flags are the schema's fields: same name in every command,
choices from the Literal types, bools as --x/--no-x, the field's doc as help."""

from __future__ import annotations

import argparse
import typing
from pathlib import Path
from typing import Any

import attrs
import pytest

import nanobanana as nb
from nanobanana._cli import main
from nanobanana._cli._parser import build_parser
from nanobanana._requests import CostRequest, doc

COMMANDS: list[tuple[str, tuple[type[Any], ...]]] = [
    ("image", (nb.ImageRequest,)),
    ("video", (nb.VideoRequest,)),
    ("batch", (nb.ImageRequest, nb.VideoRequest)),
    ("cost", (CostRequest,)),
]


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = sub.choices[command]
    return found


def _values(annotation: Any) -> set[Any]:
    """Every Literal value in a field's type (empty for an open str/int/bool)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return set(args)
    return {v for a in args for v in _values(a)}


def _is_open(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    return annotation in (str, int) or any(_is_open(a) for a in args)


@pytest.mark.parametrize(("command", "schemas"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_every_request_field_is_a_flag_of_the_same_name(
    command: str, schemas: tuple[type[Any], ...]
) -> None:
    actions = {a.dest: a for a in _subparser(command)._actions}
    for schema in schemas:
        hints = typing.get_type_hints(schema)
        for field in attrs.fields(schema):
            if not field.kw_only:
                continue  # the prompt / the type: the command's positional argument
            action = actions[field.name]
            spelling = "--" + field.name.replace("_", "-")
            assert spelling in action.option_strings, (command, field.name)
            assert doc(field) in (action.help or "")
            annotation = hints[field.name]
            if typing.get_args(annotation) and bool in typing.get_args(annotation):
                assert isinstance(action, argparse.BooleanOptionalAction)
                assert "--no-" + spelling[2:] in action.option_strings
            elif _is_open(annotation):
                assert action.choices is None  # a model id stays open
            else:
                assert set(action.choices or ()) >= _values(annotation)
            assert action.default is None  # unset: not sent


@pytest.mark.parametrize(("command", "schemas"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_no_request_flag_outside_the_schema(command: str, schemas: tuple[type[Any], ...]) -> None:
    fields = {f.name for s in schemas for f in attrs.fields(s) if f.kw_only}
    # the group that holds the request's flags (the one with --model)
    group = next(
        g
        for g in _subparser(command)._action_groups
        if "model" in {a.dest for a in g._group_actions}
    )
    assert {a.dest for a in group._group_actions} == fields
    options = {o for a in _subparser(command)._actions for o in a.option_strings}
    assert not {"--video-model", "--video-resolution", "--audio", "--no-audio"} & options


def test_the_video_model_is_model_everywhere() -> None:
    for command in ("video", "batch", "cost"):
        assert "--model" in _subparser(command)._option_string_actions


def test_flags_reach_the_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--fake",
            "--json",
            "video",
            "A cat walking",
            "--model",
            "veo-3.1",
            "--aspect-ratio",
            "9:16",
            "--duration",
            "4",
            "--no-generate-audio",
            "--no-wait",
        ]
    )
    assert code == 0
    assert '"task_id"' in capsys.readouterr().out
    # a choice outside the Literal is refused by the parser (exit 2, nothing sent)
    assert main(["--fake", "image", "x", "--aspect-ratio", "banana"]) == 2


def test_a_batch_refuses_a_flag_of_the_other_kind(tmp_path: Path) -> None:
    file = tmp_path / "prompts.txt"
    file.write_text("a lighthouse\n")
    assert main(["--fake", "batch", str(file), "--no-download", "--duration", "4"]) == 2
    code = main(
        ["--fake", "batch", str(file), "--kind", "video", "--no-download", "--duration", "4"]
    )
    assert code == 0
