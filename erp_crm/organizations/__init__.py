"""Our legal entities («наши организации»): the seller on every document."""
