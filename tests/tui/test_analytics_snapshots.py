"""Snapshots of the analytics screen, compare, the suppression list and the export dialog at
80x24 and 120x40, on the fixed data plus seed_analytics (camp_done's events)."""

from __future__ import annotations

import pytest

from tests.tui.data import seed_analytics
from tests.tui.test_snapshots import SIZES, steps


@pytest.fixture
def october(db, ids) -> dict[str, int]:
    with db.transaction() as session:
        return seed_analytics(session)


@pytest.mark.parametrize("size", SIZES)
class TestAnalytics:
    def test_analytics(self, snap_compare, make_app, october, size):
        run = steps("A", campaign="camp_done")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_analytics_chart(self, snap_compare, make_app, october, size):
        # the activity section at the top of the view
        run = steps("A", "pagedown", campaign="camp_done")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_analytics_links_and_bounces(self, snap_compare, make_app, october, size):
        run = steps("A", "end", campaign="camp_done")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_analytics_without_machine_events(self, snap_compare, make_app, size):
        run = steps("A", campaign="camp_spring")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_compare(self, snap_compare, make_app, october, size):
        run = steps("A", "c", *"spring", "enter", campaign="camp_done")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_compare_picker(self, snap_compare, make_app, october, size):
        run = steps("A", "c", campaign="camp_done")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
class TestSuppressionsAndExport:
    def test_suppressions(self, snap_compare, make_app, october, size):
        assert snap_compare(make_app(), terminal_size=size, run_before=steps("S"))

    def test_lift_confirmation(self, snap_compare, make_app, october, size):
        run = steps("S", "down", "d")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_export_dialog(self, snap_compare, make_app, october, size):
        run = steps("A", "x", campaign="camp_done")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)

    def test_recipients_with_suppressed_marks(self, snap_compare, make_app, october, size):
        run = steps("enter", campaign="camp_done")
        assert snap_compare(make_app(), terminal_size=size, run_before=run)
