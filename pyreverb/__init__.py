"""pyreverb: a Pusher-protocol (v7) realtime server, compatible with Laravel Reverb."""

__version__ = "0.1.0"
