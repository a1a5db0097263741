"""API: clients and their contact persons."""
