"""Access-matrix rows of the leads area (see tests/test_access_matrix.py)."""

CASES: list = []


def build(session, admin) -> dict:
    return {}
