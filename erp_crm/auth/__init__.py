"""Users, roles, login and the access checks every route goes through."""
