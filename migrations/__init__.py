"""Alembic environment and versions (packaged so an installed app can migrate itself)."""
