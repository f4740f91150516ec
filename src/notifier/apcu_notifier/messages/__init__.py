"""Every sentence the notifier posts, one catalogue per language (en.py, ja.py).

Templates use str.format; apcu_notifier.render fills them with values it has already escaped
for Slack's mrkdwn, and with counts already written out (`Count`), so that English says
"1 instance" and "3 instances". Each catalogue is written as a reader of that language would
write it, not translated word for word. SSM's statuses are quoted in SSM's own words in both.
The dataclass makes a missing sentence in either language a type error.

Links to the docs are written against the public repository (REPOSITORY_URL, the template's
SourceCodeUrl), where tests check that each reaches a heading; a message points them at the
stack's DOCS_URL (`docs_links`).
"""

from __future__ import annotations

from dataclasses import dataclass

from apcu_notifier.config import Language
from apcu_notifier.notification import UnreadableReason

REPOSITORY_URL = "https://github.com/apcu-fleet-flush/apcu-fleet-flush"
DOCS = REPOSITORY_URL + "/blob/main/docs/"


@dataclass(frozen=True)
class Count:
    """A count and its noun: "1 instance", "3 instances", "1,200 compiled scripts"."""

    one: str
    other: str

    def __call__(self, n: int) -> str:
        return (self.one if n == 1 else self.other).format(n=f"{n:,}")


@dataclass(frozen=True)
class Job:
    """How the sentences name what an action did, so that one sentence serves all three."""

    # In a title: "APCu clear reached no instance".
    job: str
    # In the ok title: "APCu cleared on every instance".
    done: str
    # Inside a sentence: "ran the clear", "after the clear was requested".
    the_job: str
    # Of instances whose cache began empty: "nothing to clear".
    nothing: str


@dataclass(frozen=True)
class Messages:
    # By the request's action: clear-apcu, reset-opcache, clear-all.
    jobs: dict[str, Job]
    instances: Count
    entries: Count
    scripts: Count
    attempts: Count
    minutes: Count
    hours: Count
    # Instances of a group named inside a sentence: "3 instances in service in web-prod".
    who_in_group: str

    # Titles, one per verdict kind (and the variants a kind's formatter picks from).
    title_ok: str
    title_ok_empty: str
    title_launching: str
    title_no_targets: str
    title_mismatch: str
    title_partial: str
    title_failed: str
    title_group_not_found: str
    title_unknown_command: str
    title_unreadable: str
    title_test_event: str
    title_stuck: str
    title_never_ended: str
    title_old_code: str
    title_stopped: str
    title_stopped_unread: str
    title_cancelled: str

    # The first section: what happened, what to check first, how to finish.
    summary_ok: str
    summary_ok_joined: str
    summary_ok_instances: str
    summary_ok_empty: str
    summary_launching: str
    removing: str
    summary_no_targets_group: str
    summary_no_targets_other: str
    summary_missed: str
    check_agent: str
    summary_short: str
    summary_not_finished: str
    others_removed: str
    summary_rate_exceeded: str
    summary_group_not_found: str
    summary_unknown_command: str
    summary_unreadable: str
    summary_test_event: str
    summary_stuck: str
    summary_never_ended: str
    summary_stopped: str
    summary_stopped_unread: str
    summary_cancelled: str
    summary_old_code: str
    # How to finish what a verdict left stale: `how` is how_cli, or how_button in app mode.
    finish: str
    finish_stopped: str
    finish_stopped_unread: str
    finish_cancelled: str
    how_cli: str
    how_button: str
    not_group_instances: str
    not_group_other: str
    scaling: str
    warm_pool_hibernated: str
    warm_pool_hibernated_uncleared: str
    reset_line: str
    caveat_preload: str
    caveat_file_cache: str
    caveat_validate_timestamps: str
    held_continue: str
    held_abandon: str
    notification_missing: str

    # The fields.
    label_group: str
    label_target: str
    label_command: str
    label_status: str
    label_succeeded: str
    label_requested: str
    label_requester: str
    label_comment: str
    label_action: str
    label_retried_by: str
    label_prefix: str
    succeeded_of_wanted: str
    succeeded_of_sent: str
    # A clear whose later attempt cleared what its first left: the status is its first's.
    status_first_of: str

    # The detail: per-instance lists.
    missing_title: str
    joined_title: str
    outside_title: str
    outside_line: str
    outside_unlisted: str
    problems_title: str
    problem_group: str
    problem_group_hint: str
    said_alone: str
    said_hint: str
    # What to check first, by SSM's words for how an invocation ended.
    said_hints: dict[str, str]
    old_code_title: str
    old_code_line: str
    caveat_names: dict[str, str]
    history_title: str
    history_cleared: str
    history_still: str
    history_left_out: str
    # Why an attempt was not sent to an instance (apcu_notifier.attempts' notes).
    history_notes: dict[str, str]
    history_then: str
    more: str
    more_targets: str
    console_link: str
    fallback: str
    # A message about no known target (a command SSM does not know, a stored test event).
    fallback_command: str
    none: str
    list_separator: str
    sentence_separator: str
    target_instances: str
    target_other: str
    target_unknown: str
    # A time's zone when it has a name of its own: "JST (UTC+09:00)".
    zone_named: str
    reasons: dict[UnreadableReason, str]
    # opcache.php's error codes, and "unconfirmed" (verdict.UNCONFIRMED).
    opcache_reasons: dict[str, str]

    # Slack app mode (apcu_notifier.app_messages): the clear's message when it starts, the
    # thread reply that holds the verdict's detail, the reply that notifies of an alert, and
    # the retry button.
    title_started: str
    summary_started: str
    whole_cache: str
    details_text: str
    alert_reply: str
    retry_button: str


def docs_links(text: str, docs_url: str) -> str:
    """`text` with its links to the repository's docs led to the stack's DOCS_URL."""
    return text.replace(REPOSITORY_URL + "/", docs_url + "/")


def _catalogue() -> dict[Language, Messages]:
    from apcu_notifier.messages.en import EN
    from apcu_notifier.messages.ja import JA

    return {Language.EN: EN, Language.JA: JA}


CATALOGUE: dict[Language, Messages] = _catalogue()


def messages(language: Language) -> Messages:
    return CATALOGUE[language]
