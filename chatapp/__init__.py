"""chatapp: a live support chat (rooms, messages, typing, uploads, Web Push) on pyreverb."""

__all__: list[str] = []
