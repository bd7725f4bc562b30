"""Talking to the outside: source readers and (later) delivery targets."""
