"""Contacts with clients: planning, formalized results, reminders, ratings, forwarded requests."""
