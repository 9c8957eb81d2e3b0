"""minegeo.tasks."""
