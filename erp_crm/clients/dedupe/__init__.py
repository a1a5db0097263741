"""Data quality of the client base: finding duplicates, merging them and undoing a merge.

- scoring.py: the signals of a duplicate (ИНН/КПП, a near-identical name in the same city, a
  shared phone or e-mail), their scores and Russian reasons;
- finding.py: duplicates of one client, while it is entered and for the merge page;
- pairs.py: candidate pairs over the whole base (blocking, a short-lived cache), a page at a time;
- merging.py: `merge_clients` (sends `signals.client_merged`), `resolve`, `merged_ids`;
- unmerging.py: `unmerge_client` from the merge's audit row (sends `signals.client_unmerged`).

Callers use the package: `from erp_crm.clients import dedupe; dedupe.merge_clients(...)`.
"""

from erp_crm.clients.dedupe.finding import (
    DuplicateCandidate,
    duplicates_before_saving,
    likely_duplicates,
    likely_duplicates_of,
    shared_channels_warning,
)
from erp_crm.clients.dedupe.merging import MergeResult, merge_clients, merged_ids, resolve
from erp_crm.clients.dedupe.pairs import (
    DuplicatePair,
    PairPage,
    candidate_pairs,
    clear_cache,
    scored_pairs,
)
from erp_crm.clients.dedupe.scoring import (
    BONUS_PER_SIGNAL,
    DEFAULT_MIN_SCORE,
    MAX_CLIENTS_PER_CHANNEL,
    SCORE_CHANNEL,
)
from erp_crm.clients.dedupe.unmerging import merge_record, recent_merges, unmerge_client

__all__ = [
    "BONUS_PER_SIGNAL",
    "DEFAULT_MIN_SCORE",
    "MAX_CLIENTS_PER_CHANNEL",
    "SCORE_CHANNEL",
    "DuplicateCandidate",
    "DuplicatePair",
    "MergeResult",
    "PairPage",
    "candidate_pairs",
    "clear_cache",
    "duplicates_before_saving",
    "likely_duplicates",
    "likely_duplicates_of",
    "merge_clients",
    "merge_record",
    "merged_ids",
    "recent_merges",
    "resolve",
    "scored_pairs",
    "shared_channels_warning",
    "unmerge_client",
]
