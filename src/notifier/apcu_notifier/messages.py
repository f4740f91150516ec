# Japanese text uses full-width parentheses, as Japanese writing does.
# ruff: noqa: RUF001
"""Every sentence the notifier posts, one catalogue per language.

Templates use str.format; render.py fills them with values it has already escaped for Slack's
mrkdwn. Each catalogue is written as a reader of that language would write it, not translated
word for word. The dataclass makes a missing sentence in either language a type error.
"""

from __future__ import annotations

from dataclasses import dataclass

from apcu_notifier.config import Language
from apcu_notifier.notification import UnreadableReason

# The section a reader of the notification-missing line needs, by URL: the repository is
# template.yaml's AWS::ServerlessRepo::Application SourceCodeUrl (tests/docs/test_anchors.py
# keeps the two equal and checks that the heading exists).
REPOSITORY_URL = "https://github.com/apcu-fleet-flush/apcu-fleet-flush"
NOTIFICATION_PATH_DOCS = (
    REPOSITORY_URL + "/blob/main/" + "docs/deploy.md#ssms-notification-never-arrived"
)


@dataclass(frozen=True)
class Job:
    """How the sentences name what an action did, so the same sentence serves all three."""

    # In a title: "APCu clear reached no instance".
    job: str
    # In the ok title: "APCu cleared on every instance".
    done: str
    # Inside a sentence: "ran the clear", "after the clear was requested".
    the_job: str
    # "they need no clear".
    no_job: str


@dataclass(frozen=True)
class Messages:
    # By the request's action: clear-apcu, reset-opcache, clear-all.
    jobs: dict[str, Job]
    title_ok: str
    title_ok_empty: str
    title_no_targets: str
    title_mismatch: str
    title_partial: str
    title_failed: str
    title_group_not_found: str
    title_unknown_command: str
    title_unreadable: str
    title_test_event: str

    summary_ok: str
    summary_ok_joined: str
    summary_ok_instances: str
    summary_ok_empty: str
    summary_no_targets_group: str
    summary_no_targets_other: str
    summary_mismatch: str
    summary_missing: str
    summary_outside: str
    summary_partial: str
    summary_failed: str
    summary_group_not_found: str
    summary_unknown_command: str
    summary_unreadable: str
    summary_test_event: str
    summary_joined: str
    summary_rate_exceeded: str
    warm_pool_hibernated: str
    warm_pool_hibernated_uncleared: str
    not_group: str
    not_group_instances: str
    scaling: str
    cleared: str
    cleared_ok: str
    cleared_partial: str

    label_group: str
    label_target: str
    label_command: str
    label_status: str
    label_reached: str
    label_requested: str
    label_comment: str
    reached: str
    reached_of_targeted: str
    status_with_details: str
    # A clear that took more than one attempt: the status shown is its first command's.
    status_first_attempt: str

    missing_title: str
    joined_title: str
    outside_title: str
    outside_line: str
    outside_unlisted: str
    problems_title: str
    problem_line: str
    more: str
    # Groups, tags or instance ids beyond those named in a target.
    more_targets: str
    console_link: str
    fallback: str
    none: str
    list_separator: str
    sentence_separator: str
    target_instances: str
    target_other: str
    target_unknown: str
    time_format: str
    reasons: dict[UnreadableReason, str]
    # The watchdog: a command still running after its expiry, a notification that never came.
    title_stuck: str
    summary_stuck: str
    # OPcache: the restarts that took, what they left alone, why others did not take.
    title_old_code: str
    reset_line: str
    caveat_preload: str
    caveat_file_cache: str
    caveat_validate_timestamps: str
    old_code_title: str
    old_code_line: str
    caveat_names: dict[str, str]
    label_action: str
    problem_reason_line: str
    reasons_line: str
    reason_count: str
    # opcache.php's error codes, and "unconfirmed" (verdict.UNCONFIRMED).
    opcache_reasons: dict[str, str]
    # What follows a stuck alert: the watchdog's follow-ups when it can arm them, else only
    # SSM's notification. The interval and the bound are apcu_notifier.watchdog's
    # FOLLOW_UP_INTERVAL and MAX_FOLLOW_UPS (tests/notifier/test_rearm.py holds them together).
    stuck_watched: str
    stuck_unwatched: str
    title_never_ended: str
    summary_never_ended: str
    notification_missing: str
    # A clear the notifier retried on its own (RetryMissed): each instance that needed another
    # attempt, with what the first attempt said and what became of it.
    clear_title: str
    clear_cleared: str
    clear_still: str
    clear_offline: str
    clear_left: str
    clear_not_retryable: str
    clear_alarm: str
    clear_then: str
    clear_retry_hint: str
    # "second", "third", "fourth": the attempt that cleared an instance.
    ordinals: tuple[str, ...]
    # The brake: the stop alarm held the invocations that had not run yet.
    title_stopped: str
    title_cancelled: str
    summary_cancelled: str
    summary_stopped: str
    stopped_next: str
    # A warm-pool instance held by the launch lifecycle hook whose clear did not pass.
    held_continue: str
    held_abandon: str
    # Slack app mode (apcu_notifier.app_messages): the clear's message when it starts, the
    # thread reply that holds the verdict's detail, the reply that notifies of an alert, and
    # the retry button.
    title_started: str
    summary_started: str
    label_requester: str
    label_prefix: str
    whole_cache: str
    details_text: str
    alert_reply: str
    retry_button: str
    retry_button_one: str
    # App mode: a retry on demand's verdict, shown in its clear's message.
    retry_of_clear: str


EN = Messages(
    jobs={
        "clear-apcu": Job("APCu clear", "APCu cleared", "the clear", "no clear"),
        "reset-opcache": Job("OPcache reset", "OPcache reset", "the reset", "no reset"),
        "clear-all": Job(
            "APCu clear and OPcache reset",
            "APCu cleared and OPcache reset",
            "the clear and reset",
            "neither",
        ),
    },
    title_ok="✅ {done} on every instance",
    title_ok_empty="✅ Nothing to clear: the group has no instances",
    title_no_targets="🚨 {job} reached no instance",
    title_mismatch="⚠️ {job} did not reach the whole group",
    title_partial="⚠️ {job} failed on some instances",
    title_failed="🚨 {job} failed",
    title_group_not_found="🚨 {job}: Auto Scaling group not found",
    title_unknown_command="🚨 APCu clear: SSM does not know this command",
    title_unreadable="🚨 Unreadable Run Command notification",
    title_test_event="🧪 Test event: nothing was cleared",
    summary_ok="Every instance in {target} ran {the_job}: {succeeded} of {expected} wanted{cleared}.",
    summary_ok_joined=(
        "Every InService instance in {target} that was running when {the_job} was requested "
        "ran it: {succeeded} of {expected} wanted{cleared}."
    ),
    summary_ok_instances="All {succeeded} targeted instances ran {the_job}{cleared}.",
    summary_ok_empty="{target} wants no instances (desired capacity 0), so no server held a cache to clear.",
    summary_no_targets_group=(
        "SSM reported *{status}*, but the command reached no instance while {target} wants "
        "{expected}. Check that the SSM agent runs and is registered on the instances, and the "
        "group tag and permissions."
    ),
    summary_no_targets_other=(
        "SSM reported *{status}*, but the command reached no instance. Check the target and "
        "that the SSM agent runs on the instances."
    ),
    summary_mismatch=(
        "{target} wants {expected}, but SSM sent the command to {reached} of its InService "
        "instances."
    ),
    summary_missing="InService instances that did not run it: {count}.",
    summary_outside=(
        "Instances outside InService (Standby, warm pool, terminating) that were sent it too: "
        "{count}. They serve no traffic, so they are listed below and not counted."
    ),
    summary_partial="{failed} of {reached} instances did not finish {the_job}{cleared}.",
    summary_failed="The command ended *{status}*.",
    summary_group_not_found=(
        "The Auto Scaling group {groups} does not exist any more; it may have been deleted after "
        "the command was sent. Nothing could be counted."
    ),
    summary_unknown_command=(
        "SSM has no command {command_id} (notified as {status}). It may have expired from the "
        "command history, or belong to another account or region."
    ),
    summary_unreadable="A notification could not be read: {reason}. Nothing was checked. It said:",
    summary_test_event=(
        "This was a test event: command {command_id} is one of the stored examples, not a "
        "command SSM ran. Nothing was cleared and nothing was judged."
    ),
    summary_joined=(
        "InService instances that started after {the_job} was requested: {count}. Their cache "
        "began empty, so they need {no_job}."
    ),
    summary_rate_exceeded=(
        "SSM cancelled the command before it ran anywhere: the account's limit of pending "
        "invocations was exceeded (Rate Exceeded). Every cache is as it was; send the clear "
        "again later."
    ),
    warm_pool_hibernated=(
        "The warm pool of {groups} keeps its instances hibernated: their APCu survives as it "
        "was, stale, but they serve no traffic. The stack clears each instance as it leaves the "
        "warm pool."
    ),
    warm_pool_hibernated_uncleared=(
        "The warm pool of {groups} keeps its instances hibernated: their APCu survives as it "
        "was, stale. They serve no traffic yet, but nothing clears them as they leave the pool "
        "(ClearOnWarmPoolExit is off): clear the group again once they have."
    ),
    not_group=(
        "The command targeted {target}, not an Auto Scaling group, so it is judged by its "
        "invocations alone."
    ),
    not_group_instances=(
        "The command targeted {target}, not an Auto Scaling group, so it is judged by its "
        "invocations alone."
    ),
    scaling=(
        "The group is scaling: desired {desired}, InService {in_service}, pending {pending}, "
        "terminating {terminating}."
    ),
    cleared="The {instances} instances that succeeded removed {entries} entries in all.",
    cleared_ok=", {entries} entries removed in all",
    cleared_partial=" (the {instances} that succeeded removed {entries} entries in all)",
    label_group="Group",
    label_target="Target",
    label_command="Command",
    label_status="Status",
    label_reached="Succeeded",
    label_requested="Requested",
    label_comment="Comment",
    reached="{succeeded} of {expected} wanted",
    reached_of_targeted="{succeeded} of the {targeted} it was sent to",
    status_with_details="{status} ({details})",
    status_first_attempt="{status} on the first of {attempts} attempts",
    missing_title="*InService instances that did not run it ({count})*",
    joined_title="*Started after the clear was requested, cache began empty ({count})*",
    outside_title="*Outside InService, not counted ({count})*",
    outside_line="• `{instance}` {state}: {status}",
    outside_unlisted="not in the group's list (warm pool, or tagged by hand)",
    problems_title="*Instances that did not succeed ({count})*",
    problem_line="• `{instance}` {status}",
    more="…and {count} more",
    more_targets="…and {count} more",
    console_link="<{url}|Open the command in the AWS console>",
    fallback="{title}: {target} (command {command_id})",
    none="—",
    list_separator=", ",
    sentence_separator=" ",
    target_instances="instance ids {ids}",
    target_other="{targets}",
    target_unknown="an unknown target",
    time_format="%Y-%m-%d %H:%M:%S UTC",
    reasons={
        UnreadableReason.NO_ENVELOPE: "the record is not an SNS notification",
        UnreadableReason.NO_MESSAGE: "the SNS record has no Message",
        UnreadableReason.NOT_JSON: "the Message is not JSON",
        UnreadableReason.NOT_OBJECT: "the Message is not a JSON object",
        UnreadableReason.NO_COMMAND_ID: "the Message has no commandId",
        UnreadableReason.BAD_COMMAND_ID: "the commandId is not a Run Command id",
        UnreadableReason.UNKNOWN_STATUS: "the status is not one SSM sends",
    },
    title_stuck="🚨 {job} still running after its expiry",
    summary_stuck=(
        "SSM still reports the command *{status}* after its expiry, when it should have "
        "ended: {succeeded} of {targeted} targeted instances have cleared so far. Open it in "
        "the console."
    ),
    stuck_watched=(
        "The watchdog checks it again every 15 minutes and posts its verdict when it ends; "
        "after 2 hours it stops and says so."
    ),
    stuck_unwatched=(
        "Its verdict is posted only if SSM's notification arrives when it ends: nothing "
        "checks it again."
    ),
    title_old_code="⚠️ OPcache reset, but old code may still run",
    reset_line=(
        "Instances whose OPcache restarted: {instances}, dropping {scripts} compiled scripts in "
        "all."
    ),
    caveat_preload=(
        "Instances where preloaded scripts stay until php-fpm reloads (opcache.preload): "
        "{count}. The old code they hold still runs; reload php-fpm there."
    ),
    caveat_file_cache=(
        "Instances whose file cache was not cleared (opcache.file_cache): {count}. It keeps the "
        "old compiled scripts, which OPcache loads again after the restart, so old code can "
        "still run; empty the file cache and reload php-fpm there."
    ),
    caveat_validate_timestamps=(
        "Instances with validate_timestamps=1: {count}. OPcache revalidates on its own every "
        "revalidate_freq s."
    ),
    old_code_title="*Old code may still run ({count})*",
    old_code_line="• `{instance}` {caveats}",
    caveat_names={"preload": "preloaded scripts", "file_cache": "file cache"},
    label_action="Action",
    problem_reason_line="• `{instance}` {status}: {reason}",
    reasons_line="Why OPcache's reset did not take: {reasons}.",
    reason_count="{reason} ({count})",
    opcache_reasons={
        "disabled": "OPcache is disabled in php-fpm",
        "restricted": "opcache.restrict_api refuses the reset",
        "not_restarted": "the restart is still pending",
        "unconfirmed": "no answer from opcache.php, the reset is not proven",
    },
    title_stopped="🛑 {job} stopped by the stop alarm",
    title_cancelled="🛑 {job} cancelled by an operator",
    summary_cancelled=(
        "Someone cancelled the command before every instance {the_job}: {succeeded} of "
        "{expected} did, {stale} still hold the old cache. Nothing retries a cancelled clear by itself."
    ),
    summary_stopped=(
        "The stop alarm {alarms} went into ALARM while {the_job} ran, so SSM started it on no "
        "further instance: {succeeded} of {expected} in {target} finished before, and {stale} "
        "InService instances still hold the old cache."
    ),
    stopped_next=(
        "Once the alarm is OK again, finish with `apcu-flush retry {command_id}`: it clears "
        "only the instances still stale."
    ),
    held_continue=(
        "The instance was held out of service by the launch lifecycle hook; it now enters "
        "service anyway (WarmPoolUncleared `continue`) and may serve stale data until it is "
        "cleared."
    ),
    held_abandon=(
        "The instance was held out of service by the launch lifecycle hook; it is abandoned "
        "(WarmPoolUncleared `abandon`), and Auto Scaling replaces it."
    ),
    title_never_ended="🚨 {job} never ended: no verdict can be reached",
    summary_never_ended=(
        "SSM still reports the command *{status}* {minutes} minutes after the watchdog first "
        "found it running past its expiry: {succeeded} of {targeted} targeted instances have "
        "cleared. The watchdog stops checking it, so no verdict will be reached automatically; "
        "one is still posted if SSM's notification arrives. Open it in the console, cancel it, "
        "and check the instances that have not cleared."
    ),
    notification_missing=(
        "⚠️ SSM's notification for this command never arrived: the watchdog judged it. "
        "The notification path (topic, its key policy, the subscription, SSM's service role) "
        f"is broken; see <{NOTIFICATION_PATH_DOCS}|SSM's notification never arrived> in "
        "docs/deploy.md."
    ),
    clear_title="{count} instance(s) needed another attempt:",
    clear_cleared="`{instance}`: {said}, cleared on the {ordinal} attempt",
    clear_still="`{instance}`: {said}; still stale after {attempts} attempts",
    clear_offline="`{instance}`: {said}; its SSM agent is not Online, so it was not retried",
    clear_left="`{instance}`: {said}; it left InService, so it serves no traffic and was not retried",
    clear_not_retryable="`{instance}`: {said}; another attempt would end the same, so it was not retried",
    clear_alarm="`{instance}`: {said}; the stop alarm stayed in ALARM, so it was not retried",
    clear_then=", then ",
    clear_retry_hint="To try the stale instances again: `apcu-flush retry {command_id}`",
    ordinals=("second", "third", "fourth"),
    title_started="⏳ {job} started",
    summary_started=(
        "Sent to the instances of *{target}*. This message shows the verdict when the "
        "command ends; the detail goes in its thread."
    ),
    label_requester="Requested by",
    label_prefix="Prefix",
    whole_cache="(whole cache)",
    details_text="Detail of {title}",
    alert_reply="*{title}*: the message above has the verdict.",
    retry_button="Clear the {count} stale instances again",
    retry_button_one="Clear the 1 stale instance again",
    retry_of_clear="A retry of the clear of *{group}* (its first command `{first}`); what follows is the retry's verdict.",
)

JA = Messages(
    jobs={
        "clear-apcu": Job("APCu のクリア", "APCu のクリア", "クリア", "クリアは不要です"),
        "reset-opcache": Job(
            "OPcache のリセット", "OPcache のリセット", "リセット", "リセットは不要です"
        ),
        "clear-all": Job(
            "APCu のクリアと OPcache のリセット",
            "APCu のクリアと OPcache のリセット",
            "クリアとリセット",
            "クリアもリセットも不要です",
        ),
    },
    title_ok="✅ {done}が全台で完了しました",
    title_ok_empty="✅ 対象インスタンスが 0 台のため、クリアは不要でした",
    title_no_targets="🚨 どのインスタンスでも {job}が実行されていません",
    title_mismatch="⚠️ {job}がグループの全台に届いていません",
    title_partial="⚠️ 一部のインスタンスで {job}に失敗しました",
    title_failed="🚨 {job}に失敗しました",
    title_group_not_found="🚨 対象の Auto Scaling グループが見つかりません",
    title_unknown_command="🚨 SSM に該当するコマンドがありません",
    title_unreadable="🚨 読み取れない Run Command 通知を受け取りました",
    title_test_event="🧪 テストイベントです（クリアは行われていません）",
    summary_ok="{target} の全 {expected} 台で{the_job}が完了しました{cleared}。",
    summary_ok_joined=(
        "{target} では、{the_job}のリクエスト時に稼働していた InService インスタンス {succeeded} 台"
        "（希望台数 {expected} 台）すべてで{the_job}が完了しました{cleared}。"
    ),
    summary_ok_instances="対象の {succeeded} 台すべてで{the_job}が完了しました{cleared}。",
    summary_ok_empty="{target} の希望台数が 0 台のため、キャッシュを持つサーバーはありませんでした。",
    summary_no_targets_group=(
        "SSM の結果は *{status}* ですが、どのインスタンスでも実行されていません"
        "（{target} の希望台数は {expected} 台）。SSM エージェントが起動して登録されているか、"
        "グループのタグと権限の設定を確認してください。"
    ),
    summary_no_targets_other=(
        "SSM の結果は *{status}* ですが、どのインスタンスでも実行されていません。"
        "ターゲットの指定と、各インスタンスで SSM エージェントが動いているかを確認してください。"
    ),
    summary_mismatch=(
        "SSM がコマンドを送ったのは InService インスタンスのうち {reached} 台ですが、"
        "{target} の希望台数は {expected} 台です。"
    ),
    summary_missing="InService インスタンスのうち {count} 台で実行されていません。",
    summary_outside=(
        "InService 以外（Standby、ウォームプール、終了中など）のインスタンス {count} 台にも"
        "コマンドが送られました。トラフィックを受けないため判定には含めず、結果を下に示します。"
    ),
    summary_partial="{reached} 台中 {failed} 台で{the_job}が完了していません{cleared}。",
    summary_failed="コマンドは *{status}* で終了しました。",
    summary_group_not_found=(
        "Auto Scaling グループ {groups} が存在しません。コマンド送信後に削除された可能性が"
        "あります。台数は確認できていません。"
    ),
    summary_unknown_command=(
        "SSM にコマンド {command_id} が見つかりません（通知のステータス: {status}）。"
        "履歴の保持期間を過ぎたか、別のアカウントやリージョンのコマンドの可能性があります。"
    ),
    summary_unreadable="通知を読み取れませんでした（{reason}）。判定は行っていません。受け取った内容:",
    summary_test_event=(
        "これはテストイベントです。コマンド {command_id} は保存済みのサンプルで、SSM が実行した"
        "コマンドではありません。クリアも判定も行っていません。"
    ),
    summary_joined=(
        "InService インスタンスのうち {count} 台は{the_job}のリクエスト後に起動したため、"
        "キャッシュが空の状態から始まっており、{no_job}。"
    ),
    summary_rate_exceeded=(
        "アカウントの保留中の呼び出し数の上限を超えたため（Rate Exceeded）、SSM はどのインスタンスでも"
        "実行する前にコマンドを取り消しました。キャッシュはどれもそのままです。時間をおいて"
        "クリアをやり直してください。"
    ),
    warm_pool_hibernated=(
        "{groups} のウォームプールはインスタンスを休止（Hibernated）状態で保持しているため、"
        "その APCu は古い内容のまま残っています（トラフィックは受けていません）。"
        "ウォームプールから出る際に、スタックが各インスタンスをクリアします。"
    ),
    warm_pool_hibernated_uncleared=(
        "{groups} のウォームプールはインスタンスを休止（Hibernated）状態で保持しているため、"
        "その APCu は古い内容のまま残っています。まだトラフィックは受けていませんが、"
        "ClearOnWarmPoolExit が無効のため、ウォームプールから出てもクリアされません。"
        "インスタンスがウォームプールから出たら、グループをもう一度クリアしてください。"
    ),
    not_group=(
        "このコマンドは {target} を対象にしているため、グループとは照合せず"
        "各インスタンスの結果のみで判定しています。"
    ),
    not_group_instances=(
        "このコマンドは{target}を直接指定しているため、グループとは照合せず"
        "各インスタンスの結果のみで判定しています。"
    ),
    scaling=(
        "グループはスケーリング中です（希望 {desired} 台、InService {in_service} 台、"
        "起動中 {pending} 台、終了中 {terminating} 台）。"
    ),
    cleared="完了した {instances} 台で計 {entries} 件のエントリを削除しました。",
    cleared_ok="（削除したエントリは計 {entries} 件）",
    cleared_partial="（完了した {instances} 台で計 {entries} 件を削除）",
    label_group="グループ",
    label_target="対象",
    label_command="コマンド ID",
    label_status="ステータス",
    label_reached="成功台数",
    label_requested="リクエスト日時",
    label_comment="コメント",
    reached="希望 {expected} 台中 {succeeded} 台",
    reached_of_targeted="送信先 {targeted} 台中 {succeeded} 台",
    status_with_details="{status}（{details}）",
    status_first_attempt="{status}（{attempts} 回の試行のうち 1 回目）",
    missing_title="*実行されていない InService インスタンス（{count} 台）*",
    joined_title="*クリアのリクエスト後に起動したインスタンス（キャッシュは空から開始、{count} 台）*",
    outside_title="*InService 以外のインスタンス（判定には含めません、{count} 台）*",
    outside_line="• `{instance}` {state}: {status}",
    outside_unlisted="グループの一覧にない（ウォームプール、または手動のタグ付け）",
    problems_title="*成功しなかったインスタンス（{count} 台）*",
    problem_line="• `{instance}` {status}",
    more="…ほか {count} 台",
    more_targets="…ほか {count} 件",
    console_link="<{url}|AWS コンソールでコマンドを開く>",
    fallback="{title}: {target}（コマンド {command_id}）",
    none="—",
    list_separator="、",
    sentence_separator="",
    target_instances="インスタンス ID（{ids}）",
    target_other="{targets}",
    target_unknown="不明な対象",
    time_format="%Y-%m-%d %H:%M:%S UTC",
    reasons={
        UnreadableReason.NO_ENVELOPE: "SNS の通知形式ではありません",
        UnreadableReason.NO_MESSAGE: "Message がありません",
        UnreadableReason.NOT_JSON: "Message が JSON ではありません",
        UnreadableReason.NOT_OBJECT: "Message が JSON オブジェクトではありません",
        UnreadableReason.NO_COMMAND_ID: "commandId がありません",
        UnreadableReason.BAD_COMMAND_ID: "commandId が Run Command の ID の形式ではありません",
        UnreadableReason.UNKNOWN_STATUS: "SSM が送らないステータスです",
    },
    title_stuck="🚨 有効期限を過ぎても {job}が終わっていません",
    summary_stuck=(
        "有効期限を過ぎても SSM のステータスは *{status}* のままです"
        "（対象 {targeted} 台中 {succeeded} 台でクリア済み）。コンソールでコマンドを確認してください。"
    ),
    stuck_watched=(
        "ウォッチドッグが 15 分ごとに確認し、終了したら結果を通知します。"
        "2 時間たっても終わらなければ確認をやめ、その旨を通知します。"
    ),
    stuck_unwatched=(
        "終了時に SSM の通知が届いた場合にのみ結果を通知します。ほかに再確認するものはありません。"
    ),
    title_old_code="⚠️ OPcache はリセットしましたが、古いコードが動き続けている可能性があります",
    reset_line=(
        "{instances} 台で OPcache を再起動し、コンパイル済みスクリプト計 {scripts} 件を破棄しました。"
    ),
    caveat_preload=(
        "{count} 台では、プリロードされたスクリプト（opcache.preload）が php-fpm のリロードまで残り、"
        "その古いコードが動き続けます。これらのインスタンスで php-fpm をリロードしてください。"
    ),
    caveat_file_cache=(
        "{count} 台では、ファイルキャッシュ（opcache.file_cache）がクリアされていません。"
        "古いコンパイル済みスクリプトが残り、再起動後に OPcache が再び読み込むため、古いコードが"
        "動く可能性があります。ファイルキャッシュを空にして php-fpm をリロードしてください。"
    ),
    caveat_validate_timestamps=(
        "{count} 台は validate_timestamps=1 のため、OPcache は revalidate_freq 秒ごとに自ら"
        "再検証します。"
    ),
    old_code_title="*古いコードが動いている可能性のあるインスタンス（{count} 台）*",
    old_code_line="• `{instance}` {caveats}",
    caveat_names={"preload": "プリロード", "file_cache": "ファイルキャッシュ"},
    label_action="アクション",
    problem_reason_line="• `{instance}` {status}: {reason}",
    reasons_line="OPcache をリセットできなかった理由: {reasons}。",
    reason_count="{reason}（{count} 台）",
    opcache_reasons={
        "disabled": "php-fpm で OPcache が無効",
        "restricted": "opcache.restrict_api がリセットを拒否",
        "not_restarted": "再起動が保留されたまま",
        "unconfirmed": "opcache.php の応答がなく、リセットを確認できない",
    },
    title_stopped="🛑 停止アラームで {job}が止まりました",
    title_cancelled="🛑 {job}がオペレーターによって取り消されました",
    summary_cancelled=(
        "すべてのインスタンスで{the_job}前にコマンドが取り消されました。{expected} 台中 {succeeded} 台は完了し、"
        "{stale} 台は古いキャッシュのままです。取り消されたクリアは自動では再試行しません。"
    ),
    summary_stopped=(
        "{the_job}の実行中に停止アラーム {alarms} が ALARM になったため、SSM は残りの"
        "インスタンスで実行を始めませんでした。{target} の {expected} 台中 {succeeded} 台は"
        "その前に完了し、InService の {stale} 台には古いキャッシュが残っています。"
    ),
    stopped_next=(
        "アラームが OK に戻ったら `apcu-flush retry {command_id}` で仕上げてください。"
        "古いままのインスタンスだけをクリアします。"
    ),
    held_continue=(
        "このインスタンスはライフサイクルフックでサービス投入を待っていましたが、"
        "設定（WarmPoolUncleared `continue`）によりこのまま投入されます。"
        "クリアされるまで古いデータを返すおそれがあります。"
    ),
    held_abandon=(
        "このインスタンスはライフサイクルフックでサービス投入を待っていましたが、"
        "設定（WarmPoolUncleared `abandon`）により破棄され、Auto Scaling が代わりを起動します。"
    ),
    title_never_ended="🚨 {job}が終わらず、結果を判定できません",
    summary_never_ended=(
        "有効期限を過ぎて実行中と判明してから {minutes} 分たっても、SSM のステータスは "
        "*{status}* のままです（対象 {targeted} 台中 {succeeded} 台でクリア済み）。"
        "ウォッチドッグは確認をやめるため、結果は自動では判定されません"
        "（SSM の通知が届けばその時点で通知します）。コンソールでコマンドを確認して取り消し、"
        "クリアされていないインスタンスを調べてください。"
    ),
    notification_missing=(
        "⚠️ このコマンドの SSM 通知が届かなかったため、ウォッチドッグが判定しました。"
        "通知経路（トピック、その鍵ポリシー、サブスクリプション、SSM のサービスロール）が"
        f"壊れています。docs/deploy.md の「<{NOTIFICATION_PATH_DOCS}|SSM's notification never "
        "arrived>」を参照してください。"
    ),
    clear_title="{count} 台で再実行が必要でした:",
    clear_cleared="`{instance}`: {said}、{ordinal}回目でクリア",
    clear_still="`{instance}`: {said}。{attempts} 回試しても古いキャッシュのままです",
    clear_offline="`{instance}`: {said}。SSM エージェントが Online でないため再実行していません",
    clear_left="`{instance}`: {said}。InService でなくなりトラフィックを受けないため再実行していません",
    clear_not_retryable="`{instance}`: {said}。再実行しても同じ結果になるため再実行していません",
    clear_alarm="`{instance}`: {said}。停止アラームが ALARM のままだったため再実行していません",
    clear_then="、続いて ",
    clear_retry_hint="古いままのインスタンスをもう一度試すには: `apcu-flush retry {command_id}`",
    ordinals=("2", "3", "4"),
    title_started="⏳ {job}を開始しました",
    summary_started=(
        "*{target}* のインスタンスに送信しました。コマンドが終わると、このメッセージに結果を"
        "表示します。詳細はスレッドに書きます。"
    ),
    label_requester="依頼者",
    label_prefix="プレフィックス",
    whole_cache="（キャッシュ全体）",
    details_text="{title}の詳細",
    alert_reply="*{title}*: 結果は上のメッセージにあります。",
    retry_button="古いままの {count} 台をもう一度クリア",
    retry_button_one="古いままの 1 台をもう一度クリア",
    retry_of_clear="*{group}* のクリア（最初のコマンド `{first}`）の再試行です。以下はこの再試行の判定です。",
)

CATALOGUE: dict[Language, Messages] = {Language.EN: EN, Language.JA: JA}


def messages(language: Language) -> Messages:
    return CATALOGUE[language]
