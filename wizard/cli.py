"""`python -m wizard …`: the same stage functions the UI calls, one subcommand each.

Every user error is a `WizardError`: printed as one line on stderr, exit status 2. Anything else is
a bug: one line too (set WIZARD_DEBUG=1 for the traceback), exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from runtime.comfy_api import COMFY_API_KEY_SECRET
from wizard.app_contract import ACCEL_MEASURED
from wizard.errors import SpecError, WizardError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except WizardError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: still one line, the traceback only on request
        if os.environ.get("WIZARD_DEBUG"):
            traceback.print_exc()
        print(
            f"internal error: {type(error).__name__}: {error} (set WIZARD_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wizard", description="Turn a ComfyUI workflow into a Gradio Space."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_workflow_commands(commands)
    _add_space_commands(commands)
    return parser


def _command(commands, name: str, handler, help_text: str) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help_text, description=help_text)
    command.set_defaults(handler=handler)
    return command


def _add_workflow_args(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "file", type=Path, help="workflow JSON, or an image/video/audio file saved by ComfyUI"
    )
    command.add_argument(
        "--live",
        action="store_true",
        help="read node definitions from the installed ComfyUI (custom nodes included) "
        "instead of the bundled ComfyUI 0.3.64 snapshot",
    )
    command.add_argument(
        "--node-defs",
        type=Path,
        action="append",
        default=[],
        metavar="OBJECT_INFO_JSON",
        help="an /object_info JSON (e.g. saved from a ComfyUI server with the workflow's packs) whose "
        "node classes missing from the other definitions are added; may be repeated",
    )
    command.add_argument(
        "--offline",
        action="store_true",
        help="no registry or git access: custom-node packs only from the cache "
        "(~/.cache/comfyui-space-wizard); the packs it lacks are named",
    )
    command.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="PACK=COMMIT",
        help="pin a custom-node pack (registry id, OWNER/REPO or repo name) to a git commit",
    )
    command.add_argument(
        "--pack",
        action="append",
        default=[],
        metavar="CLASS=OWNER/REPO",
        help="the pack that provides a node class several packs define",
    )


NOT_ASKED = "the Hub was not asked (pass --online to ask it)"
ONLINE_HELP = (
    "ask the Hub about the model files: search it for unresolved ones, read their sizes and gated status "
    "(else they are 'not checked')"
)


def _add_workflow_commands(commands) -> None:
    """The commands that read a workflow: convert, inspect, spec, build."""
    convert = _command(
        commands, "convert", _convert, "Print the API prompt ComfyUI would run for a workflow."
    )
    _add_workflow_args(convert)

    inspect = _command(
        commands,
        "inspect",
        _inspect,
        "Report a workflow's nodes, candidate inputs, outputs, models and custom nodes.",
    )
    _add_workflow_args(inspect)
    inspect.add_argument("--json", action="store_true", help="print the report as JSON")
    inspect.add_argument("--online", action="store_true", help=ONLINE_HELP)

    spec = _command(
        commands, "spec", _spec, "Write an editable AppSpec (the app's inputs and outputs) for a workflow."
    )
    _add_workflow_args(spec)
    spec.add_argument("--auto", action="store_true", help="choose the inputs a user would keep (default)")
    spec.add_argument("-o", "--output", type=Path, required=True, help="where to write the spec JSON")
    spec.add_argument("--online", action="store_true", help=ONLINE_HELP)

    build = _command(
        commands, "build", _build, "Generate the Space folder (app.py, README.md, requirements.txt, ...)."
    )
    _add_workflow_args(build)
    choice = build.add_mutually_exclusive_group()
    choice.add_argument("--spec", type=Path, help="an AppSpec JSON written by `spec` (and edited)")
    choice.add_argument("--auto", action="store_true", help="choose the inputs automatically (default)")
    build.add_argument("-o", "--output", type=Path, required=True, help="the folder to write")
    build.add_argument(
        "--no-accel",
        action="store_true",
        help="run the diffusion model eager (default: compiled at start for the workflow's shapes; "
        + ACCEL_MEASURED
        + ")",
    )


def _add_space_commands(commands) -> None:
    """The commands that take a built Space folder: run, publish."""
    run = _command(
        commands,
        "run",
        _run,
        "Run a built app's generate function headless and write its outputs; with --space, on ZeroGPU "
        "as a private Space in your account.",
    )
    run.add_argument("app_dir", type=Path, help="a folder written by `build`")
    run.add_argument(
        "--input", action="append", default=[], metavar="NAME=VALUE", help="an input by its parameter name"
    )
    run.add_argument("-o", "--output", type=Path, required=True, help="where to write the outputs")
    run.add_argument(
        "--space",
        metavar="[USER/]NAME",
        help="publish the build as this PRIVATE ZeroGPU Space, wait until it runs and call it there",
    )
    run.add_argument(
        "--token", help="with --space: a Hugging Face token (default: HF_TOKEN, else the saved login)"
    )
    run.add_argument(
        "--timeout", type=float, default=1800, metavar="SECONDS", help="with --space: how long to wait for it"
    )

    publish = _command(commands, "publish", _publish, "Create or update a ZeroGPU Space from a built folder.")
    publish.add_argument("app_dir", type=Path, help="a folder written by `build`")
    publish.add_argument(
        "--space", required=True, metavar="[USER/]NAME", help="the Space to create or update"
    )
    publish.add_argument("--private", action="store_true", help="create the Space private")
    publish.add_argument(
        "--force",
        action="store_true",
        help="update an existing Space the wizard did not make (its files outside what the wizard writes stay)",
    )
    publish.add_argument("--token", help="a Hugging Face token (default: HF_TOKEN, else the saved login)")
    publish.add_argument(
        "--comfy-api-key",
        default=os.environ.get(COMFY_API_KEY_SECRET),
        help=f"a Comfy API key for workflows with paid API nodes, stored as the Space's {COMFY_API_KEY_SECRET} "
        f"secret (default: the {COMFY_API_KEY_SECRET} environment variable)",
    )


def _read(args: argparse.Namespace):
    """The workflow file named on the command line, the node definitions to convert it with, and how
    to get its custom-node packs."""
    from wizard.ingest import load_path
    from wizard.nodedefs import NodeDefs, read_object_info
    from wizard.packs import PackOptions, parse_choices, parse_pins

    options = PackOptions(
        pins=parse_pins(args.pin),
        choices=parse_choices(args.pack),
        offline=args.offline,
        definitions=not args.live,  # the installed ComfyUI defines its packs' nodes itself
        progress=lambda line: print(line, file=sys.stderr),
    )
    node_defs = NodeDefs.live() if args.live else NodeDefs.snapshot()
    for path in args.node_defs:  # new classes only: known ones keep the definitions that name model folders
        extra = {name: entry for name, entry in read_object_info(path).items() if name not in node_defs}
        node_defs = node_defs.with_extra(extra, source=path.name)
    return load_path(args.file), node_defs, options


def _load(args: argparse.Namespace):
    """(the workflow file named on the command line, its conversion with its packs' definitions);
    the warnings printed."""
    from wizard.packs import convert_with_packs

    loaded, node_defs, options = _read(args)
    packed = convert_with_packs(loaded, node_defs, options)
    _print_warnings(packed.setup.messages(args.offline), packed.conversion)
    return loaded, packed


def _print_warnings(pack_messages, conversion) -> None:
    for warning in (*pack_messages, *conversion.warnings):
        print(f"warning: {warning}", file=sys.stderr)


def _print_json(value) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _convert(args: argparse.Namespace) -> int:
    _, packed = _load(args)
    _print_json(packed.conversion.prompt)
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from wizard.analyze import analyze
    from wizard.resolve import ModelsReport, check_models

    _, packed = _load(args)
    analysis = analyze(packed.conversion, packed.node_defs)
    checked = check_models(analysis.models, online=args.online, not_asked=NOT_ASKED)
    analysis = replace(analysis, models=checked.models, custom_nodes=packed.setup.packs)
    report = ModelsReport.of(checked.models, checked.statuses)
    if args.json:
        _print_json({**analysis.to_report(), "models_check": report.to_dict()})
    else:
        print(analysis.summary())
        print("\n".join(report.lines()))
    return 0


def _spec(args: argparse.Namespace) -> int:
    from wizard import session as sessions

    session = _open(args)
    if args.online:
        session = sessions.with_checked_models(session, token=None)
    print("\n".join(sessions.models_report(session, NOT_ASKED).lines()), file=sys.stderr)
    session.spec.save(args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _build(args: argparse.Namespace) -> int:
    from wizard import session as sessions

    session = _open(args)
    if args.spec:
        try:
            spec_json = args.spec.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SpecError(f"cannot read the spec {str(args.spec)!r}: {error}") from None
        session = sessions.with_imported_spec(session, spec_json)
        session = _spec_pins(session, args)
    if args.no_accel:
        session = sessions.with_acceleration(session, False)
    sessions.build(session, args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    print(f"acceleration: {'on' if session.spec.accelerate else 'off'} ({ACCEL_MEASURED})", file=sys.stderr)
    return 0


def _open(args: argparse.Namespace):
    """The wizard's session for the workflow named on the command line; its pack warnings printed."""
    from wizard import session as sessions

    loaded, packed = _load(args)
    return sessions.open_converted(loaded, packed, offline=args.offline)


def _spec_pins(session, args: argparse.Namespace):
    """A commit written into an imported spec stands (checked, its requirements read), unless --pin
    says otherwise; the packs it does not pin keep today's pins."""
    from dataclasses import replace

    from wizard.packs import parse_pins, pin_packs

    spec = session.spec
    edited = {pack.pack.lower(): pack.commit for pack in spec.custom_nodes if pack.pack and pack.commit}
    pinned = pin_packs(
        session.analysis.custom_nodes,
        pins={**edited, **parse_pins(args.pin)},
        offline=args.offline,
        progress=lambda line: print(line, file=sys.stderr),
    )
    for warning in pinned.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    spec = replace(spec, custom_nodes=pinned.packs)
    spec.check(session.conversion)
    return replace(session, spec=spec)


def _run(args: argparse.Namespace) -> int:
    from wizard.testrun import run_app

    inputs = {}
    for item in args.input:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise WizardError(f"--input needs NAME=VALUE, got {item!r}")
        inputs[name] = value
    if args.space:
        return _run_on_space(args, inputs)
    if args.token:
        raise WizardError("--token is for --space: a local run needs no token")
    result = run_app(args.app_dir, inputs, args.output)
    for path in result.files:
        print(path)
    print(f"ran in {result.seconds:.2f} s", file=sys.stderr)
    return 0


def _run_on_space(args: argparse.Namespace, inputs: dict[str, str]) -> int:
    from wizard.space_run import SpaceStageError, run_on_space

    def progress(fraction, desc=None) -> None:
        if desc:
            print(desc, file=sys.stderr, flush=True)

    try:
        result = run_on_space(
            args.app_dir,
            space=args.space,
            inputs=inputs,
            out_dir=args.output,
            token=args.token,
            timeout_s=args.timeout,
            progress=progress,
            log=lambda line: print(f"  | {line}", file=sys.stderr, flush=True),
        )
    except SpaceStageError as error:
        print(f"last log lines of {error.repo_id} ({error.stage}):", file=sys.stderr)
        for line in error.log_tail:
            print(f"  | {line}", file=sys.stderr)
        raise
    for path in result.files:
        print(path)
    print(
        f"ran on {result.repo_id} (private) in {result.request_seconds:.2f} s; ask ZeroGPU for "
        f"{result.recommended_duration} s per request (written to {args.app_dir / 'appspec.json'}; rebuild "
        "with --spec to apply it)",
        file=sys.stderr,
    )
    return 0


def _publish(args: argparse.Namespace) -> int:
    from wizard.publish import publish_folder

    api_nodes = _api_nodes_of(args.app_dir)
    if api_nodes and not args.comfy_api_key:
        print(
            f"warning: this app runs paid API nodes ({', '.join(api_nodes)}) and no Comfy API key was given: "
            f"set {COMFY_API_KEY_SECRET} or pass --comfy-api-key, or add the secret in the Space's settings",
            file=sys.stderr,
        )
    result = publish_folder(
        args.app_dir,
        space=args.space,
        private=args.private,
        token=args.token,
        comfy_api_key=args.comfy_api_key if api_nodes else None,
        force=args.force,
    )
    print(result.url)
    return 0


def _api_nodes_of(app_dir: Path) -> list[str]:
    """The paid API nodes a built app's appspec.json names (none when it cannot be read: publish says why)."""
    try:
        return list(json.loads((app_dir / "appspec.json").read_text(encoding="utf-8")).get("api_nodes", []))
    except (OSError, ValueError, AttributeError):
        return []
