"""Access-matrix rows of client import/export (see tests/test_access_matrix.py)."""

CASES: list = []


def build(session, admin) -> dict:
    return {}
