"""HTTP controllers: decode, call the domain, return. No rules live here."""
