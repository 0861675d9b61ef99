"""What every write to a campaign's recipients starts with: the ids it is given, the error
text it stores, and the campaign, locked against lifecycle moves and refused once it ended.

Shared by core.recipients.manage (adding, importing, removing) and core.recipients.send
(claiming, outcomes, retries).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BindParameter, Integer, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.campaigns import resolve_campaign
from core.errors import InvalidInput, InvalidTransition
from core.store import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus

R = CampaignRecipient.__table__.c
RS = RecipientStatus
_FINAL = (CampaignStatus.COMPLETED, CampaignStatus.FAILED)


def checked_ids(values: Iterable[int], what: str) -> list[int]:
    """The ids given, each once, in the order given; InvalidInput for anything else."""
    if isinstance(values, str | bytes):
        raise InvalidInput(f"{what} must be a list of ids, not {values!r}.")
    ids: dict[int, None] = {}
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidInput(f"{what} are whole numbers; {v!r} is not.")
        ids[v] = None
    return list(ids)


def id_array(name: str, ids: Sequence[int]) -> BindParameter[Sequence[int]]:
    return bindparam(name, ids, type_=ARRAY(Integer))


def error_text(error: Any) -> str:
    if not isinstance(error, str) or not error.strip():
        raise InvalidInput("Give the error message (what the mail server said); it's empty.")
    if "\x00" in error:
        raise InvalidInput("The error message contains a NUL character; it can't be stored.")
    return error.strip()


def open_campaign(session: Session, campaign: int | str, doing: str) -> Campaign:
    """The campaign, locked against concurrent lifecycle moves; refused when it has ended."""
    # FOR NO KEY UPDATE: the same lock the counter triggers take, so adding never deadlocks
    # with them, while a concurrent complete()/fail() (FOR UPDATE) waits for us.
    c = resolve_campaign(session, campaign, for_update=True, key_share=True)
    if c.status in _FINAL:
        raise InvalidTransition(
            f"Can't {doing} {c.campaign_id}: it is {c.status}, and a {c.status} campaign's"
            " recipients are its record. Duplicate the campaign to send again."
        )
    return c
