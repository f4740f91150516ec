# Japanese text uses full-width parentheses, as Japanese writing does.
# ruff: noqa: RUF001
"""The Japanese catalogue. SSM's statuses stay in SSM's own (English) words, as the console and
the CLI show them; everything else is Japanese."""

from __future__ import annotations

from typing import ClassVar

from apcu_notifier.handler import UnreadableReason
from apcu_notifier.messages.en import DOCS, Count, Job, Messages


class Japanese(Messages):
    jobs: ClassVar[dict[str, Job]] = {
        "clear-apcu": Job("APCu のクリア", "APCu のクリア", "クリア", "クリアは不要です"),
        "reset-opcache": Job("OPcache のリセット", "OPcache のリセット", "リセット", "リセットは不要です"),
        "clear-all": Job("APCu のクリアと OPcache のリセット", "APCu のクリアと OPcache のリセット", "クリアとリセット", "クリアもリセットも不要です"),
    }
    instances = Count("{n} 台")
    entries = Count("{n} 件")
    scripts = Count("コンパイル済みスクリプト {n} 件")
    attempts = Count("{n} 回")
    minutes = Count("{n} 分")
    hours = Count("{n} 時間")
    who_in_group = "{target} の InService インスタンス {instances}"

    title_ok = "✅ {done}が全台で完了しました"
    title_ok_empty = "✅ 対象インスタンスが 0 台のため、クリアは不要でした"
    title_launching = "✅ 稼働中の全台で {done}が完了しました（起動中のインスタンスあり）"
    title_no_targets = "🚨 どのインスタンスでも {job}が実行されていません"
    title_mismatch = "⚠️ {job}がグループの全台に届いていません"
    title_partial = "⚠️ 一部のインスタンスで {job}に失敗しました"
    title_failed = "🚨 {job}に失敗しました"
    title_group_not_found = "🚨 {job}: Auto Scaling グループが見つかりません"
    title_unknown_command = "🚨 SSM に該当するコマンドがありません"
    title_unreadable = "🚨 読み取れない Run Command 通知を受け取りました"
    title_test_event = "🧪 テストイベントです（クリアは行われていません）"
    title_stuck = "🚨 有効期限を過ぎても {job}が終わっていません"
    title_never_ended = "🚨 {job}が終わらず、結果を判定できません"
    title_old_code = "⚠️ OPcache はリセットしましたが、古いコードが動き続けている可能性があります"
    title_stopped = "🛑 停止アラームにより {job}が止まりました"
    title_stopped_unread = "🛑 SSM が停止アラームを読み取れず、{job}が止まりました"
    title_cancelled = "🛑 {job}がオペレーターによって取り消されました"

    summary_ok = "{target} の InService インスタンスすべてで{the_job}が完了しました{removing}。"
    summary_ok_joined = "{target} では、{the_job}のリクエスト時に稼働していた InService インスタンスすべてで{the_job}が完了しました{removing}。"
    summary_ok_instances = "コマンドが指定したインスタンスすべてで{the_job}が完了しました{removing}。"
    summary_ok_empty = "{target} の希望台数は 0 台のため、キャッシュを持つサーバーはありませんでした。"
    launching = "希望台数に足りない分は起動中（Pending: {launching}）で、キャッシュが空の状態から始まるため{nothing}。"
    removing = "（削除したエントリは計 {entries}）"
    summary_no_targets_group = "{target} の希望台数は {wanted}ですが、SSM はどのインスタンスにもコマンドを送っていません。"
    summary_no_targets_other = "SSM はどのインスタンスにもコマンドを送っていません。まずターゲットの指定と、各インスタンスで SSM エージェントが動いているかを確認してください。"
    summary_missed = "SSM は {who}にコマンドを送っておらず、古いキャッシュが残っています。"
    check_agent = "まずコマンドが届いていないインスタンスの SSM エージェントを確認してください。SSM はマネージドノードにしかコマンドを送らないため、エージェントが動作し、登録されている必要があります（Fleet Manager、または `aws ssm describe-instance-information`）。"
    summary_short = "SSM は {target} の InService インスタンスすべてに届きましたが、稼働台数が希望台数より少なく、起動中のインスタンスもありません。まずグループのアクティビティ履歴（EC2 コンソールの Auto Scaling グループ、アクティビティ）で、インスタンスが起動しなかった、または外された理由を確認してください。"
    summary_not_finished = "{who}で{the_job}が完了しておらず、古いキャッシュが残っています。"
    others_removed = "ほかのインスタンスでは計 {entries}のエントリを削除しました。"
    summary_rate_exceeded = "アカウントの保留中の呼び出し数の上限を超えたため、SSM はどのインスタンスでも実行する前にコマンドを取り消しました。キャッシュはどれもそのままです。"
    summary_group_not_found = "Auto Scaling グループ {groups} は存在しません。コマンド送信後に削除された可能性があり、台数は確認できていません。"
    summary_unknown_command = "通知は届きましたが、SSM にこのコマンドが見つかりません。履歴の保持期間を過ぎたか、別のアカウントやリージョンのコマンドの可能性があります。"
    summary_unreadable = "通知を読み取れませんでした（{reason}）。判定は行っていません。受け取った内容:"
    summary_test_event = "これはテストイベントです。このコマンドは保存済みのサンプルで、SSM が実行したものではありません。クリアも判定も行っていません。"
    summary_stuck = "有効期限を 1 分過ぎても、SSM のステータスは *{status}* のままです（送信先 {sent}中 {finished} 台が完了）。このクリアは {watch}のあいだ {every}ごとに確認し、コマンドが終わった時点で結果を通知します。それでも終わらなければ、その旨を通知して確認をやめます。"
    summary_never_ended = "有効期限を過ぎたとの通知から {watched}たっても、SSM のステータスは *{status}* のままです（送信先 {sent}中 {finished} 台が完了）。このクリアは確認をやめてグループを解放したため、このコマンドの結果は通知されません。コマンドを取り消し（`aws ssm cancel-command --command-id {command_id}`）、グループをもう一度クリアしてください。"
    summary_stopped = "{the_job}の実行中に停止アラーム {alarms} が ALARM になったため、SSM は残りのインスタンスで実行を始めませんでした。{who}に古いキャッシュが残っています。"
    summary_stopped_unread = "SSM が停止アラーム {alarms} を読み取れなかったため（状態は UNKNOWN）、まだ実行していなかったインスタンスをすべて保留しました。{who}に古いキャッシュが残っています。"
    summary_cancelled = "全インスタンスで実行が終わる前に、誰かがコマンドを取り消しました（誰が取り消したかは CloudTrail の CancelCommand イベントでわかります）。{who}に古いキャッシュが残っています。"
    summary_old_code = "{target} の InService インスタンスすべてで OPcache を再起動し、{scripts}を破棄しましたが、{old}では古いコードが動き続けている可能性があります。"
    finish = "古いままのインスタンスだけをもう一度クリアするには、{how} を使ってください。"
    finish_stopped = "古いままのインスタンスは自動では再試行しません。アラームが OK に戻ったら、{how} で仕上げてください（古いままのインスタンスだけをクリアします）。"
    finish_stopped_unread = "古いままのインスタンスは自動では再試行しません。まずアラームがこのリージョンにまだあること、SSM のサービスにリンクされたロール AWSServiceRoleForAmazonSSM があることを確認し、{how} で仕上げてください（古いままのインスタンスだけをクリアします）。"
    finish_cancelled = "取り消されたクリアは自動では再試行しません。安全を確認できたら、{how} で仕上げてください（古いままのインスタンスだけをクリアします）。"
    how_button = "下のボタンか {cli}"
    not_group_instances = "このコマンドは Auto Scaling グループではなくインスタンス ID を直接指定しているため、各インスタンスの結果のみで判定しています。"
    not_group_other = "このコマンドはグループのタグだけで対象を指定していないため、各インスタンスの結果のみで判定しています。"
    scaling = "グループはスケーリング中です（InService {in_service} 台、起動中 {pending} 台、終了中 {terminating} 台）。"
    warm_pool_hibernated = "{groups} のウォームプールはインスタンスを休止（Hibernated）状態で保持しているため、その APCu は古い内容のまま残っています（トラフィックは受けていません）。ウォームプールから出る際に、スタックが各インスタンスをクリアします。"
    warm_pool_hibernated_uncleared = "{groups} のウォームプールはインスタンスを休止（Hibernated）状態で保持しているため、その APCu は古い内容のまま残っています。まだトラフィックは受けていませんが、ClearOnWarmPoolExit が無効のため、ウォームプールから出てもクリアされません。インスタンスがウォームプールから出たら、グループをもう一度クリアしてください。"
    reset_line = "{instances}で OPcache を再起動し、{scripts}を破棄しました。"
    caveat_preload = "プリロードと示したインスタンスでは、プリロードされたスクリプト（opcache.preload）が php-fpm のリロードまで残ります。そこで php-fpm をリロードしてください。"
    caveat_file_cache = "ファイルキャッシュと示したインスタンスでは、ファイルキャッシュ（opcache.file_cache）がクリアされておらず、OPcache が古いコンパイル済みスクリプトを再び読み込みます。そこでファイルキャッシュを空にし、php-fpm をリロードしてください。"
    caveat_validate_timestamps = "{instances}では validate_timestamps が有効なため、OPcache は revalidate_freq 秒ごとに変更されたファイルを自ら再検証します。"
    held_continue = "このインスタンスはライフサイクルフックでサービス投入を待っていましたが、設定（WarmPoolUncleared `continue`）によりこのまま投入されます。クリアされるまで古いデータを返すおそれがあります。"
    held_abandon = "このインスタンスはライフサイクルフックでサービス投入を待っていましたが、設定（WarmPoolUncleared `abandon`）により破棄され、Auto Scaling が代わりを起動します。"
    notification_missing = f"⚠️ このコマンドの SSM 通知が届かなかったため、有効期限の 1 分後にこのクリアが自ら確認して判定しました。通知経路（トピック、その鍵ポリシー、サブスクリプション、SSM のサービスロール）が壊れています。docs/deploy.md の「<{DOCS}deploy.md#ssms-notification-never-arrived|SSM's notification never arrived>」を参照してください。"

    label_group = "グループ"
    label_target = "対象"
    label_command = "コマンド ID"
    label_status = "ステータス"
    label_succeeded = "成功台数"
    label_requested = "リクエスト日時"
    label_requester = "依頼者"
    label_comment = "コメント"
    label_action = "アクション"
    label_retried_by = "再試行の依頼者"
    label_prefix = "プレフィックス"
    succeeded_of_wanted = "希望 {wanted} 台中 {succeeded} 台"
    succeeded_of_sent = "送信先 {sent} 台中 {succeeded} 台"
    status_first_of = "{status}（{attempts} 回の試行の 1 回目）"

    missing_title = "*InService なのにコマンドが届いていないインスタンス（{count} 台）*"
    joined_title = "*{the_job}のリクエスト後に起動し、キャッシュが空から始まったため{nothing}（{count} 台）*"
    outside_title = "*InService 以外のインスタンス（トラフィックを受けないため判定に含めません、{count} 台）*"
    outside_unlisted = "グループの一覧にない（ウォームプール、または手動のタグ付け）"
    problems_title = "*{the_job}が完了しなかったインスタンス（{count} 台）*"
    group_count = "（{count} 台）"
    hint = ": {hint}。"
    said_hints: ClassVar[dict[str, str]] = {
        "Delivery Timed Out": "配信タイムアウトまでに SSM エージェントがコマンドを受け取りませんでした。エージェントが動作していて Online かを確認してください",
        "Undeliverable": "SSM がコマンドを配信できませんでした。インスタンスが停止しているか、エージェントが応答していない可能性があります",
        "Execution Timed Out": "スクリプトがドキュメントの実行タイムアウトを過ぎても終わりませんでした",
        "Failed": "インスタンス上でスクリプトが失敗しました",
        "Access Denied": "呼び出し元にはこのインスタンスでドキュメントを実行する権限がありません",
        "Terminated": "コマンドの MaxErrors に達したため、SSM が打ち切りました",
        "not reached": "SSM はコマンドを送っていません。SSM エージェントが動作し、登録されているかを確認してください",
    }
    old_code_title = "*古いコードが動いている可能性のあるインスタンス（{count} 台）*"
    caveat_names: ClassVar[dict[str, str]] = {
        "preload": "プリロード",
        "file_cache": "ファイルキャッシュ",
    }
    history_title = "*最初の試行でクリアされなかったインスタンス（{instances}）*"
    history_cleared = "{said}、{attempt} 回目の試行でクリア"
    history_still = "{said}。{attempts}試しても古いキャッシュのままです"
    history_left_out = "{said}。再実行していません（{why}）"
    history_notes: ClassVar[dict[str, str]] = {
        "offline": "SSM エージェントが Online ではないため",
        "left": "InService でなくなり、トラフィックを受けないため",
        "not-retryable": "再実行しても同じ結果になるため",
        "alarm": "停止アラームが ALARM のままだったため",
        "claim": "別のクリアがグループを引き継いだため",
    }
    history_then = "、続いて "
    more = "…ほか {count} 台"
    more_targets = "…ほか {count} 件"
    console_link = "<{url}|AWS コンソールでコマンドを開く>"
    about_command = "（コマンド {command_id}）"
    list_separator = "、"
    sentence_separator = ""
    target_instances = "インスタンス ID（{ids}）"
    target_unknown = "不明な対象"
    zone_named = "{name}（{offset}）"
    reasons: ClassVar[dict[UnreadableReason, str]] = {
        UnreadableReason.NO_ENVELOPE: "SNS の通知形式ではありません",
        UnreadableReason.NO_MESSAGE: "Message がありません",
        UnreadableReason.NOT_JSON: "Message が JSON ではありません",
        UnreadableReason.NOT_OBJECT: "Message が JSON オブジェクトではありません",
        UnreadableReason.NO_COMMAND_ID: "commandId がありません",
        UnreadableReason.BAD_COMMAND_ID: "commandId が Run Command の ID の形式ではありません",
        UnreadableReason.UNKNOWN_STATUS: "SSM が送らないステータスです",
    }
    opcache_reasons: ClassVar[dict[str, str]] = {
        "disabled": "php-fpm で OPcache が無効",
        "restricted": "opcache.restrict_api がリセットを拒否",
        "not_restarted": "再起動が保留されたまま",
        "unconfirmed": "opcache.php の応答がなく、リセットを確認できない",
    }

    title_started = "⏳ {job}を開始しました"
    summary_started = "*{target}* のインスタンスに送信しました。コマンドが終わると、このメッセージに結果を表示します。詳細はスレッドに書きます。"
    whole_cache = "（キャッシュ全体）"
    details_text = "{title}の詳細"
    alert_reply = "*{title}*: 結果は上のメッセージにあります。"
    retry_button = "古いままの {stale}をもう一度クリア"
