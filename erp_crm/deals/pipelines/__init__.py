"""Pipelines, a sub-area of deals: pipelines, their percentage stages and the lost reasons.

- services.py: what the admin changes, with the rules that keep the deals on them valid;
- forms.py: the admin's forms (shapes only);
- views.py: the `pipelines` blueprint (/admin/pipelines).

Callers use the package: `from erp_crm.deals import pipelines; pipelines.add_stage(...)`.
"""

from erp_crm.deals.pipelines.services import (
    SALES_CODE,
    TRIGGERS,
    StageData,
    add_lost_reason,
    add_stage,
    create_pipeline,
    deals_per_stage,
    get_pipeline,
    get_reason,
    get_stage,
    lost_reasons,
    move_stage,
    pipelines,
    rename_lost_reason,
    rename_pipeline,
    set_lost_reason_active,
    set_pipeline_active,
    set_stage_active,
    update_stage,
)

__all__ = [
    "SALES_CODE",
    "TRIGGERS",
    "StageData",
    "add_lost_reason",
    "add_stage",
    "create_pipeline",
    "deals_per_stage",
    "get_pipeline",
    "get_reason",
    "get_stage",
    "lost_reasons",
    "move_stage",
    "pipelines",
    "rename_lost_reason",
    "rename_pipeline",
    "set_lost_reason_active",
    "set_pipeline_active",
    "set_stage_active",
    "update_stage",
]
