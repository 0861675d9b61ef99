"""One screen a module (or a package, for a screen too big for one): no screen imports
another. A screen asks for another with an Open... message (tui.messages); the app
(tui.app) is the only place that opens screens."""
