"""The single client base: counterparties, contact persons, groups, curators, import, clean-up."""
