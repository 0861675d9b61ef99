"""Campaign Console's domain and persistence layer: no terminal code lives here."""
