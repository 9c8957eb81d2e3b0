"""minegeo.models."""
