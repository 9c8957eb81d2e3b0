"""minegeo.datamodules."""
