"""Side-by-side benchmarks of pyreverb and peer servers (``python -m bench.run``)."""
