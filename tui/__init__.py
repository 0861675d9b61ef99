"""Campaign Console's terminal interface and command line; it reaches the database via core."""
