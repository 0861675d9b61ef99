"""The analytics screen, compare, the suppression list, the recipients' suppressed marker and
the export dialog, on the fixed data of tests/tui/data.py (seed, plus seed_analytics where a
test needs camp_done's richer events)."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from rich.console import Console
from rich.text import Text
from sqlalchemy import select

from core.figures import Volume
from core.store import Suppression
from tests.tui.conftest import settle
from tests.tui.data import HOSTILE_LINK, LINK_A, LINK_B, seed_analytics
from tests.tui.helpers import column_values, notifications, press, select_campaign, table
from tui.screens.analytics import AnalyticsScreen
from tui.screens.compare import CampaignPicker, CompareScreen
from tui.screens.recipients import RecipientsScreen
from tui.screens.suppressions import SuppressionsScreen
from tui.widgets.chart import EIGHTHS, HEIGHT, bar_rows, group, render_chart
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.export_dialog import ExportDialog, default_name


@pytest.fixture
def october(db, ids) -> dict[str, int]:
    with db.transaction() as session:
        return seed_analytics(session)


def text_of(app, selector: str) -> str:
    """What a widget shows, as plain text (rich tables rendered at 200 columns)."""
    widget = app.screen.query_one(selector)
    content = getattr(widget, "content", None)
    if content is not None and not isinstance(content, str | Text):
        console = Console(width=200, color_system=None)
        with console.capture() as captured:
            console.print(content)
        return captured.get()
    return str(widget.render())


async def open_analytics(pilot, campaign_id: str) -> AnalyticsScreen:
    await settle(pilot)
    await select_campaign(pilot, campaign_id)
    await press(pilot, "A")
    screen = pilot.app.screen
    assert isinstance(screen, AnalyticsScreen)
    assert screen.report is not None
    return screen


# -- the analytics screen ---------------------------------------------------------------------
async def test_spring_figures_from_the_fixed_data(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_analytics(pilot, "camp_spring")
        s = screen.report.stats
        # 16 of the 20 leads were sent, plus the hostile address: 17. Counters come from the
        # rows (9 opened, 3 clicked, 1 replied, olga bounced); events exist for ana (2 opens,
        # a click, a reply), olga (a bounce) and the hostile address (an open): no machine.
        assert (s.total_recipients, s.emails_sent, s.emails_opened) == (21, 17, 9)
        assert (s.total_opens, s.unique_opens, s.total_clicks, s.unique_clicks) == (3, 2, 1, 1)
        assert (s.human_opens, s.human_clicks, s.machine_opens, s.machine_clicks) == (2, 1, 0, 0)
        assert (s.hard_bounces, s.soft_bounces, s.complaints, s.unsubscribes) == (1, 0, 0, 0)
        figures = text_of(app, "#figures")
        for shown in ("52.9%", "11.8%", "17.6%", "5.9%", "33.3%", "50.0%"):
            assert shown in figures  # open, human open, click, human click/reply, CTO, human
        header = text_of(app, "#summary")
        assert "camp_spring" in header and "started 2026-11-01 09:00" in header
        # started T0, now T0 + 27 h: 28 hourly buckets (09:00 ... 12:00 next day), no daily
        activity = screen.report.activity
        assert len(activity.hourly) == 28 and activity.daily == ()
        assert [
            (b.start.hour, b.opens, b.clicks) for b in activity.hourly if b.opens or b.clicks
        ] == [
            (9, 1, 0),  # the hostile address at 09:05
            (10, 2, 0),  # ana at 10:00 and 10:40
            (11, 0, 1),  # ana's click
        ]
        assert column_values(app, "#links", "url") == [
            "https://example.com/spring?utm_source=email"
        ]
        assert column_values(app, "#bounces", "code") == ["550"]
        assert app.screen.query_one("#chart-daily").display is False
        await press(pilot, "escape")
        assert app.screen.id == "campaigns-screen"


async def test_october_human_machine_links_bounces_and_both_charts(make_app, october):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_analytics(pilot, "camp_done")
        s = screen.report.stats
        # seed_analytics: 20 sent; opened 0-12 (13), of whom 0-11 by a person (12, as 12 was
        # only Apple's proxy); clicked 0-7 (8), 0-6 by a person (7, as 7 was a scanner).
        assert (s.emails_sent, s.emails_opened, s.human_opens) == (20, 13, 12)
        assert (s.emails_clicked, s.human_clicks) == (8, 7)
        assert (s.open_rate, s.human_open_rate) == (65.0, 60.0)
        assert (s.click_rate, s.human_click_rate) == (40.0, 35.0)
        # opens: 6 proxy + 12 people + 4 re-reads; clicks: 7 + ana's second + the scanner's
        assert (s.total_opens, s.unique_opens, s.machine_opens) == (22, 13, 6)
        assert (s.total_clicks, s.unique_clicks, s.machine_clicks) == (9, 8, 1)
        assert (s.hard_bounces, s.soft_bounces, s.complaints, s.unsubscribes) == (2, 2, 1, 2)
        figures = text_of(app, "#figures")
        for shown in ("65.0%", "60.0%", "40.0%", "35.0%", "61.5%", "58.3%", "20.0%"):
            assert shown in figures
        events = text_of(app, "#events")
        assert "Unsubscribes" in events and "Complaints" in events
        # links: most clicked first, shares of 9 clicks, the hostile URL shown literally
        assert column_values(app, "#links", "url") == [
            LINK_A,
            LINK_B,
            HOSTILE_LINK.replace("\x1b", "\\x1b"),
        ]
        assert column_values(app, "#links", "unique") == ["4", "3", "1"]
        assert column_values(app, "#links", "share") == ["55.6%", "33.3%", "11.1%"]
        assert column_values(app, "#bounces", "kind") == ["hard", "soft", "soft"]
        assert column_values(app, "#bounces", "code") == ["550", "421", "none"]
        assert column_values(app, "#bounces", "bounces") == ["2", "1", "1"]
        assert "hard 2 · soft 2" in text_of(app, "#bounces-title")
        # 72 hourly buckets from 10-12 09:00, then days 10-15 ... 11-02
        a = screen.report.activity
        assert len(a.hourly) == 72 and len(a.daily) == 19
        assert sum(b.opens for b in a.hourly) == 18 and sum(b.clicks for b in a.hourly) == 8
        assert sum(b.opens for b in a.daily) == 4 and sum(b.clicks for b in a.daily) == 1
        hourly = text_of(app, "#chart-hourly")
        assert "Opens per 2 hours" in hourly  # 72 hours don't fit in 80 columns
        assert "█" in hourly and "total 18" in hourly
        assert "Opens per day" in text_of(app, "#chart-daily")


async def test_analytics_from_the_recipients_screen_and_refresh(started, db):
    async with started(size=(80, 24)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "enter")
        assert isinstance(app.screen, RecipientsScreen)
        await press(pilot, "A")
        assert isinstance(app.screen, AnalyticsScreen)
        assert app.screen.report.stats.campaign_id == "camp_spring"
        with psycopg.connect(db.url) as conn:  # another program: ben clicks
            conn.execute(
                "INSERT INTO email_tracking (campaign_recipient_id, event_type, created_at)"
                " SELECT id, 'click', %s FROM campaign_recipients"
                " WHERE email_address = 'ben@example.com' AND campaign_id = %s",
                (datetime(2026, 11, 1, 11, 30, tzinfo=UTC), app.screen.campaign_pk),
            )
        assert app.screen.report.stats.human_clicks == 1
        await press(pilot, "ctrl+r")
        assert app.screen.report.stats.human_clicks == 2
        await press(pilot, "escape")
        assert isinstance(app.screen, RecipientsScreen)


async def test_a_campaign_deleted_meanwhile_is_a_message_not_a_crash(make_app, db):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_analytics(pilot, "camp_paused")
        with psycopg.connect(db.url) as conn:
            conn.execute("DELETE FROM campaigns WHERE id = %s", (screen.campaign_pk,))
        await press(pilot, "ctrl+r")
        assert app.screen is screen and app.is_running
        # every part failed alike; said once
        assert sum("No campaign" in n for n in notifications(app)) == 1


async def until(predicate, timeout: float = 15.0) -> None:
    started = time.perf_counter()
    while not predicate():
        assert time.perf_counter() - started < timeout, "timed out"
        await asyncio.sleep(0.02)


async def test_live_refresh_when_this_campaign_changes(make_app, db):
    app = make_app(live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: bool(getattr(app.screen, "summaries", None)))
        await select_campaign(pilot, "camp_spring")
        await pilot.press("A")
        await until(lambda: getattr(app.screen, "report", None) is not None)
        screen = app.screen
        with psycopg.connect(db.url) as conn:
            conn.execute(
                "INSERT INTO email_tracking (campaign_recipient_id, event_type, created_at)"
                " SELECT id, 'open', %s FROM campaign_recipients"
                " WHERE email_address = 'ines@example.com' AND campaign_id = %s",
                (datetime(2026, 11, 1, 12, 0, tzinfo=UTC), screen.campaign_pk),
            )
        await until(lambda: screen.report.stats.human_opens == 3)
        await until(lambda: not screen.pacer.running)
        assert "17.6%" in text_of(app, "#figures")  # 3 human opens of 17 sent


# -- compare ----------------------------------------------------------------------------------
def compare_cell(app, key: str, column: str) -> str:
    value = table(app, "#compare-table").get_cell(key, column)
    return value.plain if isinstance(value, Text) else str(value)


async def test_compare_two_campaigns_side_by_side(make_app, october):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_analytics(pilot, "camp_done")
        await press(pilot, "c")
        assert isinstance(app.screen, CampaignPicker)
        names = column_values(app, "#pick-list", "name")
        assert "October newsletter" not in names  # not with itself
        await press(pilot, *"spring")
        assert column_values(app, "#pick-list", "name") == ["Spring launch"]
        await press(pilot, "enter")
        assert isinstance(app.screen, CompareScreen)
        # A = October (20 sent, 65.0% open), B = Spring (17 sent, 52.9% open)
        assert compare_cell(app, "emails_sent", "a") == "20"
        assert compare_cell(app, "emails_sent", "b") == "17"
        assert compare_cell(app, "emails_sent", "change") == "-3"
        assert compare_cell(app, "open_rate", "change") == "-12.1 pp"
        assert compare_cell(app, "human_open_rate", "b") == "11.8%"
        assert compare_cell(app, "complaints", "change") == "-1"
        assert compare_cell(app, "forwards", "change") == "0"  # none in either
        header = text_of(app, "#compare-header")
        assert "camp_done" in header and "camp_spring" in header
        await press(pilot, "s")  # swap
        assert compare_cell(app, "emails_sent", "change") == "+3"
        assert compare_cell(app, "open_rate", "a") == "52.9%"
        await press(pilot, "c", *"camp_paused", "enter")  # by campaign id
        assert compare_cell(app, "emails_sent", "b") == "1"
        await press(pilot, "escape")
        assert isinstance(app.screen, AnalyticsScreen)


async def test_picker_escape_leaves_the_screen_alone(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_analytics(pilot, "camp_spring")
        await press(pilot, "c", *"nothing like this")
        assert column_values(app, "#pick-list", "name") == []
        assert "No campaign matches" in text_of(app, "#problem")
        await press(pilot, "escape")
        assert isinstance(app.screen, AnalyticsScreen)


# -- suppressions -----------------------------------------------------------------------------
def suppressed_addresses(db) -> list[str]:
    with db.reading() as session:
        return list(session.scalars(select(Suppression.email_address).order_by(Suppression.id)))


async def test_suppression_list_search_and_lift_with_confirmation(make_app, db, october):
    app = make_app()
    before = suppressed_addresses(db)
    # olga's hard bounce (spring), then camp_done's unsubscribes, hard bounces; the complaint
    # was olga's again, already listed
    assert before == [f"{n}@example.com" for n in ("olga", "nils", "pavel", "quinn", "rosa")]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "S")
        assert isinstance(app.screen, SuppressionsScreen)
        assert column_values(app, "#suppressions", "email_address") == before
        assert column_values(app, "#suppressions", "reason")[:2] == ["hard_bounce", "unsubscribe"]
        assert "rows 1-5 of 5" in text_of(app, "#status-line")
        await press(pilot, "slash", *"quinn", "enter")
        assert column_values(app, "#suppressions", "email_address") == ["quinn@example.com"]
        # n and Escape leave it listed
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmDialog)
        assert "quinn@example.com" in text_of(app, ".question")
        await press(pilot, "n")
        await press(pilot, "d", "escape")
        assert isinstance(app.screen, SuppressionsScreen)
        assert "quinn@example.com" in suppressed_addresses(db)
        # y lifts it: the row is gone from the database and from the list
        await press(pilot, "d", "y")
        assert "quinn@example.com" not in suppressed_addresses(db)
        assert column_values(app, "#suppressions", "email_address") == []
        assert any("Lifted the suppression of quinn@example.com" in n for n in notifications(app))
        await press(pilot, "escape")  # clears the search
        assert len(column_values(app, "#suppressions", "email_address")) == 4
        await press(pilot, "escape")
        assert app.screen.id == "campaigns-screen"


async def test_lifting_is_refused_read_only(started, db):
    async with started(read_only=True, size=(80, 24)) as (app, pilot):
        await press(pilot, "S", "d")
        assert isinstance(app.screen, SuppressionsScreen)  # no dialog
        assert suppressed_addresses(db) == ["olga@example.com"]
        assert "read-only" in text_of(app, "#status-line")


async def test_recipients_screen_marks_suppressed_addresses(started):
    async with started(size=(80, 24)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "enter")
        emails = column_values(app, "#recipients", "email_address")
        marks = column_values(app, "#recipients", "status")
        assert {e for e, m in zip(emails, marks, strict=True) if "⊘" in m} == {"olga@example.com"}
        assert marks[emails.index("olga@example.com")] == "bounced ⊘"
        assert "1 suppressed on this page" in text_of(app, "#status-line")
        # the marker is there at 80 columns (on the status), and the email has the room
        shown = [c.key for c in table(app, "#recipients").shown_columns]
        assert "status" in shown and "email_address" in shown


# -- export -----------------------------------------------------------------------------------
async def open_export(pilot, path) -> ExportDialog:
    await press(pilot, "x")
    dialog = pilot.app.screen
    assert isinstance(dialog, ExportDialog)
    dialog.query_one("#path").value = str(path)
    await press(pilot, "tab", "tab")  # from the first choice past the format to the file
    assert pilot.app.focused is dialog.query_one("#path")
    return dialog


async def test_export_writes_the_file_and_refuses_to_overwrite_unasked(make_app, tmp_path):
    app = make_app()
    target = tmp_path / "spring.csv"
    async with app.run_test(size=(80, 24)) as pilot:
        await open_analytics(pilot, "camp_spring")
        await open_export(pilot, target)
        await press(pilot, "enter")
        assert isinstance(app.screen, AnalyticsScreen)  # closed when done
        with target.open(newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0][:2] == ["id", "email_address"] and len(rows) == 1 + 21
        assert not (tmp_path / "spring.csv.partial").exists()
        assert any("Exported 21 rows (recipients)" in n for n in notifications(app))

        # the same path again: asks; n leaves the file as it was and the dialog open
        target.write_text("keep me\n")
        dialog = await open_export(pilot, target)
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmDialog)
        assert str(target) in text_of(app, ".question")
        await press(pilot, "n")
        assert app.screen is dialog and target.read_text() == "keep me\n"
        assert "Not replaced" in text_of(app, "#problem")
        # y replaces it: events as JSON lines this time (spring has 6 events)
        await pilot.click("#what-events")
        await pilot.click("#format-jsonl")
        await settle(pilot)
        await pilot.click("#export")  # Enter would pick a radio button there
        await press(pilot, "y")
        assert isinstance(app.screen, AnalyticsScreen)
        lines = target.read_text().splitlines()
        assert len(lines) == 6
        assert {json.loads(line)["event_type"] for line in lines} == {
            "open",
            "click",
            "reply",
            "bounce",
        }
        assert list(tmp_path.iterdir()) == [target]


async def test_export_says_why_nothing_was_written(started, tmp_path):
    async with started(size=(80, 24)) as (app, pilot):
        await select_campaign(pilot, "camp_done")
        await open_export(pilot, tmp_path / "no such dir" / "x.csv")
        await press(pilot, "enter")
        assert isinstance(app.screen, ExportDialog)
        assert "There is no directory" in text_of(app, "#problem")
        await open_export_value(pilot, tmp_path)
        await press(pilot, "enter")
        assert "is a directory" in text_of(app, "#problem")
        await press(pilot, "escape")
        assert app.screen.id == "campaigns-screen"
        assert list(tmp_path.iterdir()) == []


async def open_export_value(pilot, path) -> None:
    pilot.app.screen.query_one("#path").value = str(path)
    await settle(pilot)


async def test_export_choice_changes_the_default_name_until_edited(started):
    async with started(size=(120, 40)) as (app, pilot):
        await select_campaign(pilot, "camp_spring")
        await press(pilot, "x")
        box = app.screen.query_one("#path")
        assert box.value == "camp_spring-recipients.csv"
        await pilot.click("#what-links")
        await pilot.click("#format-jsonl")
        await settle(pilot)
        assert box.value == "camp_spring-links.jsonl"
        box.value = "mine.csv"
        await pilot.click("#what-stats")
        await settle(pilot)
        assert box.value == "mine.csv"
    assert default_name("[b]x/y", "events", "csv") == "b_x_y-events.csv"


async def test_export_progress_from_the_worker(make_app, tmp_path, db, ids):
    """A campaign bigger than one progress step: the bar's total is the recipient count."""
    with psycopg.connect(db.url) as conn:
        conn.execute(
            "INSERT INTO leads (email, name) SELECT 'p' || g || '@example.com', 'P' || g"
            " FROM generate_series(1, 2500) g"
        )
        conn.execute(
            "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status)"
            " SELECT %s, id, email, 'pending' FROM leads WHERE email ~ '^p[0-9]+@example[.]com$'",
            (ids["evil"],),
        )
    app = make_app()
    seen: list[tuple[int, int | None]] = []

    def hook(message) -> None:
        if isinstance(message, ExportDialog.ExportProgressed):
            seen.append((message.done, message.total))

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_evil")
        await open_export(pilot, tmp_path / "big.csv")
        await press(pilot, "enter")
        assert app.screen.id == "campaigns-screen"
    rows = (tmp_path / "big.csv").read_text().splitlines()
    assert len(rows) == 1 + 2501
    assert seen[0] == (0, 2501) and seen[-1] == (2501, 2501)
    assert (1000, 2501) in seen and (2000, 2501) in seen


# -- the chart, without the app ---------------------------------------------------------------
T = datetime(2026, 1, 1, tzinfo=UTC)


def buckets(*pairs: tuple[int, int]) -> list[Volume]:
    return [Volume(T + timedelta(hours=i), o, c) for i, (o, c) in enumerate(pairs)]


def test_group_adds_neighbours_up_when_narrow():
    data = buckets(*[(i, 1) for i in range(10)])
    per, columns = group(data, 4)
    assert per == 3 and [c.opens for c in columns] == [3, 12, 21, 9]
    assert [c.clicks for c in columns] == [3, 3, 3, 1]
    assert columns[1].start.start == T + timedelta(hours=3)
    assert group(data, 20)[0] == 1


def test_bars_in_eighths_and_small_values_still_show():
    rows = bar_rows([0, 1, 8, 16], 2, 1, "")
    assert [r.plain for r in rows] == ["   █", " ▁██"]
    assert [r.plain for r in bar_rows([1000, 1], 1, 1, "")] == ["█▁"]  # 1 of 1,000 shows
    assert EIGHTHS[0] == " " and len(EIGHTHS) == 9


@pytest.mark.parametrize("width", [30, 40, 78, 118])
def test_chart_fits_its_width_and_labels_do_not_overlap(width):
    data = buckets(*[(i % 7 * 100, i % 3) for i in range(72)])
    text = render_chart(data, "hour", width, UTC, caption="first 72 h")
    lines = text.plain.split("\n")
    assert len(lines) == HEIGHT
    assert all(len(line) <= width for line in lines)
    labels = lines[-1].split()
    # "01-01 00:00" style labels, two words each, in time order, none cut
    stamps = [" ".join(labels[i : i + 2]) for i in range(0, len(labels), 2)]
    assert all(len(s) == 11 for s in stamps) and stamps == sorted(stamps)
    if width >= 40:  # narrower, the title is cut with an ellipsis
        assert f"total {sum(b.opens for b in data):,}" in lines[0]  # whatever the grouping
