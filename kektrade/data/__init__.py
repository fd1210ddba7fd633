"""Market data: candle files, synthetic markets, downloads with a cache, resampling, the DataProvider."""
