"""apcu-flush: clear APCu or reset OPcache on an Auto Scaling group, and wait for the verdict if
asked.

    apcu-flush clear web-prod --wait
    apcu-flush clear web-prod --prefix config: --comment "release 2026.11.29" --wait
    apcu-flush clear web-prod --action reset-opcache --wait
    apcu-flush status 5f1e0c1a-1b2c-4d3e-8f4a-0123456789ab --wait
    apcu-flush retry 5f1e0c1a-1b2c-4d3e-8f4a-0123456789ab --wait

`retry` sends a judged clear again to the instances its verdict left stale that are still
InService (same action and prefix), without clearing the whole group again: a clear of its own,
whose id the API answers, and whose verdict --wait waits for.

The API URL is --api-url, else the ApiUrl output of --stack, else the environment variable
APCU_FLUSH_API_URL.

Exit codes: 0 verdict ok (or accepted, without --wait); 1 the verdict is an alert; 2 the API
refused the request, or the call must be fixed (no API URL, a malformed one, no region);
3 --wait timed out; 4 credentials, network, server error, or throttled up to --timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from apcu_flush import __version__, aws, render, throttle
from apcu_flush.api import FlushApi, Reply, flush_url
from apcu_flush.exits import CliError, Exit
from apcu_flush.terminal import Progress
from apcu_flush.wait import Waiting, failed, refusal, wait_for_verdict

# The request's actions (the dispatcher's apcu_dispatcher.validation.ACTIONS).
ACTIONS = ("clear-apcu", "reset-opcache", "clear-all")
DEFAULT_ACTION = "clear-apcu"
RESET_OPCACHE = "reset-opcache"
# The dispatcher's refusal, word for word (apcu_dispatcher.validation.PREFIX_WITH_OPCACHE),
# said before anything is signed or sent.
PREFIX_WITH_OPCACHE = (
    "prefix applies to APCu keys only, and OPcache has no key prefixes: leave prefix out "
    "with reset-opcache (clear-all clears the prefixed APCu keys and resets all of OPcache)"
)
# A clear is its first command plus up to 3 automatic retries (the stack's RetryMissed), each
# judged within 15 minutes: --wait waits for the clear's verdict, so its default covers all.
ATTEMPT_SECONDS = 900.0
MAX_RETRY_ROUNDS = 3
DEFAULT_TIMEOUT_SECONDS = ATTEMPT_SECONDS * (1 + MAX_RETRY_ROUNDS)
INTERRUPTED = 130  # what a shell reports for a program ended by Ctrl-C


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("API and credentials")
    where.add_argument(
        "--api-url",
        help=f"the API URL (the stack's ApiUrl output); without it or --stack, ${aws.API_URL_ENV}",
    )
    where.add_argument("--stack", help="read ApiUrl from this CloudFormation stack's outputs")
    where.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    where.add_argument("--region", help="AWS region (default: the profile's or AWS_REGION)")
    common.add_argument("--json", action="store_true", help="print only the final JSON")

    top = argparse.ArgumentParser(
        prog="apcu-flush",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"apcu-flush {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

    clear = commands.add_parser(
        "clear",
        parents=[common],
        help="clear APCu, reset OPcache, or both, on every instance of a group",
    )
    clear.add_argument("group", metavar="GROUP", help="the Auto Scaling group")
    clear.add_argument(
        "--action",
        choices=ACTIONS,
        default=DEFAULT_ACTION,
        help="clear-apcu (default), reset-opcache after a deploy, or clear-all for both",
    )
    clear.add_argument(
        "--prefix", help="clear only the APCu keys starting with this (not with reset-opcache)"
    )
    clear.add_argument("--comment", help="why (at most 80 characters); shown in Slack")
    clear.add_argument("--dry-run", action="store_true", help="show the plan; send nothing")
    _wait_options(clear)

    status = commands.add_parser("status", parents=[common], help="read a command's state")
    status.add_argument("command_id", metavar="COMMAND_ID")
    _wait_options(status)

    again = commands.add_parser(
        "retry",
        parents=[common],
        help="send a judged clear again to the InService instances it left stale",
    )
    again.add_argument("command_id", metavar="COMMAND_ID", help="the clear (or retry) to repair")
    _wait_options(again)
    return top


def _wait_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--wait", action="store_true", help="wait for the verdict, exit with it")
    command.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="give up after this long: exit 3 waiting for a verdict, 4 if the API throttled "
        f"every request until then (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    # Shortens every pause (polls and backoff) so that tests of throttling run in seconds.
    command.add_argument("--pause-scale", type=_scale, default=1.0, help=argparse.SUPPRESS)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError("SECONDS must be more than 0 and at most 86400")
    return value


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError("the scale must be more than 0 and at most 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Output(json_only=args.json)
    try:
        return run(args, out)
    except CliError as error:
        out.error(error)
        return int(error.exit)
    except KeyboardInterrupt:
        out.note("interrupted")
        return INTERRUPTED


def run(args: argparse.Namespace, out: Output) -> int:
    if args.command == "clear" and args.action == RESET_OPCACHE and args.prefix is not None:
        raise CliError(Exit.REFUSED, PREFIX_WITH_OPCACHE)
    # What the call itself lacks (exit 2) is said before what the machine lacks (credentials,
    # exit 4), as it is the first thing to fix: no API URL at all, then one that is not a URL,
    # then no region, to sign for or to read --stack's output in.
    given = aws.given_api_url(explicit=args.api_url, stack=args.stack, env=os.environ)
    url = flush_url(given) if given is not None else None
    session = aws.open_session(args.profile, args.region, os.environ)
    if url is not None:
        region = aws.signing_region(url, session)
    else:
        aws.stack_region(session, args.stack)
    found = aws.credentials(session)
    if url is None:
        url = flush_url(aws.stack_api_url(session, args.stack))
        region = aws.signing_region(url, session)
    api = FlushApi(url, credentials=lambda: aws.frozen(found), region=region)
    if args.command == "clear":
        return clear(api, args, out)
    if args.command == "retry":
        return retry(api, args, out)
    return status(api, args, out)


def clear(api: FlushApi, args: argparse.Namespace, out: Output) -> int:
    body: dict[str, Any] = {"group": args.group, "action": args.action}
    if args.prefix is not None:
        body["prefix"] = args.prefix
    if args.comment is not None:
        body["comment"] = args.comment
    if args.dry_run:
        body["dryRun"] = True
    started = time.monotonic()
    sent = throttle.send(
        lambda: api.clear(body),
        _patience(started, args, out),
        what="the request",
        then="nothing was sent; try again later",
    )
    reply = _answered(sent)
    if args.dry_run or reply.body.get("dryRun"):
        out.result(reply.body, render.dry_run(reply.body))
        return Exit.OK
    command_id = str(reply.body.get("commandId") or "")
    if not command_id:
        raise CliError(Exit.FAILED, "the API accepted the request but named no command", reply.body)
    if not args.wait:
        out.result(reply.body, render.accepted(reply.body))
        return Exit.OK
    out.lines(render.accepted(reply.body), stream=sys.stderr)
    return _wait(api, command_id, started, args, out, just_sent=True)


def retry(api: FlushApi, args: argparse.Namespace, out: Output) -> int:
    started = time.monotonic()
    sent = throttle.send(
        lambda: api.retry(args.command_id),
        _patience(started, args, out),
        what="the retry",
        then="nothing was sent; try again later",
    )
    reply = _answered(sent)
    # A retry is a clear of its own, with an id of its own: its verdict is the one to wait for.
    retry_id = str(reply.body.get("commandId") or "")
    if not retry_id:
        raise CliError(Exit.FAILED, "the API accepted the retry but named no clear", reply.body)
    if not args.wait:
        out.result(reply.body, render.retried(reply.body))
        return Exit.OK
    out.lines(render.retried(reply.body), stream=sys.stderr)
    return _wait(api, retry_id, started, args, out, just_sent=True)


def status(api: FlushApi, args: argparse.Namespace, out: Output) -> int:
    if args.wait:
        return _wait(api, args.command_id, time.monotonic(), args, out)
    read = throttle.send(
        lambda: api.status(args.command_id),
        _patience(time.monotonic(), args, out),
        what="the status read",
        then=f"command {args.command_id} is not affected",
    )
    reply = _answered(read)
    if reply.body.get("state") == "judged":
        return _judged(reply.body, out)
    if reply.body.get("state") == "failed":
        raise failed(reply.body)
    out.result(reply.body, render.running(reply.body))
    return Exit.OK


def _wait(
    api: FlushApi,
    command_id: str,
    started: float,
    args: argparse.Namespace,
    out: Output,
    *,
    just_sent: bool = False,
) -> int:
    body = _waited(api, command_id, started, args, out, just_sent=just_sent)
    return INTERRUPTED if body is None else _judged(body, out)


def _waited(
    api: FlushApi,
    command_id: str,
    started: float,
    args: argparse.Namespace,
    out: Output,
    *,
    just_sent: bool = False,
) -> dict[str, Any] | None:
    """The judged status body, or None when interrupted (said on stderr)."""
    progress = Progress(sys.stderr, live=sys.stderr.isatty(), quiet=out.json_only)
    try:
        return wait_for_verdict(
            lambda: api.status(command_id),
            Waiting(command_id, started),
            timeout=args.timeout,
            observe=progress.observe,
            sleep=progress.sleep,
            scale=args.pause_scale,
            notice=out.note,
        )
    except KeyboardInterrupt:
        progress.finish()
        out.note(f"stopped waiting; the command runs on: apcu-flush status {command_id} --wait")
        return None
    except CliError as error:
        # The API accepted the clear but kept no record of it (its 202 warned so): the command
        # runs, and its verdict can only reach Slack. A server-side failure, not a refusal.
        refusal = error.body.get("error")
        if just_sent and isinstance(refusal, Mapping) and refusal.get("status") == 404:
            raise CliError(
                Exit.FAILED,
                f"command {command_id} was sent, but the API kept no record of it, so no "
                "verdict can be read here; watch Slack or the Run Command console",
                error.body,
            ) from error
        raise
    finally:
        progress.finish()


def _patience(started: float, args: argparse.Namespace, out: Output) -> throttle.Patience:
    """A throttled request is sent again until --timeout, counted from the start."""
    return throttle.Patience(started + args.timeout, scale=args.pause_scale, notice=out.note)


def _judged(body: Mapping[str, Any], out: Output) -> int:
    out.result(body, render.verdict(body))
    verdict = body.get("verdict") or {}
    return Exit.ALERT if verdict.get("alert") is True else Exit.OK


def _answered(reply: Reply) -> Reply:
    """The reply when the API did what was asked; CliError with the exit code otherwise."""
    if reply.status >= 500:
        raise CliError(Exit.FAILED, f"the API answered {reply.status}: {reply.message}", reply.body)
    if reply.status >= 400:
        raise refusal(reply)
    return reply


class Output:
    """stdout gets the result (lines, or only JSON with --json); stderr the rest."""

    def __init__(self, *, json_only: bool) -> None:
        self.json_only = json_only

    def result(self, body: Mapping[str, Any], lines: Sequence[str]) -> None:
        if self.json_only:
            print(json.dumps(body, ensure_ascii=False, indent=2), flush=True)
        else:
            self.lines(lines, stream=sys.stdout)

    def lines(self, lines: Sequence[str], *, stream: TextIO) -> None:
        if not self.json_only:
            print("\n".join(lines), file=stream, flush=True)

    def error(self, error: CliError) -> None:
        if self.json_only:
            print(json.dumps(error.body, ensure_ascii=False, indent=2), flush=True)
        else:
            print(f"apcu-flush: {error.message}", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        if not self.json_only:
            print(f"apcu-flush: {text}", file=sys.stderr, flush=True)
