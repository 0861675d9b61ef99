"""Campaign counters are a function of recipient rows, whoever writes them, and recount repairs."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime

import psycopg
from sqlalchemy import select, text

from core.figures import COUNTERS, Drift, recount
from core.store import Campaign
from tests.factories import make_campaign, make_recipients

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

ACTUAL = """
SELECT c.campaign_id, c.total_recipients, c.emails_sent, c.emails_opened, c.emails_clicked,
       c.emails_replied, c.emails_bounced,
       (SELECT count(*) FROM campaign_recipients r WHERE r.campaign_id = c.id),
       (SELECT count(sent_at) FROM campaign_recipients r WHERE r.campaign_id = c.id),
       (SELECT count(opened_at) FROM campaign_recipients r WHERE r.campaign_id = c.id),
       (SELECT count(clicked_at) FROM campaign_recipients r WHERE r.campaign_id = c.id),
       (SELECT count(replied_at) FROM campaign_recipients r WHERE r.campaign_id = c.id),
       (SELECT count(bounced_at) FROM campaign_recipients r WHERE r.campaign_id = c.id)
FROM campaigns c ORDER BY c.id
"""


def assert_counters_match(url: str) -> None:
    with psycopg.connect(url) as conn:
        for row in conn.execute(ACTUAL).fetchall():
            assert row[1:7] == row[7:13], row[0]


def counters(session, campaign_id: str) -> tuple[int, ...]:
    c = session.scalar(select(Campaign).where(Campaign.campaign_id == campaign_id))
    session.refresh(c)
    return tuple(getattr(c, name) for name in COUNTERS)


def test_insert_update_delete_keep_counters(db, db_url):
    with db.transaction() as s:
        a = make_campaign(s, "a")
        b = make_campaign(s, "b")
        ids_a = make_recipients(s, a, 6)
        make_recipients(s, b, 3, sent_at=NOW)
    with db.transaction() as s:
        assert counters(s, "a") == (6, 0, 0, 0, 0, 0)
        assert counters(s, "b") == (3, 3, 0, 0, 0, 0)
        s.execute(
            text(
                "UPDATE campaign_recipients SET sent_at = now(), opened_at = now(),"
                " clicked_at = CASE WHEN id = ANY(:two) THEN now() END WHERE id = ANY(:ids)"
            ),
            {"ids": ids_a[:4], "two": ids_a[:2]},
        )
    with db.transaction() as s:
        assert counters(s, "a") == (6, 4, 4, 2, 0, 0)
        s.execute(text("DELETE FROM campaign_recipients WHERE id = ANY(:ids)"), {"ids": ids_a[:3]})
    with db.transaction() as s:
        assert counters(s, "a") == (3, 1, 1, 0, 0, 0)
    assert_counters_match(db_url)


def test_moving_a_recipient_between_campaigns_moves_its_counts(db):
    with db.transaction() as s:
        a, b = make_campaign(s, "a"), make_campaign(s, "b")
        (rid,) = make_recipients(s, a, 1, sent_at=NOW, bounced_at=NOW)
    with db.transaction() as s:
        s.execute(
            text("UPDATE campaign_recipients SET campaign_id = :b WHERE id = :r"),
            {"b": b.id, "r": rid},
        )
    with db.transaction() as s:
        assert counters(s, "a") == (0, 0, 0, 0, 0, 0)
        assert counters(s, "b") == (1, 1, 0, 0, 0, 1)


def test_a_rolled_back_write_leaves_counters_alone(db):
    with db.transaction() as s:
        make_recipients(s, make_campaign(s, "a"), 2)
    try:
        with db.transaction() as s:
            s.execute(text("UPDATE campaign_recipients SET sent_at = now()"))
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    with db.transaction() as s:
        assert counters(s, "a") == (2, 0, 0, 0, 0, 0)


def test_recount_reports_and_repairs_drift(db):
    with db.transaction() as s:
        make_recipients(s, make_campaign(s, "a"), 4, sent_at=NOW)
        make_campaign(s, "b")
    with db.transaction() as s:
        s.execute(
            text("UPDATE campaigns SET emails_sent = 99, emails_opened = 7 WHERE campaign_id = 'a'")
        )
    with db.transaction() as s:
        drift = recount(s)
    assert set(drift) == {Drift("a", "emails_sent", 99, 4), Drift("a", "emails_opened", 7, 0)}
    with db.transaction() as s:
        assert recount(s) == ()
        assert counters(s, "a") == (4, 4, 0, 0, 0, 0)


def test_recount_of_one_campaign_touches_only_it(db):
    with db.transaction() as s:
        make_campaign(s, "a")
        make_campaign(s, "b")
        s.execute(text("UPDATE campaigns SET emails_sent = 5"))
    with db.transaction() as s:
        assert recount(s, "a") == (Drift("a", "emails_sent", 5, 0),)
    with db.transaction() as s:
        assert counters(s, "b")[1] == 5


def test_concurrent_plain_sql_writers_keep_counters_exact(db, db_url):
    """Several connections update overlapping recipients of the same campaigns at once."""
    with db.transaction() as s:
        campaigns = [make_campaign(s, f"c{i}") for i in range(3)]
        ids = [rid for c in campaigns for rid in make_recipients(s, c, 300)]
    columns = ["sent_at", "opened_at", "clicked_at", "replied_at", "bounced_at"]
    errors: list[BaseException] = []
    retries: list[int] = []

    def writer(seed: int) -> None:
        # Transactions of several statements that lock overlapping rows can deadlock (the
        # counters add the campaign row to what each one holds); like any real writer, retry.
        try:
            # No server-side prepares: through a transaction-mode pooler (CI's second pass)
            # the next transaction may run on another server connection.
            with psycopg.connect(db_url, autocommit=False, prepare_threshold=None) as conn:
                for step in range(60):
                    col = columns[(seed + step) % len(columns)]
                    chunk = ids[(seed * 37 + step * 11) % len(ids) :][:25]
                    value = "now()" if step % 3 else "NULL"
                    for _attempt in range(20):
                        try:
                            conn.execute(
                                f"UPDATE campaign_recipients SET {col} = {value}"
                                " WHERE id = ANY(%s)",
                                (chunk,),
                            )
                            if step % 10 == 0:
                                conn.execute(
                                    "DELETE FROM campaign_recipients WHERE id = %s", (chunk[0],)
                                )
                            conn.commit()
                            break
                        except psycopg.errors.DeadlockDetected:
                            conn.rollback()
                            retries.append(seed)
                    else:
                        raise AssertionError("still deadlocking after 20 tries")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_counters_match(db_url)


def test_service_threads_and_a_plain_sql_writer_keep_counters_exact(db, db_url):
    """4 threads recording events through core, 1 connection writing timestamps with plain SQL."""
    import random

    from core.events import EventInput, record_events
    from core.store import Database

    with db.transaction() as s:
        campaigns = [make_campaign(s, f"svc{i}") for i in range(3)]
        ids = [rid for c in campaigns for rid in make_recipients(s, c, 400, sent_at=NOW)]
    kinds = ["open", "click", "reply", "bounce", "unsubscribe", "forward", "complain"]
    errors: list[BaseException] = []
    recorded: list[int] = []

    def service(seed: int) -> None:
        rng = random.Random(seed)
        database = Database(db_url)
        try:
            for _ in range(25):
                batch = [
                    EventInput(event_type=rng.choice(kinds), recipient_id=rng.choice(ids))
                    for _ in range(60)
                ]
                result = database.run(lambda s, batch=batch: record_events(s, batch))
                recorded.append(result.recorded)
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.close()

    def plain_sql() -> None:
        rng = random.Random(99)
        try:
            with psycopg.connect(db_url, autocommit=True, prepare_threshold=None) as conn:
                for _ in range(150):
                    chunk = rng.sample(ids, 20)
                    column = rng.choice(["sent_at", "opened_at", "clicked_at", "replied_at"])
                    # sent_at stays set: the service threads' opens need a sent recipient.
                    unset = column != "sent_at" and rng.random() < 0.3
                    value = "NULL" if unset else "now()"
                    for _attempt in range(20):
                        try:
                            conn.execute(
                                f"UPDATE campaign_recipients SET {column} = {value}"
                                " WHERE id = ANY(%s)",
                                (chunk,),
                            )
                            break
                        except psycopg.errors.DeadlockDetected:
                            continue
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=service, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=plain_sql))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(recorded) == 4 * 25 * 60
    assert_counters_match(db_url)
    with db.transaction() as s:
        assert recount(s) == ()


def test_run_retries_a_deadlocked_unit_of_work(db):
    """Two units that lock two campaigns in opposite orders: one deadlocks and is run again."""
    from sqlalchemy import text as sql_text

    with db.transaction() as s:
        a, b = make_campaign(s, "dl_a"), make_campaign(s, "dl_b")
        pks = (a.id, b.id)
    barrier = threading.Barrier(2)
    attempts: list[int] = []

    def unit(first: int, second: int):
        def work(session):
            attempts.append(first)
            session.execute(
                sql_text("UPDATE campaigns SET name = name WHERE id = :i"), {"i": first}
            )
            with contextlib.suppress(threading.BrokenBarrierError):  # the retry runs alone
                barrier.wait(timeout=2)
            session.execute(
                sql_text("UPDATE campaigns SET name = name WHERE id = :i"), {"i": second}
            )
            return "ok"

        return work

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(db.run(unit(*pks)))),
        threading.Thread(target=lambda: results.append(db.run(unit(*reversed(pks))))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["ok", "ok"]
    assert len(attempts) == 3  # one of the two ran twice
