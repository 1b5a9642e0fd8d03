"""Peer servers that live in this repository (the others are installed from the registries)."""
