"""Naming a campaign by what a screen shows of it: part of its name or the start of its id."""

from __future__ import annotations

import pytest

from core import campaigns
from core.errors import InvalidInput
from tests.factories import make_campaign


@pytest.fixture
def named(session):
    make_campaign(session, "demo_year_end_newsletter", name="Year-End Newsletter")
    make_campaign(session, "demo_year_end_recap", name="Recap")
    make_campaign(session, "demo_year", name="The year")
    make_campaign(session, "promo_50%_off", name="Half price")
    session.flush()


def ids(found) -> list[str]:
    return [c.campaign_id for c in found]


def test_an_id_cut_on_screen_finds_the_campaigns_it_starts(session, named):
    assert ids(campaigns.find_campaigns(session, "demo_year_en")) == [
        "demo_year_end_recap",  # by name: "Recap", "Year-End Newsletter"
        "demo_year_end_newsletter",
    ]


def test_the_exact_id_comes_first_then_id_starts_then_names(session, named):
    assert ids(campaigns.find_campaigns(session, "demo_year")) == [
        "demo_year",
        "demo_year_end_recap",
        "demo_year_end_newsletter",
    ]
    assert ids(campaigns.find_campaigns(session, "demo_year", limit=1)) == ["demo_year"]
    assert ids(campaigns.find_campaigns(session, "newsletter")) == ["demo_year_end_newsletter"]


def test_wildcards_are_literal_and_the_middle_of_an_id_is_not_its_start(session, named):
    assert ids(campaigns.find_campaigns(session, "promo_50%")) == ["promo_50%_off"]
    assert ids(campaigns.find_campaigns(session, "promo_5_%")) == []
    assert ids(campaigns.find_campaigns(session, "year_end")) == []  # inside ids, in no name
    with pytest.raises(InvalidInput):
        campaigns.find_campaigns(session, "  ")


def test_home_search_matches_an_id_start_too(session, named):
    assert ids(campaigns.list_campaigns(session, search="promo_")) == ["promo_50%_off"]
    assert campaigns.count_campaigns(session, search="demo_year_end") == 2
