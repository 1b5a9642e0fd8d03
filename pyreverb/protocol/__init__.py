"""The socket-free Pusher protocol core.

Nothing here imports asyncio, starlette, uvicorn or websockets: a session takes
text in and returns actions out, so every rule is testable without a server.
"""
