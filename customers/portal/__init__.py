"""The customers' own sign-in for the self-care portal: identities linked to a party,
separate from staff users (own table, own token audience)."""
