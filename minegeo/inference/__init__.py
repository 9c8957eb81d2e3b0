"""minegeo.inference."""
