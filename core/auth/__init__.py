"""Users, roles, scopes, agencies (territories), passwords and tokens."""
