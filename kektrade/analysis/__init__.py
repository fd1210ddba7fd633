"""Results analysis (numpy only): round trips, metrics, account series, the results document."""
