"""core.tracking: what the tracking endpoint's URLs carry. Signing keys and their rotation
(keys), signed tokens (tokens, pure), the links of a campaign (links), a recipient's URLs
(urls), and the Message-ID and provider metadata that name a recipient (ids)."""

from core.tracking.ids import HEADER_CAMPAIGN, METADATA_CAMPAIGN, message_id, parse_message_id
from core.tracking.keys import (
    ENV_KEY,
    ENV_KID,
    KeyInfo,
    KeyRing,
    RotatedKey,
    TrackingKey,
    env_secret,
    key_list,
    load_keyring,
    refuse_with_env_key,
    ring_of,
    rotate_key,
)
from core.tracking.links import MAX_LINKS, campaign_links, check_link, link_url, save_links
from core.tracking.tokens import Claim, sign, verify
from core.tracking.urls import (
    DEFAULT_PUBLIC_URL,
    TRACK_PREFIX,
    RecipientUrls,
    check_public_url,
    click_url,
    open_url,
    public_url,
    recipient_urls,
    set_public_url,
    unsubscribe_url,
)

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "ENV_KEY",
    "ENV_KID",
    "HEADER_CAMPAIGN",
    "MAX_LINKS",
    "METADATA_CAMPAIGN",
    "TRACK_PREFIX",
    "Claim",
    "KeyInfo",
    "KeyRing",
    "RecipientUrls",
    "RotatedKey",
    "TrackingKey",
    "campaign_links",
    "check_link",
    "check_public_url",
    "click_url",
    "env_secret",
    "key_list",
    "link_url",
    "load_keyring",
    "message_id",
    "open_url",
    "parse_message_id",
    "public_url",
    "recipient_urls",
    "refuse_with_env_key",
    "ring_of",
    "rotate_key",
    "save_links",
    "set_public_url",
    "sign",
    "unsubscribe_url",
    "verify",
]
