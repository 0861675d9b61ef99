"""The Textual application: holds the database and the screens."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Footer, Header

from core.campaigns import CampaignSummary, list_campaigns
from core.db import Database


class CampaignConsoleApp(App):
    TITLE = "Campaign Console"

    class CampaignsFetched(Message):
        def __init__(self, campaigns: list[CampaignSummary]) -> None:
            super().__init__()
            self.campaigns = campaigns

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="campaigns", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.database.display_url
        table = self.query_one(DataTable)
        table.add_columns("Name", "Campaign id", "Status", "Recipients", "Sent", "Open %")
        self.fetch_campaigns()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def fetch_campaigns(self) -> None:
        with self.database.reading() as session:
            self.post_message(self.CampaignsFetched(list_campaigns(session)))

    @on(CampaignsFetched)
    def show_campaigns(self, message: CampaignsFetched) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for c in message.campaigns:
            table.add_row(
                Text(c.name),
                Text(c.campaign_id),
                c.status.value,
                f"{c.total_recipients:,}",
                f"{c.emails_sent:,}",
                f"{c.open_rate:.1f}",
                key=str(c.id),
            )
