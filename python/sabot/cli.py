"""The ``sabot`` command (Faust's CLI):

    sabot -A myapp:app worker [-c N] [-b URL] [-l LEVEL]   (also: sabot worker -A ...)
    sabot -A myapp:app agents | topics | tables
    sabot -A myapp:app send TOPIC VALUE [--key K]
    sabot version

A bad -A exits with code 1 and one line saying what is wrong.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import List, Optional

import orjson

COMMANDS = ("worker", "agents", "topics", "tables", "send", "version")


class CliError(Exception):
    """An error shown as one line, exit code 1."""


def load_app(spec: Optional[str]):
    """Imports 'module:attribute' (the current directory is importable) and checks that
    it is an App."""
    from .app import App

    if not spec:
        raise CliError("missing -A/--app: name the application as module:attribute, "
                       "e.g. -A myapp:app")
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise CliError(f"-A '{spec}' is not of the form module:attribute (e.g. myapp:app)")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any import failure is reported the same way
        raise CliError(f"cannot import module '{module_name}': "
                       f"{type(error).__name__}: {error}") from None
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise CliError(f"module '{module_name}' has no attribute '{attribute}'") from None
    if not isinstance(app, App):
        raise CliError(f"'{spec}' is a {type(app).__name__}, not a sabot App "
                       f"(create one with sb.App('name'))")
    return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sabot", description="Sabot stream processing")
    parser.add_argument("-A", "--app", help="the application, as module:attribute")
    parser.add_argument("-l", "--loglevel", default=None,
                        help="log level: debug, info, warning, error (default info)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    worker = sub.add_parser("worker", help="run the app's agents")
    worker.add_argument("-A", "--app", dest="sub_app", help="the application, as module:attribute")
    worker.add_argument("-c", "--concurrency", type=int, default=None,
                        help="instances of every agent (default: as declared)")
    worker.add_argument("-b", "--broker", default=None,
                        help="broker URL, overriding the app's: memory:// or kafka://host:port")
    worker.add_argument("-l", "--loglevel", dest="sub_loglevel", default=None)
    for name, text in (("agents", "list the agents"), ("topics", "list the topics"),
                       ("tables", "list the tables")):
        command = sub.add_parser(name, help=text)
        command.add_argument("-A", "--app", dest="sub_app")
    send = sub.add_parser("send", help="send one message to a topic")
    send.add_argument("-A", "--app", dest="sub_app")
    send.add_argument("topic")
    send.add_argument("value", help="the value; JSON for a json topic")
    send.add_argument("--key", default=None)
    send.add_argument("--partition", type=int, default=None)
    sub.add_parser("version", help="print the version")
    return parser


def _print_rows(title: str, columns: List[str], rows: List[List[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[str(cell) for cell in row])
    Console().print(table)


def _parse_value(topic, text: str):
    if topic.value_serializer.name in ("json", "msgpack"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return text.encode()


def run(argv: List[str]) -> int:
    args = _parser().parse_args(argv)
    command = args.command
    if command is None:
        raise CliError(f"missing command; use one of {', '.join(COMMANDS)}")
    if command == "version":
        from . import __version__
        print(f"sabot {__version__}")
        return 0
    level = getattr(args, "sub_loglevel", None) or args.loglevel or "info"
    if not isinstance(getattr(logging, level.upper(), None), int):
        raise CliError(f"unknown log level '{level}'; use debug, info, warning or error")
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = load_app(getattr(args, "sub_app", None) or args.app)
    if command == "worker":
        if args.broker:
            try:
                app.set_broker(args.broker)
            except ValueError as error:
                raise CliError(f"-b {args.broker}: {error}") from None
        if args.concurrency is not None:
            if args.concurrency < 1:
                raise CliError(f"-c must be at least 1, got {args.concurrency}")
            for agent in app.agents.values():
                agent.concurrency = args.concurrency
        app.run()
        return 0
    if command == "agents":
        _print_rows(f"Agents of {app.id}", ["name", "topic", "concurrency", "sinks"],
                    [[a.name, a.topic.name, a.concurrency,
                      ", ".join(getattr(s, "name", repr(s)) for s in a.sinks)]
                     for a in app.agents.values()])
    elif command == "topics":
        _print_rows(f"Topics of {app.id}", ["name", "partitions", "key", "value"],
                    [[t.name, t.partitions, t.key_serializer.name, t.value_serializer.name]
                     for t in app.topics.values()])
    elif command == "tables":
        _print_rows(f"Tables of {app.id}", ["name", "partitions", "default", "keys"],
                    [[t.name, t.partitions, getattr(t.default, "__name__", t.default), len(t)]
                     for t in app.tables.values()])
    elif command == "send":
        if args.topic not in app.topics:
            raise CliError(f"app {app.id} has no topic '{args.topic}'; its topics: "
                           f"{', '.join(sorted(app.topics)) or 'none'}")
        topic = app.topics[args.topic]
        metadata = topic.send_sync(value=_parse_value(topic, args.value), key=args.key,
                                   partition=args.partition)
        print(f"sent to {metadata.topic} partition {metadata.partition} "
              f"offset {metadata.offset}")
    return 0


def main(argv: Optional[List[str]] = None) -> None:
    try:
        code = run(sys.argv[1:] if argv is None else argv)
    except CliError as error:
        print(f"sabot: error: {error}", file=sys.stderr)
        code = 1
    sys.exit(code)
