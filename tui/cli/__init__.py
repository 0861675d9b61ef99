"""The `campaigns` command (main() in tui.cli.main): the app, or a subcommand through core.

main.py        the parser and main(); no subcommand opens the app
common.py      what subcommands share: --database-url, opening the database, --read-only,
               errors as one line on stderr
campaigns.py   stats, recount, status, duplicate
recipients.py  import-recipients, suppression
events.py      track, reclassify
export.py      export
db.py          db (migrations, backup, restore, psql)
demo.py        demo, simulate (the only user of core.demo)
background.py  the background simulator `demo` starts and `simulate --stop` stops
web.py         web: the app in a browser (web_server.py the server, web_pages.py its pages)
"""

from tui.cli.main import main

__all__ = ["main"]
