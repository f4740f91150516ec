"""The English catalogue, and what every catalogue says: another language is a subclass of
Messages that says each sentence again (tests check that it leaves none in English)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from apcu_notifier.handler import UnreadableReason

REPOSITORY_URL = "https://github.com/apcu-fleet-flush/apcu-fleet-flush"
DOCS = REPOSITORY_URL + "/blob/main/docs/"


@dataclass(frozen=True)
class Count:
    """A count and its noun: "1 instance", "3 instances"; a language without plurals gives one."""

    one: str
    other: str = ""

    def __call__(self, n: int) -> str:
        return (self.other if n != 1 and self.other else self.one).format(n=f"{n:,}")


@dataclass(frozen=True)
class Job:
    """How the sentences name what an action did, so that one sentence serves all three: `job`
    in a title ("APCu clear reached no instance"), `done` in the ok title ("APCu cleared on every
    instance"), `the_job` inside a sentence ("ran the clear"), and `nothing` of instances whose
    cache began empty ("nothing to clear")."""

    job: str
    done: str
    the_job: str
    nothing: str


class Messages:
    # By the request's action: clear-apcu, reset-opcache, clear-all.
    jobs: ClassVar[dict[str, Job]] = {
        "clear-apcu": Job("APCu clear", "APCu cleared", "the clear", "nothing to clear"),
        "reset-opcache": Job("OPcache reset", "OPcache reset", "the reset", "nothing to reset"),
        "clear-all": Job("APCu clear and OPcache reset", "APCu cleared and OPcache reset", "the clear and reset", "nothing to clear or reset"),
    }
    instances = Count("{n} instance", "{n} instances")
    entries = Count("{n} entry", "{n} entries")
    scripts = Count("{n} compiled script", "{n} compiled scripts")
    attempts = Count("{n} attempt", "{n} attempts")
    minutes = Count("{n} minute", "{n} minutes")
    hours = Count("{n} hour", "{n} hours")
    # Instances of a group named inside a sentence: "3 instances in service in web-prod".
    who_in_group = "{instances} in service in {target}"

    title_ok = "✅ {done} on every instance"
    title_ok_empty = "✅ Nothing to clear: the group has no instances"
    title_launching = "✅ {done} on every instance in service; more are launching"
    title_no_targets = "🚨 {job} reached no instance"
    title_mismatch = "⚠️ {job} did not reach the whole group"
    title_partial = "⚠️ {job} failed on some instances"
    title_failed = "🚨 {job} failed"
    title_group_not_found = "🚨 {job}: Auto Scaling group not found"
    title_unknown_command = "🚨 SSM does not know this command"
    title_unreadable = "🚨 Unreadable Run Command notification"
    title_test_event = "🧪 Test event: nothing was cleared"
    title_stuck = "🚨 {job} still running after its expiry"
    title_never_ended = "🚨 {job} never ended: no verdict"
    title_old_code = "⚠️ OPcache reset, but old code may still run"
    title_stopped = "🛑 {job} stopped by the stop alarm"
    title_stopped_unread = "🛑 {job} stopped: SSM could not read the stop alarm"
    title_cancelled = "🛑 {job} cancelled by an operator"

    summary_ok = "Every InService instance in {target} ran {the_job}{removing}."
    summary_ok_joined = "Every InService instance in {target} that was running when {the_job} was requested ran it{removing}."
    summary_ok_instances = "Every instance the command named ran {the_job}{removing}."
    summary_ok_empty = "{target} wants no instances (desired capacity 0): no server held a cache."
    # Said after summary_ok, when what the group still lacks is launching.
    launching = "The rest of what the group wants is still launching ({launching} Pending) and starts with an empty cache: {nothing}."
    removing = ", removing {entries}"
    summary_no_targets_group = "SSM sent the command to no instance, though {target} wants {wanted}."
    summary_no_targets_other = "SSM sent the command to no instance. Check first the target, and that the SSM agent runs on the instances."
    summary_missed = "SSM did not send the command to {who}: the old cache is still there."
    check_agent = "Check first the SSM agent on the instances not reached: it must run and be registered (Fleet Manager, or `aws ssm describe-instance-information`), since SSM sends a command only to managed nodes."
    summary_short = "SSM reached every InService instance of {target}, but the group has fewer in service than it wants and none launching. Check first its activity history (EC2 console, Auto Scaling groups, Activity): why instances did not start, or were taken out."
    summary_not_finished = "{who} did not finish {the_job}: the old cache is still there."
    others_removed = "The others removed {entries}."
    summary_rate_exceeded = "SSM cancelled the command before it ran anywhere: the account's limit of pending invocations was exceeded, so every cache is as it was."
    summary_group_not_found = "The Auto Scaling group {groups} no longer exists; it may have been deleted after the command was sent, so nothing could be counted."
    summary_unknown_command = "SSM has no such command, though its notification came: it may have expired from the command history, or belong to another account or Region."
    summary_unreadable = "A notification could not be read: {reason}. Nothing was checked. It said:"
    summary_test_event = "This was a test event: its command is one of the stored examples, not one SSM ran. Nothing was cleared and nothing was judged."
    summary_stuck = "SSM still reports the command *{status}* a minute after its expiry, when it should have ended; finished so far: {finished} of the {sent} it was sent to. The clear looks again every {every} for {watch} and posts the verdict once the command ends; if it still runs then, the clear says so and stops looking."
    summary_never_ended = "SSM still reports the command *{status}* {watched} after the stuck alert; finished: {finished} of the {sent} it was sent to. The clear has stopped looking and freed the group: no verdict will come for this command. Cancel it (`aws ssm cancel-command --command-id {command_id}`), then clear the group again."
    summary_stopped = "The stop alarm {alarms} went into ALARM while {the_job} ran, so SSM started it on no further instance: the old cache is still on {who}."
    summary_stopped_unread = "SSM could not read the stop alarm {alarms} (its state was UNKNOWN), so it held back every instance that had not run yet: the old cache is still on {who}."
    summary_cancelled = "Someone cancelled the command before every instance had run it (CloudTrail's CancelCommand event names who): the old cache is still on {who}."
    summary_old_code = "OPcache restarted on every InService instance of {target}, dropping {scripts}, but old code may still run on {old}."
    # How to finish what is left stale: `how` is `apcu-flush retry ID`, or how_button in app mode.
    finish = "To clear again only what is still stale: {how}."
    finish_stopped = "Nothing retries the stale instances by itself: once the alarm is OK again, finish with {how}, which clears only those."
    finish_stopped_unread = "Nothing retries the stale instances by itself. Check first that the alarm still exists in this Region and that SSM's service-linked role AWSServiceRoleForAmazonSSM exists; then finish with {how}, which clears only those."
    finish_cancelled = "Nothing retries a cancelled clear by itself: once it is safe, finish with {how}, which clears only the stale instances."
    how_button = "the button below or {cli}"
    not_group_instances = "The command named instance ids, not an Auto Scaling group, so it is judged by its invocations alone."
    not_group_other = "The command did not target an Auto Scaling group by its tag alone, so it is judged by its invocations alone."
    scaling = "The group is scaling: {in_service} InService, {pending} launching, {terminating} terminating."
    warm_pool_hibernated = "The warm pool of {groups} keeps its instances hibernated: their APCu survives as it was, stale, but they serve no traffic. The stack clears each instance as it leaves the warm pool."
    warm_pool_hibernated_uncleared = "The warm pool of {groups} keeps its instances hibernated: their APCu survives as it was, stale. They serve no traffic yet, but nothing clears them as they leave the pool (ClearOnWarmPoolExit is off): clear the group again once they have."
    reset_line = "OPcache restarted on {instances}, dropping {scripts}."
    caveat_preload = "Where preloaded scripts (opcache.preload) are named, they stay until php-fpm reloads: reload it there."
    caveat_file_cache = "Where the file cache (opcache.file_cache) is named, it was not cleared and OPcache loads its old compiled scripts again: empty it and reload php-fpm there."
    caveat_validate_timestamps = "On {instances}, validate_timestamps is on: OPcache also revalidates changed files by itself every revalidate_freq seconds."
    held_continue = "The instance was held out of service by the launch lifecycle hook; it now enters service anyway (WarmPoolUncleared `continue`) and may serve stale data until it is cleared."
    held_abandon = "The instance was held out of service by the launch lifecycle hook; it is abandoned (WarmPoolUncleared `abandon`), and Auto Scaling replaces it."
    notification_missing = f"⚠️ SSM's notification for this command never arrived: the clear looked for itself a minute after the command's expiry. The notification path (the topic, its key policy, the subscription, SSM's service role) is broken; see <{DOCS}deploy.md#ssms-notification-never-arrived|SSM's notification never arrived> in docs/deploy.md."

    label_group = "Group"
    label_target = "Target"
    label_command = "Command"
    label_status = "Status"
    label_succeeded = "Succeeded"
    label_requested = "Requested"
    label_requester = "Requested by"
    label_comment = "Comment"
    label_action = "Action"
    label_retried_by = "Retried by"
    label_prefix = "Prefix"
    succeeded_of_wanted = "{succeeded} of {wanted} wanted"
    succeeded_of_sent = "{succeeded} of the {sent} it was sent to"
    # A clear whose later attempt cleared what its first left: the status is its first's.
    status_first_of = "{status} (attempt 1 of {attempts})"

    missing_title = "*In service but not reached ({count})*"
    joined_title = "*Started after {the_job} was requested, with an empty cache: {nothing} ({count})*"
    outside_title = "*Outside InService: serving no traffic, not counted ({count})*"
    outside_unlisted = "not in the group's list (warm pool, or tagged by hand)"
    problems_title = "*Did not finish {the_job} ({count})*"
    # After SSM's words for how instances ended: how many (of several ways), what to check.
    group_count = " ({count})"
    hint = ": {hint}."
    # What to check first, by SSM's words for how an invocation ended.
    said_hints: ClassVar[dict[str, str]] = {
        "Delivery Timed Out": "the SSM agent did not take the command before the delivery timeout; check that it runs and is Online",
        "Undeliverable": "SSM could not deliver it; the instance may be stopped, or its agent not responding",
        "Execution Timed Out": "the script ran past the document's execution timeout",
        "Failed": "the script failed on the instance",
        "Access Denied": "the caller may not run the document on the instance",
        "Terminated": "SSM stopped it once the command's MaxErrors was reached",
        "not reached": "SSM never sent it there; check that the SSM agent runs and is registered",
    }
    old_code_title = "*Old code may still run ({count})*"
    caveat_names: ClassVar[dict[str, str]] = {
        "preload": "preloaded scripts",
        "file_cache": "file cache",
    }
    history_title = "*{instances} not cleared by the first attempt*"
    history_cleared = "{said}, then cleared on attempt {attempt}"
    history_still = "{said}; still stale after {attempts}"
    history_left_out = "{said}; not retried: {why}"
    # Why an attempt was not sent to an instance (apcu_notifier.attempts' notes).
    history_notes: ClassVar[dict[str, str]] = {
        "offline": "its SSM agent is not Online",
        "left": "it left InService and serves no traffic",
        "not-retryable": "another attempt would end the same",
        "alarm": "the stop alarm stayed in ALARM",
        "claim": "another clear took the group",
    }
    history_then = ", then "
    more = "…and {count} more"
    more_targets = "…and {count} more"
    console_link = "<{url}|Open the command in the AWS console>"
    # The top-level text ends with the command: "<title>: <target> (command <id>)".
    about_command = " (command {command_id})"
    list_separator = ", "
    sentence_separator = " "
    target_instances = "instance ids {ids}"
    target_unknown = "an unknown target"
    # A time's zone when it has a name of its own: "JST (UTC+09:00)".
    zone_named = "{name} ({offset})"
    reasons: ClassVar[dict[UnreadableReason, str]] = {
        UnreadableReason.NO_ENVELOPE: "the record is not an SNS notification",
        UnreadableReason.NO_MESSAGE: "the SNS record has no Message",
        UnreadableReason.NOT_JSON: "the Message is not JSON",
        UnreadableReason.NOT_OBJECT: "the Message is not a JSON object",
        UnreadableReason.NO_COMMAND_ID: "the Message has no commandId",
        UnreadableReason.BAD_COMMAND_ID: "the commandId is not a Run Command id",
        UnreadableReason.UNKNOWN_STATUS: "the status is not one SSM sends",
    }
    # opcache.php's error codes, and "unconfirmed" (verdict.UNCONFIRMED).
    opcache_reasons: ClassVar[dict[str, str]] = {
        "disabled": "OPcache is disabled in php-fpm",
        "restricted": "opcache.restrict_api refuses the reset",
        "not_restarted": "the restart is still pending",
        "unconfirmed": "no answer from opcache.php, so the reset is not proven",
    }

    # Slack app mode (apcu_notifier.app_messages).
    title_started = "⏳ {job} started"
    summary_started = "Sent to the instances of *{target}*. This message shows the verdict when the command ends; the detail goes in its thread."
    whole_cache = "(whole cache)"
    details_text = "Detail of {title}"
    alert_reply = "*{title}*: the message above has the verdict."
    retry_button = "Clear the {stale} still stale again"
