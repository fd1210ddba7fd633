"""Local fakes of external services (exchange APIs) driven by the real client libraries in tests."""
