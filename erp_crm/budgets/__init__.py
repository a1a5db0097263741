"""Project budgets: articles of income and expense by month, versions, plan vs actual."""
