"""What every binding that help lists does, screen by screen, on the data of conftest.paged_db
(80x24). To cover a new binding, add its id here with the effect a person would check; the
walk fails for any help-listed binding that has no entry.

The walk of a screen presses the entries in the order written, each from the screen's `home`
state and back to it, so each entry's `undo` must put the screen back."""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.tui.terminal.walk import (
    DIALOG_EDGE,
    Effect,
    InDb,
    Walk,
    all_of,
    copied,
    is_selected,
    notified,
)

ESC = b"\x1b"
CTRL_L = b"\x0c"
UP, DOWN = b"\x1b[A", b"\x1b[B"
# Only the analytics screen shows this ("Click-to-open" is in the recipients header too, so
# waiting for it there matched before the analytics screen had opened).
ANALYTICS_SHOWN = "Human  % sent"
CAMPAIGNS_HOME = re.compile(r"all statuses · sorted by created ▼ · 1-200 of 21[89]")


def _rename(campaign_id: str, name: str):
    def change(db) -> None:
        with db.transaction() as s:
            s.execute(
                text("UPDATE campaigns SET name = :n WHERE campaign_id = :c"),
                {"n": name, "c": campaign_id},
            )

    return change


def _add_event(recipient_email: str):
    def change(db) -> None:
        with db.transaction() as s:
            s.execute(
                text(
                    "INSERT INTO email_tracking (campaign_recipient_id, event_type, created_at)"
                    " SELECT id, 'forward', now() FROM campaign_recipients"
                    " WHERE email_address = :e ORDER BY id LIMIT 1"
                ),
                {"e": recipient_email},
            )

    return change


def _suppress(email: str):
    def change(db) -> None:
        with db.transaction() as s:
            s.execute(
                text("INSERT INTO suppressions (email_address, reason) VALUES (:e, 'manual')"),
                {"e": email},
            )

    return change


def _bounce_ana_in_paused(db) -> None:
    with db.transaction() as s:
        s.execute(
            text(
                "UPDATE campaign_recipients SET status = 'bounced' WHERE email_address ="
                " 'ana@example.com' AND campaign_id ="
                " (SELECT id FROM campaigns WHERE campaign_id = 'camp_paused')"
            )
        )


def status_of(campaign_id: str, status: str) -> InDb:
    return InDb(f"SELECT status FROM campaigns WHERE campaign_id = '{campaign_id}'", status)


def in_dialog(*phrases: str):
    """An open dialog (a box drawn with █) says every one of `phrases`, its lines wrapped."""

    def check(t) -> bool:
        inside = [
            line.split("█")[1] for line in t.screen_text().splitlines() if line.count("█") >= 2
        ]
        said = " ".join(" ".join(inside).split())
        return bool(inside) and all(p in said for p in phrases)

    return check


def no_dialog(t) -> bool:
    return DIALOG_EDGE not in t.screen_text()


def sort_pick(picked: str, home, first_row: str) -> Effect:
    """`o`: the sort picker; ↓ Enter sorts by the next sort (`picked`, what the status line
    then says); undone by picking the first (home's) sort again, in its first direction, and
    `g` (the cursor stays on the row it was on, wherever the sort puts it)."""
    return Effect(
        expect=all_of("Sort by", "↑↓ Enter: sort"),
        then=DOWN + b"\r",
        then_shows=all_of(f"sorted by {picked}", no_dialog),
        steps=((b"o", "Sort by"), (UP + b"\r", all_of(home, no_dialog))),
        undo=b"g",
        back=all_of(home, is_selected(first_row)),
    )


def confirmed_move(
    key: bytes, setup: bytes, row: str, question: str, campaign_id: str, status: str, done=""
) -> Effect:
    """A move that asks first (`key` on the row that `setup` selects): the dialog names the
    campaign and its recipients; Escape cancels (the database unchanged); with `done` (the
    status after), the key again and `y` confirm it."""
    steps: tuple = ()
    if done:
        steps = (
            (key, in_dialog(campaign_id, question)),
            (b"y", all_of(notified(f"{campaign_id} is now {done}"), status_of(campaign_id, done))),
        )
    return Effect(
        setup=setup,
        setup_shows=is_selected(row),
        expect=in_dialog(campaign_id, question),
        then=ESC,
        then_shows=all_of(no_dialog, status_of(campaign_id, status)),
        steps=steps,
        undo=b"g",
        back=all_of(CAMPAIGNS_HOME, is_selected(r"^Big paging test\s")),
    )


def refresh(change, shows: str) -> Effect:
    """ctrl+r: with live refresh paused (ctrl+l), a change made meanwhile shows on ctrl+r."""
    return Effect(setup=CTRL_L, setup_shows="paused", change=change, expect=shows, undo=CTRL_L)


TEMPLATES_LISTED = re.compile(r"\d templates · n: new")


def app_effects(walk_open: bytes, home_keys: bytes = b"") -> dict[str, Effect]:
    """The app's keys, on any screen; `walk_open` reopens the screen from the campaign list."""
    return {
        "app.help": Effect(expect="Keys on the", undo=ESC),
        "app.find": Effect(expect="email address or part of one", undo=ESC),
        "app.events": Effect(expect="newest 1-100", undo=ESC),
        "app.suppressions": Effect(expect="suppression list", undo=ESC),
        "app.templates": Effect(expect=TEMPLATES_LISTED, undo=ESC),
        "app.live": Effect(expect=notified("Live refresh paused"), undo=CTRL_L),
        "app.home": Effect(setup=home_keys, expect=CAMPAIGNS_HOME, reopen=True),
    }


def row_effects(first: str, second: str, last: str) -> dict[str, Effect]:
    """The table's row keys on a page whose rows start `first`, `second` and end `last`
    (regexes of the selected row's text)."""
    return {
        "table.down": Effect(expect=is_selected(second), undo=b"k", back=is_selected(first)),
        "table.up": Effect(
            setup=b"j",
            setup_shows=is_selected(second),
            expect=is_selected(first),
            back=is_selected(first),
        ),
        "table.bottom": Effect(expect=is_selected(last), undo=b"g", back=is_selected(first)),
        "table.top": Effect(
            setup=b"G",
            setup_shows=is_selected(last),
            expect=is_selected(first),
            back=is_selected(first),
        ),
    }


def paged_effects(first_rows: str, next_rows: str, last_rows: str, goto: bytes, goto_rows: str):
    """The page keys of a paged screen (shown as `first_rows` on its first page)."""
    return {
        "table.page_down": Effect(setup=b"G", expect=next_rows, undo=b"<"),
        "table.page_up": Effect(setup=b"]", setup_shows=next_rows, expect=first_rows),
        "navigation.last_page": Effect(expect=last_rows, undo=b"<"),
        "navigation.first_page": Effect(setup=b"]", setup_shows=next_rows, expect=first_rows),
        "navigation.goto": Effect(expect="Go to", then=goto, then_shows=goto_rows, undo=b"<"),
        "navigation.copy": Effect(expect=copied),
    }


# The cursor stays on the campaign it was on when a filter or sort changes: `g` to the top.
BACK_TO_TOP = {"undo": b"g", "back": all_of(CAMPAIGNS_HOME, is_selected(r"^Big paging test\s"))}

CAMPAIGNS = Walk(
    open=b"",
    home=CAMPAIGNS_HOME,
    effects={
        "campaigns.open": Effect(expect="rows 1-100 of 250", undo=ESC),
        "campaigns.search": Effect(expect="part of a campaign's name", undo=ESC),
        "campaigns.clear": Effect(
            setup=b"1", setup_shows=" draft · sorted", expect=CAMPAIGNS_HOME, **BACK_TO_TOP
        ),
        "campaigns.sort": sort_pick("name ▲", CAMPAIGNS_HOME, r"^Big paging test\s"),
        "campaigns.flip": Effect(expect="sorted by created ▲", undo=b"O"),
        "campaigns.all": Effect(
            setup=b"2", setup_shows=" scheduled · sorted", expect=CAMPAIGNS_HOME, **BACK_TO_TOP
        ),
        **{
            f"campaigns.only_{status}": Effect(
                expect=all_of(f" {status} · sorted", is_selected(rf"\s{status}\s")),
                steps=((b"0", CAMPAIGNS_HOME),),
                **BACK_TO_TOP,
            )
            for status in ("draft", "scheduled", "running", "paused", "completed", "failed")
        },
        "campaigns.next": Effect(expect="201-218 of 218", undo=b"["),
        "campaigns.prev": Effect(setup=b"]", setup_shows="201-218", expect=CAMPAIGNS_HOME),
        "campaigns.new": Effect(expect="New campaign", undo=ESC),
        "campaigns.edit": Effect(expect="Edit camp_big", undo=ESC),
        "campaigns.schedule": Effect(expect="Schedule Big paging test", undo=ESC),
        "campaigns.analytics": Effect(expect=ANALYTICS_SHOWN, undo=ESC),
        "campaigns.export": Effect(expect="Export Big paging test", undo=ESC),
        # Writes, on rows where they are refused, undone or harmless to the rest of the walk
        # (the big campaign stays running). Start, complete and fail ask first.
        "campaigns.start": confirmed_move(
            b"s", b"gjjjj", r"\]Black Frid", "send to 1 recipient?", "camp_evil", "draft", "running"
        ),
        # Back only once `r` has resumed it: each write runs in its own worker, so a key pressed
        # before the last one's write committed can be refused (see the report).
        "campaigns.pause": Effect(
            expect=all_of(re.compile(r"Big paging test\s+paused"), status_of("camp_big", "paused")),
            undo=b"r",
            back=all_of(CAMPAIGNS_HOME, re.compile(r"Big paging test\s+running")),
        ),
        "campaigns.resume": Effect(
            setup=b"p",
            setup_shows=all_of(
                re.compile(r"Big paging test\s+paused"), status_of("camp_big", "paused")
            ),
            expect=all_of(
                re.compile(r"Big paging test\s+running"), status_of("camp_big", "running")
            ),
        ),
        "campaigns.complete": confirmed_move(
            b"c",
            b"gjjj",
            "^Spring launch",
            "4 recipients not yet sent will never be",
            "camp_spring",
            "running",
        ),
        "campaigns.fail": confirmed_move(
            b"X",
            b"g" + b"j" * 5,
            "^Webinar invite",
            "Every recipient was sent",
            "camp_paused",
            "paused",
            "failed",
        ),
        "campaigns.unschedule": Effect(expect=notified("Can't unschedule")),
        "campaigns.retry": Effect(expect=notified("back to pending")),
        "campaigns.recount": Effect(expect=notified("were right")),
        "campaigns.add": Effect(expect="Add recipients to", undo=ESC),
        "campaigns.delete": Effect(expect="Delete campaign", undo=ESC),
        "campaigns.duplicate": Effect(
            expect="1-200 of 219", undo=b"g", back=is_selected(r"^Big paging test \(cop")
        ),
        **row_effects(r"^Big paging test \(cop", r"^Big paging test\s", r"^Filler 190"),
        **paged_effects("1-200 of 219", "201-219 of 219", "201-219 of 219", b"p2\r", "201-219"),
        "app.refresh": refresh(_rename("camp_draft", "Welcome renamed"), "Welcome renamed"),
        **app_effects(b"", home_keys=b"\r"),
        "app.home": Effect(setup=b"\r", setup_shows="rows 1-100", expect=CAMPAIGNS_HOME),
        "campaigns.quit": Effect(expect=lambda t: t.process.poll() is not None, back=lambda t: 1),
    },
)

TRIAL_DIALOG = "Send a test message of"
RECIPIENTS_HOME = "rows 1-100 of 250"
RECIPIENTS = Walk(
    open=b"g\r",
    home=RECIPIENTS_HOME,
    effects={
        "recipients.open": Effect(expect=re.compile(r"\b1 events?\b"), undo=ESC),
        "recipients.search": Effect(expect="search email addresses", undo=ESC),
        "recipients.back": Effect(expect=CAMPAIGNS_HOME, undo=b"\r"),
        "recipients.next": Effect(expect="rows 101-200 of 250", undo=b"["),
        "recipients.prev": Effect(setup=b"]", setup_shows="rows 101-200", expect=RECIPIENTS_HOME),
        "recipients.first": Effect(setup=b">", setup_shows="rows 151-250", expect=RECIPIENTS_HOME),
        "recipients.unopened": Effect(expect="unopened", undo=b"u"),
        "recipients.sort": sort_pick(
            "sent ▼", all_of(RECIPIENTS_HOME, "sorted by added ▲"), r"^lead\d+0@"
        ),
        "recipients.flip": Effect(expect="sorted by added ▼", undo=b"O"),
        "recipients.all": Effect(
            setup=b"1", setup_shows="no recipients match", expect=RECIPIENTS_HOME
        ),
        "recipients.only_pending": Effect(expect="no recipients match", undo=b"0"),
        "recipients.only_queued": Effect(expect="no recipients match", undo=b"0"),
        "recipients.only_sent": Effect(expect=re.compile(r"rows 1-100 of 250 · sent"), undo=b"0"),
        "recipients.only_failed": Effect(expect="no recipients match", undo=b"0"),
        "recipients.only_bounced": Effect(expect="no recipients match", undo=b"0"),
        "recipients.only_unsubscribed": Effect(expect="no recipients match", undo=b"0"),
        "recipients.refresh": refresh(_rename("camp_big", "Big renamed"), "Big renamed"),
        "recipients.analytics": Effect(expect=ANALYTICS_SHOWN, undo=ESC),
        "recipients.export": Effect(expect="Export Big", undo=ESC),
        **row_effects(r"^lead\d+0@", r"^lead\d+1@", r"^lead\d+99@"),
        **paged_effects(RECIPIENTS_HOME, "rows 101-200", "rows 151-250", b"2001\r", "rows 201-250"),
        **app_effects(b"\r"),
        # T on this screen sends a test message (the app's T, templates, is shadowed here).
        "recipients.test_message": Effect(expect=TRIAL_DIALOG, undo=ESC),
        "app.templates": Effect(expect=TRIAL_DIALOG, undo=ESC),
    },
)

TIMELINE_HOME = "4 events"
TIMELINE = Walk(
    open=b"gjjj\r",  # Spring launch, then its first recipient (ana)
    open_steps=(("rows 1-21 of 21", b"\r"),),
    home=TIMELINE_HOME,
    effects={
        "timeline.back": Effect(expect="rows 1-21 of 21", undo=b"\r"),  # from recipients
        # The second row: the provider's delivery report (tests.tui.data), then the opens.
        **row_effects(r"09:00:00\s+sent", r"09:02:00\s+delivered\s+ses", r"reply"),
        "table.page_down": Effect(expect=is_selected("reply"), undo=b"g"),
        "table.page_up": Effect(
            setup=b"G", setup_shows=is_selected("reply"), expect=is_selected(r"09:00:00\s+sent")
        ),
        "timeline.refresh": refresh(_add_event("ana@example.com"), "5 events"),
        **app_effects(b"jjj\r\r"),
    },
)
# After the refresh the timeline has a fifth event.
TIMELINE.home = re.compile(r"[45] events")

EVENTS_HOME = re.compile(r"newest 1-100 · all types · all campaigns")
EVENTS = Walk(
    open=b"l",
    home=EVENTS_HOME,
    effects={
        "event_log.open": Effect(expect=re.compile(r"\b1 events?\b"), undo=ESC),
        "event_log.campaign": Effect(
            expect="campaign: part of its name or its id's start (empty: all)",
            then=b"Spring\r",  # a name part that one campaign matches
            then_shows="· all types · campaign camp_spring",
            steps=(
                (ESC, EVENTS_HOME),
                (b"c", "campaign: part of its name"),
                # several campaigns match: the picker lists them, Enter picks the first
                (b"Filler 00\r", all_of("Events of which campaign?", "Filler 009")),
                (b"\r", all_of(no_dialog, "campaign camp_x000", "no events")),
            ),
            undo=ESC,
        ),
        "event_log.back": Effect(expect=CAMPAIGNS_HOME, undo=b"l"),
        "event_log.older": Effect(expect="newest 101-200", undo=b"["),
        "event_log.newer": Effect(setup=b"]", setup_shows="newest 101-200", expect=EVENTS_HOME),
        "event_log.newest": Effect(setup=b">", setup_shows="newest 201-", expect=EVENTS_HOME),
        "event_log.all": Effect(setup=b"3", setup_shows="· bounce ·", expect=EVENTS_HOME),
        **{
            f"event_log.only_{t}": Effect(expect=f"· {t} ·", undo=b"0")
            for t in ("open", "click", "bounce", "reply", "forward", "unsubscribe", "complain")
        },
        **row_effects(r"open\s+lead\d+249@", r"open\s+lead\d+248@", r"open\s+lead\d+150@"),
        **paged_effects("newest 1-100", "newest 101-200", "newest 201-", b"p2\r", "newest 101-200"),
        "event_log.refresh": refresh(_add_event("ben@example.com"), "forward"),
        **app_effects(b"l"),
        "app.events": Effect(expect=EVENTS_HOME),  # already here: stays
    },
)

SUPPRESSIONS_HOME = re.compile(r"rows 1-100 of 15[12]")
SUPPRESSIONS = Walk(
    open=b"S",
    home=SUPPRESSIONS_HOME,
    effects={
        "suppressions.back": Effect(expect=CAMPAIGNS_HOME, undo=b"S"),
        "suppressions.search": Effect(expect="search addresses", undo=ESC),
        "suppressions.lift": Effect(expect="Lift the suppression of", undo=ESC),
        "suppressions.next": Effect(expect="rows 101-15", undo=b"["),
        "suppressions.prev": Effect(setup=b"]", setup_shows="rows 101-", expect=SUPPRESSIONS_HOME),
        "suppressions.refresh": refresh(_suppress("zz-new@example.org"), "of 152"),
        **row_effects(r"^olga@", r"^listed000@", r"^listed098@"),
        **paged_effects("rows 1-100", "rows 101-15", "rows 101-15", b"120\r", "rows 101-15"),
        **app_effects(b"S"),
        "app.suppressions": Effect(expect="suppression list"),  # already here: stays
    },
)

ANALYTICS = Walk(
    open=b"gA",
    home=ANALYTICS_SHOWN,
    effects={
        "analytics.back": Effect(expect=CAMPAIGNS_HOME, undo=b"A"),
        "analytics.compare": Effect(expect="Compare with", undo=ESC),
        "analytics.export": Effect(expect="Export Big", undo=ESC),
        "analytics.refresh": refresh(_rename("camp_big", "Big analysed"), "Big analysed"),
        **app_effects(b"A"),
    },
)

FIND = Walk(
    open=b"f",
    open_steps=(("email address or part of one", b"ana\r"),),
    home="2 matches for ana",
    effects={
        "find.back": Effect(expect=CAMPAIGNS_HOME, reopen=True),
        **app_effects(b"fana\r"),
        "app.find": Effect(expect="2 matches for ana"),  # already here: stays
        **row_effects(r"ana@example.com\s+Spring launch", "Webinar invite", "Webinar invite"),
        "table.page_down": Effect(expect=is_selected("Webinar invite"), undo=b"g"),
        "table.page_up": Effect(
            setup=b"G",
            setup_shows=is_selected("Webinar invite"),
            expect=is_selected("Spring launch"),
        ),
        # `/` back in the address box, the letters typed on at once (one burst) in it, a new
        # search; Backspace, the old address and Enter go back to the rows. (Not Backspace and
        # letters in one burst: Textual runs Backspace's binding after the letters behind it.)
        "find.search": Effect(
            burst=b"ben",
            expect=all_of("1 match for ben", "ben@example.com"),
            then=b"\x7f" * 3,
            then_shows="email address or part of one",
            undo=b"ana\r",
            back=all_of("2 matches for ana", is_selected("Spring launch")),
        ),
        "app.refresh": refresh(_bounce_ana_in_paused, "bounced"),
    },
)

COMPARE_HOME = all_of(re.compile(r"A\s+camp_big\s"), re.compile(r"B\s+camp_spring\s"))
PICKER = in_dialog("Compare with", "Enter: compare")
COMPARE = Walk(
    open=b"gA",  # Big paging test's analytics, compared with Spring launch
    open_steps=((ANALYTICS_SHOWN, b"c"), (PICKER, b"Spring\r")),
    home=all_of(COMPARE_HOME, is_selected(r"^Recipients\s")),
    effects={
        "compare.back": Effect(
            expect=all_of(ANALYTICS_SHOWN, lambda t: "B - A" not in t.screen_text()),
            then=b"c",
            then_shows=PICKER,
            undo=b"Spring\r",
        ),
        "compare.pick": Effect(
            expect=PICKER,
            then=b"Webinar\r",
            then_shows=all_of(re.compile(r"B\s+camp_paused\s"), no_dialog),
            steps=((b"c", PICKER),),
            undo=b"Spring\r",
        ),
        "compare.swap": Effect(
            expect=all_of(
                re.compile(r"A\s+camp_spring\s"),
                re.compile(r"B\s+camp_big\s"),
                re.compile(r"Recipients\s+21\s+250\s+\+229"),
            ),
            undo=b"s",
        ),
        "compare.refresh": refresh(_rename("camp_spring", "Spring compared"), "Spring compared"),
        **row_effects(r"^Recipients\s", r"^Sent\s", r"^Unsubscribes\s"),
        "table.page_down": Effect(expect=is_selected(r"^Replied\s"), undo=b"g"),
        "table.page_up": Effect(
            setup=b"G",
            setup_shows=is_selected(r"^Unsubscribes\s"),
            expect=is_selected(r"^Human clicks\s"),
            undo=b"g",
        ),
        **app_effects(b""),
    },
)


def _add_template(name: str):
    def change(db) -> None:
        with db.transaction() as s:
            s.execute(
                text("INSERT INTO templates (name, subject, html_body) VALUES (:n, 'S', '<p>x')"),
                {"n": name},
            )

    return change


def _rename_lead(email: str, name: str):
    def change(db) -> None:
        with db.transaction() as s:
            s.execute(text("UPDATE leads SET name = :n WHERE email = :e"), {"n": name, "e": email})

    return change


# The editor keys run $VISUAL: the walk sets one that saves the file empty (nothing saved).
TEMPLATES_HOME = TEMPLATES_LISTED  # 3 once templates.refresh has added one
TEMPLATES = Walk(
    open=b"T",
    home=TEMPLATES_HOME,
    effects={
        "templates.back": Effect(expect=CAMPAIGNS_HOME, undo=b"T"),
        "templates.preview": Effect(expect="Subject: ", undo=ESC),
        "templates.new": Effect(expect=notified("Nothing saved.")),
        "templates.edit": Effect(expect=notified("Nothing saved.")),
        "templates.delete": Effect(expect="Delete template", undo=ESC),
        **row_effects(r"^December digest", r"^Spring launch", r"^Spring launch"),
        "table.page_down": Effect(expect=is_selected("^Spring launch"), undo=b"g"),
        "table.page_up": Effect(
            setup=b"G",
            setup_shows=is_selected("^Spring launch"),
            expect=is_selected("^December digest"),
        ),
        "templates.refresh": Effect(
            setup=CTRL_L,
            setup_shows="paused",
            change=_add_template("Walked"),
            expect="3 templates",
            undo=CTRL_L,
        ),
        **app_effects(b"T"),
        # T sends the selected template as a test message (the app's T would stay here).
        "templates.test_message": Effect(expect=TRIAL_DIALOG, undo=ESC),
        "app.templates": Effect(expect=TRIAL_DIALOG, undo=ESC),
    },
)

PREVIEW_HOME = "Subject: Spring is here, "
PREVIEW = Walk(
    open=b"T",
    open_steps=((TEMPLATES_LISTED, DOWN + b"\r"),),  # once the rows are there
    home=PREVIEW_HOME,
    effects={
        "preview.back": Effect(expect=TEMPLATES_HOME, undo=b"\r"),
        "preview.recipient": Effect(expect="Recipient's email address", undo=ESC),
        "preview.refresh": refresh(_rename_lead("ana@example.com", "Annie"), "here, Annie"),
        **app_effects(b"T" + DOWN + b"\r"),
    },
)

WALKS = {
    "campaigns": CAMPAIGNS,
    "recipients": RECIPIENTS,
    "timeline": TIMELINE,
    "event log": EVENTS,
    "suppressions": SUPPRESSIONS,
    "analytics": ANALYTICS,
    "find": FIND,
    "compare": COMPARE,
    "templates": TEMPLATES,
    "preview": PREVIEW,
}
