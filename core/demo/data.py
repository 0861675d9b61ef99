"""Tables the demo data is drawn from: names, companies, campaigns, mail clients, SMTP replies.

Plain data, no logic. Every address and link uses a reserved domain (RFC 2606: `.example`,
`example.com`), so demo data can never reach a real mailbox or site.
"""

from __future__ import annotations

from typing import NamedTuple

DEMO_PREFIX = "demo_"
LEAD_DOMAIN_SUFFIX = ".example"  # every demo lead's address ends with it


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Olivia Liam Emma Noah Ava Elijah Sophia James Isabella Lucas Mia Mateo Amelia Benjamin "
    "Harper Henry Evelyn Theodore Charlotte Jack Luna Levi Camila Alexander Gianna Jackson "
    "Abigail Samuel Ella Daniel Aria Owen Scarlett Sebastian Emily Wyatt Chloe Julian Layla "
    "Hannah Leo Nora Ezra Zoe Aiden Lily Ryan Grace Nathan Sofia Caleb Riley Isaac Victoria "
    "Priya Arjun Ananya Rohan Mei Wei Hiroshi Yuki Sakura Kenji Min-jun Seo-yeon Fatima Omar "
    "Aisha Yusuf Amara Kwame Chidi Zanele Lukas Lena Jonas Anna Matteo Giulia Lorenzo Chiara "
    "Pierre Camille Louis Manon Pablo Lucia Diego Valentina Joao Beatriz Sven Ingrid Astrid "
    "Mikko Aino Piotr Zofia Tomas Eva Dmitri Olga Nikos Eleni Ahmet Elif Tariq Leila"
)

LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris "
    "Clark Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green "
    "Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Shah Sharma Gupta "
    "Iyer Chen Wang Li Zhang Liu Tanaka Suzuki Sato Kim Park Choi Okafor Mensah Adeyemi "
    "Mbeki Haddad Khan Rahman Aziz Muller Schmidt Schneider Fischer Weber Rossi Russo Ferrari "
    "Bianchi Dubois Moreau Laurent Lefebvre Fernandez Ruiz Silva Santos Costa Oliveira "
    "Johansson Lindqvist Nielsen Hansen Virtanen Korhonen Kowalski Nowak Novak Horvat Ivanov "
    "Petrov Papadopoulos Yilmaz Demir O'Brien Murphy Kelly"
)


class Company(NamedTuple):
    name: str
    domain: str


COMPANIES = tuple(
    Company(name, slug + LEAD_DOMAIN_SUFFIX)
    for name, slug in (
        ("Northwind Traders", "northwind"),
        ("Contoso Ltd", "contoso"),
        ("Fabrikam Inc", "fabrikam"),
        ("Tailspin Toys", "tailspintoys"),
        ("Wide World Importers", "wideworldimporters"),
        ("Adventure Works", "adventure-works"),
        ("Litware Inc", "litware"),
        ("Proseware", "proseware"),
        ("Lucerne Publishing", "lucernepublishing"),
        ("Margie's Travel", "margiestravel"),
        ("Alpine Ski House", "alpineskihouse"),
        ("Blue Yonder Airlines", "blueyonderairlines"),
        ("Coho Winery", "cohowinery"),
        ("Fourth Coffee", "fourthcoffee"),
        ("Graphic Design Institute", "graphicdesigninstitute"),
        ("Humongous Insurance", "humongousinsurance"),
        ("Lamna Healthcare", "lamnahealthcare"),
        ("Relecloud", "relecloud"),
        ("Trey Research", "treyresearch"),
        ("VanArsdel Ltd", "vanarsdel"),
        ("Woodgrove Bank", "woodgrovebank"),
        ("Bellows College", "bellowscollege"),
        ("Best For You Organics", "bestforyouorganics"),
        ("Consolidated Messenger", "consolidatedmessenger"),
        ("First Up Consultants", "firstupconsultants"),
        ("Southridge Video", "southridgevideo"),
        ("School of Fine Art", "fineartschool"),
        ("City Power & Light", "cpandl"),
        ("Datum Corporation", "adatum"),
        ("Initech", "initech"),
        ("Globex Corporation", "globex"),
        ("Umbrella Analytics", "umbrella-analytics"),
        ("Stark Logistics", "starklogistics"),
        ("Wayne Biotech", "waynebiotech"),
        ("Hooli", "hooli"),
        ("Pied Piper", "piedpiper"),
        ("Vandelay Industries", "vandelay"),
        ("Cyberdyne Systems", "cyberdyne"),
        ("Soylent Foods", "soylentfoods"),
        ("Acme Cloud", "acmecloud"),
        ("Brightwave Media", "brightwave"),
        ("Greenleaf Energy", "greenleafenergy"),
        ("Harborview Health", "harborviewhealth"),
        ("Ironclad Security", "ironcladsec"),
        ("Juniper Labs", "juniperlabs"),
        ("Keystone Partners", "keystonepartners"),
        ("Lighthouse Analytics", "lighthouseanalytics"),
        ("Meridian Freight", "meridianfreight"),
        ("Nimbus Software", "nimbussoftware"),
        ("Orchid Retail", "orchidretail"),
        ("Pinnacle Finance", "pinnaclefinance"),
        ("Quantum Robotics", "quantumrobotics"),
        ("Redwood Realty", "redwoodrealty"),
        ("Summit Outdoor", "summitoutdoor"),
        ("Tidewater Foods", "tidewaterfoods"),
        ("Urban Loft Design", "urbanloft"),
        ("Vertex Telecom", "vertextelecom"),
        ("Willow Education", "willowedu"),
        ("Yellowstone Travel", "yellowstonetravel"),
        ("Zephyr Aerospace", "zephyraero"),
    )
)

# --- mail clients -------------------------------------------------------------------------

UA_IPHONE_MAIL = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
UA_IPAD_MAIL = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
UA_MAC_MAIL = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
UA_APPLE_MPP = "Mozilla/5.0"  # Apple Mail Privacy Protection's proxy sends exactly this
UA_GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
UA_OUTLOOK_DESKTOP = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
UA_OUTLOOK_MAC = "Microsoft Outlook/16.89.1 (Macintosh; Mac OS X 14.6)"
UA_THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.4.2"
UA_THUNDERBIRD_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.16.0"
)
UA_YAHOO_PROXY = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
# Microsoft's link scanner follows every link of a message to an Exchange mailbox on delivery.
UA_LINK_SCANNER = (
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/534+ (KHTML, like Gecko) BingPreview/1.0b"
)

# Browsers, for clicks (a click opens the link in the reader's browser, not through a proxy).
UA_SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
UA_SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.6 Safari/605.1.15"
)
UA_CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
UA_CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.6723.86 Mobile Safari/537.36"
)
UA_EDGE_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.68"
)
UA_FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"


class Client(NamedTuple):
    """A reader's mail client: how its opens and its clicks look.

    open_ua/open_net: the user agent and network of open-pixel fetches ("device" = the
    reader's own address; otherwise a proxy network from PROXY_NETWORKS).
    mpp: Apple Mail Privacy Protection fetches the pixel from Apple's proxy within seconds
    of delivery whether or not the message is read.
    scanned: the share of these readers whose links a security scanner follows on delivery.
    """

    key: str
    weight: float
    open_ua: str
    open_net: str
    click_ua: str
    mpp: bool = False
    scanned: float = 0.0


CLIENTS = (
    Client("apple-mail-mpp-ios", 11, UA_APPLE_MPP, "apple", UA_SAFARI_IOS, mpp=True),
    Client("apple-mail-mpp-mac", 3, UA_APPLE_MPP, "apple", UA_SAFARI_MAC, mpp=True),
    Client("apple-mail-ios", 10, UA_IPHONE_MAIL, "device", UA_SAFARI_IOS),
    Client("apple-mail-ipad", 2, UA_IPAD_MAIL, "device", UA_SAFARI_IOS),
    Client("apple-mail-mac", 6, UA_MAC_MAIL, "device", UA_SAFARI_MAC),
    Client("gmail-web", 18, UA_GMAIL_PROXY, "google", UA_CHROME_WIN),
    Client("gmail-android", 10, UA_GMAIL_PROXY, "google", UA_CHROME_ANDROID),
    Client("outlook-windows", 17, UA_OUTLOOK_DESKTOP, "device", UA_EDGE_WIN, scanned=0.04),
    Client("outlook-mac", 4, UA_OUTLOOK_MAC, "device", UA_SAFARI_MAC, scanned=0.04),
    Client("yahoo-mail", 6, UA_YAHOO_PROXY, "yahoo", UA_CHROME_WIN),
    Client("thunderbird-linux", 2, UA_THUNDERBIRD, "device", UA_FIREFOX_LINUX),
    Client("thunderbird-windows", 1, UA_THUNDERBIRD_WIN, "device", UA_CHROME_WIN),
)

# Networks proxies fetch images from: (IPv4 prefixes, IPv6 /64 prefixes).
PROXY_NETWORKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "apple": (("17",), ()),  # 17.0.0.0/8 is Apple's; MPP fetches come from it
    "google": (("66.249.84", "66.249.88", "66.102.8", "74.125.210"), ("2a00:1450:4864:20",)),
    "yahoo": (("98.136.218", "74.6.231", "98.137.65"), ("2001:4998:124:1507",)),
    "microsoft": (("40.94.29", "40.94.31", "52.100.171", "40.107.22"), ()),
}
# Readers' own networks: residential and mobile ranges (first octets) and IPv6 /32s.
DEVICE_V4_PREFIXES = ("24", "73", "76", "86", "92", "98", "174", "81", "90", "109", "188", "5")
DEVICE_V6_PREFIXES = ("2600:1700", "2601:647", "2a02:c7c", "2a01:cb00", "2003:e2", "2604:3d08")
DEVICE_V6_SHARE = 0.22

# Remote mail servers a bounce report comes from.
MX_V4_PREFIXES = ("142.250", "209.85", "40.107", "52.101", "67.195", "17.57")

# --- SMTP -------------------------------------------------------------------------------


class Bounce(NamedTuple):
    bounce_type: str  # "permanent" (hard) or "transient" (soft)
    code: int
    enhanced: str
    text: str
    weight: float

    @property
    def message(self) -> str:
        return f"{self.code} {self.enhanced} {self.text}"


BOUNCES = (
    Bounce(
        "permanent",
        550,
        "5.1.1",
        "The email account that you tried to reach does not exist. Please try double-checking"
        " the recipient's email address for typos or unnecessary spaces.",
        34,
    ),
    Bounce(
        "permanent",
        550,
        "5.1.10",
        "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        14,
    ),
    Bounce("permanent", 550, "5.1.2", "Host unknown: domain name not found", 5),
    Bounce("permanent", 553, "5.1.3", "Recipient address rejected: invalid address syntax", 2),
    Bounce("permanent", 554, "5.7.1", "Message rejected due to local policy", 4),
    Bounce("permanent", 550, "5.7.1", "Mailbox disabled, not accepting messages", 3),
    Bounce(
        "transient",
        552,
        "5.2.2",
        "The email account that you tried to reach is over quota and inactive.",
        9,
    ),
    Bounce("transient", 452, "4.2.2", "The recipient's inbox is out of storage space.", 8),
    Bounce("transient", 421, "4.7.0", "Try again later, closing connection. (throttled)", 8),
    Bounce("transient", 451, "4.3.0", "Mail server temporarily rejected message.", 6),
    Bounce(
        "transient",
        450,
        "4.2.1",
        "The user you are trying to contact is receiving mail at a rate that prevents"
        " additional messages from being delivered.",
        4,
    ),
    Bounce("transient", 451, "4.4.1", "Delivery time expired: no answer from host", 3),
)

# Why a message could not be handed to a mail server at all (recipient status 'failed').
SEND_FAILURES = (
    "421 4.7.0 Try again later, closing connection. (rate limited)",
    "451 4.7.1 Greylisted, please try again in 300 seconds",
    "Connection timed out after 30s connecting to the recipient's mail server on port 25",
    "454 4.7.0 TLS not available due to local problem",
    "550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org",
    "Could not resolve MX records for the recipient's domain (SERVFAIL)",
)
CAMPAIGN_FAILURE = "535 5.7.8 Authentication credentials invalid (sending account suspended)"

COMPLAINT_PROVIDERS = ("Yahoo", "Microsoft", "Comcast", "Gmail", "Fastmail", "Zoho")
UNSUBSCRIBE_METHODS = ("list-unsubscribe-post", "list-unsubscribe-post", "link", "preferences")

# --- campaigns ----------------------------------------------------------------------------


class CampaignPlan(NamedTuple):
    """One demo campaign. Times are hours relative to now (negative = in the past).

    sent_share: of the recipients, how many have been handed to the sender by now
    (1.0 for ended campaigns); the rest are pending, a few of them queued.
    """

    slug: str
    name: str
    status: str
    recipients: int
    created_h: float
    started_h: float | None = None
    send_hours: float = 2.0
    sent_share: float = 1.0
    scheduled_h: float | None = None
    open_rate: float = 0.32
    click_rate: float = 0.05
    template_id: int | None = None
    links: tuple[str, ...] = ()


def _links(slug: str, *paths: str) -> tuple[str, ...]:
    tag = f"utm_source=newsletter&utm_medium=email&utm_campaign={slug}"
    return tuple(f"https://www.example.com/{p}{'&' if '?' in p else '?'}{tag}" for p in paths)


# fmt: off
SMALL_CAMPAIGNS = (
    CampaignPlan(
        "q4_product_launch", "Q4 Product Launch", "completed", 1500, -40 * 24, -34 * 24, 3,
        open_rate=0.41, click_rate=0.068, template_id=101,
        links=_links("q4_product_launch", "launch", "pricing", "demo?ref=hero",
                     "blog/q4-release-notes"),
    ),
    CampaignPlan(
        "black_friday_early_access", "Black Friday Early Access", "completed", 1800, -16 * 24,
        -12 * 24, 4, open_rate=0.46, click_rate=0.076, template_id=102,
        links=_links("black_friday_early_access", "deals", "deals/bundles", "account/wishlist"),
    ),
    CampaignPlan(
        "webinar_scaling_postgres", "Webinar: Scaling Postgres", "completed", 900, -25 * 24,
        -20 * 24, 1.5, open_rate=0.36, click_rate=0.061, template_id=103,
        links=_links("webinar_scaling_postgres", "webinars/scaling-postgres/register",
                     "webinars/scaling-postgres/agenda", "blog/partitioning-in-practice"),
    ),
    CampaignPlan(
        "monthly_feature_digest", "Monthly Feature Digest", "completed", 1200, -50 * 24,
        -45 * 24, 2, open_rate=0.29, click_rate=0.034, template_id=104,
        links=_links("monthly_feature_digest", "changelog", "features/dark-mode", "features/sso",
                     "docs/api/v2", "community"),
    ),
    CampaignPlan(
        "customer_onboarding_week_1", "Customer Onboarding — Week 1", "running", 800, -30,
        -28, 40, sent_share=0.7, open_rate=0.44, click_rate=0.072, template_id=105,
        links=_links("customer_onboarding_week_1", "getting-started", "docs/quickstart",
                     "academy/first-campaign"),
    ),
    CampaignPlan(
        "year_end_newsletter", "Year-End Newsletter", "running", 1000, -9, -6.5, 10,
        sent_share=0.62, open_rate=0.35, click_rate=0.048, template_id=106,
        links=_links("year_end_newsletter", "blog/year-in-review", "events", "careers"),
    ),
    CampaignPlan(
        "reengagement_we_miss_you", "Re-engagement: We Miss You", "paused", 1100, -5 * 24,
        -3 * 24, 20, sent_share=0.45, open_rate=0.27, click_rate=0.033, template_id=107,
        links=_links("reengagement_we_miss_you", "welcome-back?offer=20off", "account/preferences"),
    ),
    CampaignPlan(
        "holiday_gift_guide", "Holiday Gift Guide", "scheduled", 1500, -2 * 24,
        scheduled_h=2 * 24 + 3, template_id=108,
        links=_links("holiday_gift_guide", "gift-guide", "gift-cards"),
    ),
    CampaignPlan(
        "product_update_sso", "Product Update: Single Sign-On", "scheduled", 700, -20,
        scheduled_h=6 * 24, template_id=109,
    ),
    CampaignPlan(
        "annual_customer_survey", "Annual Customer Survey", "draft", 600, -3, template_id=110
    ),
    CampaignPlan(
        "partner_program_invitation", "Partner Program Invitation", "draft", 0, -1,
        template_id=112,
    ),
    CampaignPlan(
        "pricing_update_notice", "Pricing Update Notice", "failed", 1000, -8 * 24, -7 * 24, 6,
        sent_share=0.3, open_rate=0.38, click_rate=0.05, template_id=111,
        links=_links("pricing_update_notice", "pricing", "pricing/faq"),
    ),
)

LARGE_CAMPAIGN = CampaignPlan(
    "platform_announcement_all_customers", "Platform Announcement — All Customers",
    "completed", 1_000_000, -12 * 24, -10 * 24, 14, open_rate=0.46, click_rate=0.085,
    template_id=120,
    links=_links("platform_announcement_all_customers", "announcement", "pricing", "docs/migration",
                 "webinars/whats-new", "status", "blog/engineering"),
)
LARGE_EVENTS = 5_000_000

# Campaign names for topping a database up to many campaigns (the TUI benchmarks).
TOPUP_THEMES = (
    "Weekly Digest", "Product Tips", "Customer Story", "Release Notes", "Event Invitation",
    "Webinar Reminder", "Trial Ending", "Renewal Reminder", "Flash Sale", "Partner Spotlight",
    "Security Advisory", "Feature Announcement", "Survey Follow-up", "Welcome Series",
    "Abandoned Cart", "Referral Program", "Community Roundup", "Case Study", "Holiday Hours",
    "Maintenance Notice",
)
TOPUP_REGIONS = ("EMEA", "NA", "APAC", "LATAM", "DACH", "Nordics", "UK&I", "ANZ", "Global")
# fmt: on
