"""A command group that imports a command's module only when that command runs.

``seamline --help``, a typo and shell completion need each command's name and help line,
not SQLAlchemy, FastAPI or scikit-learn; the command table says where each one lives.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo


class LazyCommand(NamedTuple):
    """Where a command lives (a Typer app or a command function) and its help for the listing."""

    module: str
    attr: str
    help: str  # the first paragraph of the command's own help; tests/cli keeps them equal


class _Listed(TyperCommand):
    """Stands in for a command not imported yet: enough for help, completion and suggestions."""

    # ``ctx: Any``: Typer runs on its own vendored click, whose Context has no public name.
    def invoke(self, ctx: Any) -> Any:
        # Running goes through LazyGroup.resolve_command, which swaps in the real command;
        # reaching this would be a silent no-op, so say so instead.
        raise RuntimeError(f"{self.name!r} is only listed; resolve it through its group to run it")


class LazyGroup(TyperGroup):
    """A Typer group whose ``lazy`` table names commands imported on first use."""

    lazy: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, entry in self.lazy.items():
            self.commands.setdefault(name, _Listed(name=name, help=entry.help))

    def resolve_command(
        self, ctx: Any, args: list[str],
    ) -> tuple[str | None, Any, list[str]]:
        # Click resolves a command here before it parses the command's arguments (to run it,
        # to show its own --help, or to complete them), so this is the one place to import it.
        if args and isinstance(self.commands.get(args[0]), _Listed):
            self.commands[args[0]] = self._load(args[0])
        return super().resolve_command(ctx, args)

    def _load(self, name: str) -> TyperCommand | TyperGroup:
        entry = self.lazy[name]
        target = getattr(importlib.import_module(entry.module), entry.attr)
        # What app.add_typer(target, name=name) / app.command(name)(target) would have built;
        # pretty_exceptions_short=True is Typer's default, which the root app keeps.
        if isinstance(target, typer.Typer):
            return get_group_from_info(
                TyperInfo(target, name=name), pretty_exceptions_short=True,
                suggest_commands=self.suggest_commands, rich_markup_mode=self.rich_markup_mode,
            )
        command = get_command_from_info(
            CommandInfo(name=name, callback=target), pretty_exceptions_short=True,
            rich_markup_mode=self.rich_markup_mode,
        )
        assert isinstance(command, TyperCommand)
        return command
