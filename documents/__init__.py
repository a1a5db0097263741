"""The document engine: sandboxed DOCX and HTML->PDF rendering, numbering, issued-document store.

It knows nothing of deals or clients (erp_crm depends on it, never the other way round). The
engine itself arrives with the sales-documents capability; see docs/architecture.md.
"""
