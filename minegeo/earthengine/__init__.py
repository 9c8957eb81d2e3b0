"""minegeo.earthengine."""
