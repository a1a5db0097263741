"""Access-matrix rows of client duplicates and merging (see tests/test_access_matrix.py)."""

CASES: list = []


def build(session, admin) -> dict:
    return {}
