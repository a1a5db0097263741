"""Exhibition projects: dates, venue, halls, stands, price lists, the team and sales plans."""
