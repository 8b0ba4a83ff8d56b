"""Core model families (being restructured by the lead; this package exists here only for early_exit)."""
