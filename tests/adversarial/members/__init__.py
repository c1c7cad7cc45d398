"""Misbehaving members: small programs run as their own processes by the adversarial tests."""
