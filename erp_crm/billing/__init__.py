"""The money side of invoices: payments from the accounting system, their allocation to
invoices, invoice payment state, receivables."""
