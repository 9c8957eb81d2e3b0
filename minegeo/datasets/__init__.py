"""minegeo.datasets."""
