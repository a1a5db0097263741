"""The activities API: contacts with filters, completing with a result, requests, catalogs,
ratings."""

from __future__ import annotations
