# Japanese text uses full-width parentheses, as Japanese writing does.
# ruff: noqa: RUF001
"""How the stack's settings shape its messages: MESSAGE_TIME_ZONE (read, refused, and found
without the system's tz database, as on Lambda) and DOCS_URL."""

from __future__ import annotations

import datetime as dt
import sys
import zoneinfo
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from apcu_notifier.config import Config, ConfigError, Language
from apcu_notifier.messages import CATALOGUE, REPOSITORY_URL
from apcu_notifier.render import render
from apcu_notifier.render.words import when
from harness.stack import environment
from tests.notifier.builders import REQUESTED
from tests.notifier.snapshots import control_sequences, plain
from tests.notifier.test_render import ASKED, CASES, rendered, style

ROOT = Path(__file__).resolve().parents[2]
SUMMER = dt.datetime(2026, 7, 2, 9, 15, 3, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("zone", "moment", "en", "ja"),
    [
        ("UTC", REQUESTED, "2026-03-02 09:15:03 UTC", "2026-03-02 09:15:03 UTC"),
        (
            "Asia/Tokyo",
            REQUESTED,
            "2026-03-02 18:15:03 JST (UTC+09:00)",
            "2026-03-02 18:15:03 JST（UTC+09:00）",
        ),
        (
            "America/New_York",
            REQUESTED,
            "2026-03-02 04:15:03 EST (UTC-05:00)",
            "2026-03-02 04:15:03 EST（UTC-05:00）",
        ),
        (
            "America/New_York",
            SUMMER,
            "2026-07-02 05:15:03 EDT (UTC-04:00)",
            "2026-07-02 05:15:03 EDT（UTC-04:00）",
        ),
        (
            "Asia/Kolkata",
            REQUESTED,
            "2026-03-02 14:45:03 IST (UTC+05:30)",
            "2026-03-02 14:45:03 IST（UTC+05:30）",
        ),
        # A zone with no abbreviation of its own is named by its offset.
        ("Asia/Dubai", REQUESTED, "2026-03-02 13:15:03 UTC+04:00", "2026-03-02 13:15:03 UTC+04:00"),
    ],
)
def test_times_are_written_in_the_zone_with_the_zone_shown(
    zone: str, moment: dt.datetime, en: str, ja: str
) -> None:
    assert when(moment, ZoneInfo(zone), CATALOGUE[Language.EN]) == en
    assert when(moment, ZoneInfo(zone), CATALOGUE[Language.JA]) == ja


@pytest.mark.parametrize("language", list(Language))
def test_the_requested_field_uses_message_time_zone(language: Language) -> None:
    text = plain(rendered("ok", language, zone="Europe/London"))
    assert "2026-03-02 09:15:03 GMT" in text
    text = plain(rendered("ok", language, zone="Asia/Tokyo"))
    assert "2026-03-02 18:15:03 JST" in text and "09:15:03" not in text


def test_message_time_zone_is_read_and_checked_at_start() -> None:
    config = Config.from_env(environment(MESSAGE_TIME_ZONE="Asia/Tokyo"))
    assert config.time_zone == ZoneInfo("Asia/Tokyo")
    for wrong in ("Tokyo", "asia/tokyo", "../etc/passwd", "/etc/localtime", "America"):
        with pytest.raises(ConfigError, match="MESSAGE_TIME_ZONE must be an IANA time zone name"):
            Config.from_env(environment(MESSAGE_TIME_ZONE=wrong))
    with pytest.raises(ConfigError, match="MESSAGE_TIME_ZONE is not set"):
        Config.from_env(environment(MESSAGE_TIME_ZONE=""))


@pytest.fixture
def no_system_tz_database() -> Iterator[None]:
    """zoneinfo as on a runtime without /usr/share/zoneinfo and without the tzdata package."""
    zoneinfo.reset_tzpath(to=[])
    ZoneInfo.clear_cache()
    hidden = sys.modules.get("tzdata")
    sys.modules["tzdata"] = None  # type: ignore[assignment]  # import tzdata now fails
    yield
    sys.modules.pop("tzdata")
    if hidden is not None:
        sys.modules["tzdata"] = hidden
    zoneinfo.reset_tzpath()
    ZoneInfo.clear_cache()


@pytest.mark.parametrize(
    "zone", ["UTC", "Asia/Tokyo", "US/Eastern", "America/Argentina/Buenos_Aires"]
)
def test_the_zone_is_found_without_a_tz_database(no_system_tz_database: None, zone: str) -> None:
    # Lambda's python3.13 runtime may have no tz database: python-dateutil's copy serves.
    with pytest.raises(zoneinfo.ZoneInfoNotFoundError):
        ZoneInfo(zone)
    config = Config.from_env(environment(MESSAGE_TIME_ZONE=zone))
    assert when(SUMMER, config.time_zone, CATALOGUE[Language.EN]).startswith("2026-07-0")
    tokyo = Config.from_env(environment(MESSAGE_TIME_ZONE="Asia/Tokyo")).time_zone
    assert when(REQUESTED, tokyo, CATALOGUE[Language.EN]).endswith("JST (UTC+09:00)")
    for wrong in ("Tokyo", "America", "UTC+3", "JST-9"):
        with pytest.raises(ConfigError, match="MESSAGE_TIME_ZONE must be an IANA time zone name"):
            Config.from_env(environment(MESSAGE_TIME_ZONE=wrong))


def test_docs_url_is_read_and_checked_at_start() -> None:
    fork = "https://git.example.com/platform/apcu-fleet-flush"
    assert Config.from_env(environment(DOCS_URL=fork + "/")).docs_url == fork
    for wrong in ("http://git.example.com/x", "git.example.com/x", "https://x.example/?a=1"):
        with pytest.raises(ConfigError, match="DOCS_URL must be the https address"):
            Config.from_env(environment(DOCS_URL=wrong))
    with pytest.raises(ConfigError, match="DOCS_URL is not set"):
        Config.from_env(environment(DOCS_URL=""))


@pytest.mark.parametrize("language", list(Language))
def test_links_to_the_docs_lead_to_docs_url(language: Language) -> None:
    # Given an internal fork that names its own copy of the repository
    fork = "https://git.example.com/platform/apcu-fleet-flush"
    build, request = CASES["ok-notification-missing"]
    payload = render(build(), replace(style(language), docs_url=fork), request)
    links = [c for c in control_sequences(plain(payload)) if "console.aws.amazon.com" not in c]
    # Then every link to the docs leads there, and none to the public repository
    assert links and all(link.startswith(f"<{fork}/blob/main/docs/") for link in links)
    assert REPOSITORY_URL not in plain(payload)


def test_the_default_docs_url_is_the_repository_the_template_names() -> None:
    assert environment()["DOCS_URL"] == REPOSITORY_URL
    assert render(CASES["ok"][0](), style(), ASKED)
