"""kektrade."""
