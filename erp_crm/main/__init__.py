"""The landing page and service endpoints (health check)."""
