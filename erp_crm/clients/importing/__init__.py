"""Mass import of clients from CSV and XLSX files, one module per job:

- reading.py / xlsx.py / table.py: opening an upload (CSV with its encoding and delimiter
  sniffed; XLSX by python-calamine or openpyxl), the header row, the preview;
- mapping.py: the fields, the mapping of columns suggested from the header, its checks;
- rows.py: a row's cells parsed into a client's fields and a contact, the contact checked;
- matching.py: which existing client a row is, as the rows before it left the base;
- engine.py: applying batches of rows, the dry run and the run, and the report;
  `import_file` imports a whole file in the caller's transaction (the API);
- job.py: import jobs of the pages, run in a background thread with their progress.

The names below are what the views, the API and bench/ use.
"""

from erp_crm.clients.importing.engine import REPORT_DETAIL_ROWS, import_file
from erp_crm.clients.importing.job import (
    can_access_job,
    create_job,
    get_job,
    is_in_progress,
    is_stalled,
    job_columns,
    job_preview,
    recent_jobs,
    run_job,
    start_run,
)
from erp_crm.clients.importing.mapping import (
    FIELD_LABELS,
    check_mapping,
    error_label,
    suggest_mapping,
)
from erp_crm.clients.importing.reading import open_table, preview
from erp_crm.clients.importing.rows import GENERAL_CONTACT, validate_contact

__all__ = [
    "FIELD_LABELS",
    "GENERAL_CONTACT",
    "REPORT_DETAIL_ROWS",
    "can_access_job",
    "check_mapping",
    "create_job",
    "error_label",
    "get_job",
    "import_file",
    "is_in_progress",
    "is_stalled",
    "job_columns",
    "job_preview",
    "open_table",
    "preview",
    "recent_jobs",
    "run_job",
    "start_run",
    "suggest_mapping",
    "validate_contact",
]
