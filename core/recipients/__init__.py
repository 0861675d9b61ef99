"""core.recipients: a campaign's recipients. Adding, importing (csv) and removing them
(manage), a send's claims and outcomes (send), the suppression list, pages and counts
(paging), finding one by email (find), and duplicating a campaign with its recipients."""

from core.recipients.duplicate import duplicate_campaign
from core.recipients.find import (
    ROW_COLUMNS,
    RecipientMatch,
    RecipientRow,
    find_recipients,
    recipient_row,
)
from core.recipients.manage import AddResult, ImportResult, add_leads, import_csv, remove_recipients
from core.recipients.paging import (
    PageCursor,
    RecipientPage,
    count_recipients,
    recipients_page,
    unopened_recipients,
)
from core.recipients.send import (
    ClaimedRecipient,
    claim_batch,
    mark_bounced,
    mark_failed,
    mark_sent,
    retry_failed,
)
from core.recipients.suppression import (
    REASONS,
    SuppressionRow,
    address_key,
    count_suppressions,
    is_suppressed,
    key_pending,
    lift,
    list_suppressions,
    suppress,
    suppress_from_events,
    suppressed_in_campaign,
)

__all__ = [
    "REASONS",
    "ROW_COLUMNS",
    "AddResult",
    "ClaimedRecipient",
    "ImportResult",
    "PageCursor",
    "RecipientMatch",
    "RecipientPage",
    "RecipientRow",
    "SuppressionRow",
    "add_leads",
    "address_key",
    "claim_batch",
    "count_recipients",
    "count_suppressions",
    "duplicate_campaign",
    "find_recipients",
    "import_csv",
    "is_suppressed",
    "key_pending",
    "lift",
    "list_suppressions",
    "mark_bounced",
    "mark_failed",
    "mark_sent",
    "recipient_row",
    "recipients_page",
    "remove_recipients",
    "retry_failed",
    "suppress",
    "suppress_from_events",
    "suppressed_in_campaign",
    "unopened_recipients",
]
