"""The sales documents' pages, one module per page group, each with its blueprint.

- deal.py ("documents", /documents): the deal's documents panel, issuing, files, cancel,
  correct, status, the registry;
- admin.py ("document_templates", /documents/templates): templates, number formats, stamps;
- project.py ("project_documents", /documents/projects): batch printing, participant manuals;
- common.py: `send_bytes`, the download every page (and billing's, and the API) answers with.
"""

from erp_crm.sales_documents.views.admin import bp as document_templates_bp
from erp_crm.sales_documents.views.deal import bp as documents_bp
from erp_crm.sales_documents.views.project import bp as project_documents_bp

__all__ = ["document_templates_bp", "documents_bp", "project_documents_bp"]
